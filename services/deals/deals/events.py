"""Events deals publishes, and the events of other services it consumes.

Consumed events are declared here as deals' own view of them (a tolerant reader): only
the fields deals uses, extra fields ignored, so their publishers can add fields freely.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.events import DomainEvent, Envelope
from crm_platform.messaging import EventConsumer
from deals.domain import TaskStatus
from deals.repository import AgreementRepository, DealRepository, KnownPartnerRepository, TaskRepository

DEAL_TOPIC = "crm.deals.deal.v1"
TASK_REQUESTS_TOPIC = "crm.interactions.task-requests.v1"
TASK_REQUEST_PREFIX = "deals:"


class DealOpened(DomainEvent):
    """A deal was opened."""

    TOPIC: ClassVar[str] = DEAL_TOPIC
    TYPE: ClassVar[str] = "crm.deals.deal.opened"
    KEY_FIELD: ClassVar[str] = "deal_id"

    deal_id: uuid.UUID
    title: str
    partner_id: uuid.UUID
    manager_id: str
    expected_amount: Decimal | None
    currency: str | None
    opened_at: datetime
    kind: str = "controlled"
    process_id: uuid.UUID | None = None
    stage: str | None = None


class DealStageChanged(DomainEvent):
    """A deal moved to another stage of its process."""

    TOPIC: ClassVar[str] = DEAL_TOPIC
    TYPE: ClassVar[str] = "crm.deals.deal.stage_changed"
    KEY_FIELD: ClassVar[str] = "deal_id"

    deal_id: uuid.UUID
    partner_id: uuid.UUID
    manager_id: str
    from_stage: str
    to_stage: str
    changed_by: str
    changed_at: datetime
    process_id: uuid.UUID | None = None
    skipped_stages: list[str] = Field(default_factory=list)


class DealWon(DomainEvent):
    """A deal was won."""

    TOPIC: ClassVar[str] = DEAL_TOPIC
    TYPE: ClassVar[str] = "crm.deals.deal.won"
    KEY_FIELD: ClassVar[str] = "deal_id"

    deal_id: uuid.UUID
    partner_id: uuid.UUID
    manager_id: str
    amount: Decimal | None
    currency: str | None
    won_at: datetime


class DealLost(DomainEvent):
    """A deal was lost, with the reason and the stage where it was lost."""

    TOPIC: ClassVar[str] = DEAL_TOPIC
    TYPE: ClassVar[str] = "crm.deals.deal.lost"
    KEY_FIELD: ClassVar[str] = "deal_id"

    deal_id: uuid.UUID
    partner_id: uuid.UUID
    manager_id: str
    reason: str
    stage: str | None
    lost_at: datetime
    reason_id: uuid.UUID | None = None


class DealReopened(DomainEvent):
    """A won or lost deal is in progress again, at the stage where it was closed."""

    TOPIC: ClassVar[str] = DEAL_TOPIC
    TYPE: ClassVar[str] = "crm.deals.deal.reopened"
    KEY_FIELD: ClassVar[str] = "deal_id"

    deal_id: uuid.UUID
    partner_id: uuid.UUID
    manager_id: str
    from_status: str
    stage: str | None
    reopened_by: str
    reopened_at: datetime


class ProposalAgreed(DomainEvent):
    """A commercial proposal was agreed (the deal's topic, so it stays in order with the deal)."""

    TOPIC: ClassVar[str] = DEAL_TOPIC
    TYPE: ClassVar[str] = "crm.deals.proposal.agreed"
    KEY_FIELD: ClassVar[str] = "deal_id"

    proposal_id: uuid.UUID
    deal_id: uuid.UUID
    partner_id: uuid.UUID
    version: int
    amount: Decimal
    currency: str
    approved_by: str
    agreed_at: datetime


ORDER_TOPIC = "crm.deals.order.v1"


class OrderPlaced(DomainEvent):
    """A customer order was placed (from a proposal or pushed by a shop)."""

    TOPIC: ClassVar[str] = ORDER_TOPIC
    TYPE: ClassVar[str] = "crm.deals.order.placed"
    KEY_FIELD: ClassVar[str] = "order_id"

    order_id: uuid.UUID
    deal_id: uuid.UUID
    partner_id: uuid.UUID
    manager_id: str
    shop_id: str | None
    amount: Decimal
    currency: str
    placed_at: datetime
    state: str = ""
    shop_order_id: str | None = None
    cost_amount: Decimal | None = None


class OrderStateChanged(DomainEvent):
    """An order moved to another state of its kind's list."""

    TOPIC: ClassVar[str] = ORDER_TOPIC
    TYPE: ClassVar[str] = "crm.deals.order.state_changed"
    KEY_FIELD: ClassVar[str] = "order_id"

    order_id: uuid.UUID
    partner_id: uuid.UUID
    from_state: str
    to_state: str
    changed_at: datetime


class InvoiceIssued(DomainEvent):
    """An invoice for payment of (part of) an order."""

    TOPIC: ClassVar[str] = ORDER_TOPIC
    TYPE: ClassVar[str] = "crm.deals.invoice.issued"
    KEY_FIELD: ClassVar[str] = "order_id"

    invoice_id: uuid.UUID
    order_id: uuid.UUID
    partner_id: uuid.UUID
    manager_id: str
    region: str = ""
    amount: Decimal
    currency: str
    issued_on: date
    due_on: date


class PaymentReceived(DomainEvent):
    """A payment against an order (what exceeds its total is an advance)."""

    TOPIC: ClassVar[str] = ORDER_TOPIC
    TYPE: ClassVar[str] = "crm.deals.payment.received"
    KEY_FIELD: ClassVar[str] = "order_id"

    payment_id: uuid.UUID
    order_id: uuid.UUID
    invoice_id: uuid.UUID | None
    partner_id: uuid.UUID
    amount: Decimal
    currency: str
    received_at: datetime


class ShipmentMade(DomainEvent):
    """Goods of an order shipped, valued at the order's prices, with their cost."""

    TOPIC: ClassVar[str] = ORDER_TOPIC
    TYPE: ClassVar[str] = "crm.deals.shipment.made"
    KEY_FIELD: ClassVar[str] = "order_id"

    shipment_id: uuid.UUID
    order_id: uuid.UUID
    partner_id: uuid.UUID
    amount: Decimal
    currency: str
    cost_amount: Decimal
    shipped_at: datetime


class Subject(BaseModel):
    service: str
    type: str
    id: str


class TaskRequested(DomainEvent):
    """Command to interactions: create a task of a deal's work plan (deduplicated on request_id)."""

    TOPIC: ClassVar[str] = TASK_REQUESTS_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.task.requested"
    KEY_FIELD: ClassVar[str] = "request_id"

    request_id: str
    requested_by: str = "deals"
    title: str
    description: str
    author_id: str
    performer_id: str
    checker_id: str
    deadline: datetime
    subject: Subject


PUBLISHED: list[type[DomainEvent]] = [
    DealOpened,
    DealStageChanged,
    DealWon,
    DealLost,
    DealReopened,
    ProposalAgreed,
    OrderPlaced,
    OrderStateChanged,
    InvoiceIssued,
    PaymentReceived,
    ShipmentMade,
    TaskRequested,
]

PARTNER_TOPIC = "crm.partners.partner.v1"


class InboundPartnerRegistered(DomainEvent):
    """partners' crm.partners.partner.registered, as deals reads it."""

    TOPIC: ClassVar[str] = PARTNER_TOPIC
    TYPE: ClassVar[str] = "crm.partners.partner.registered"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    name: str
    manager_id: str = ""
    segment: str = ""
    version: int = 1


class InboundPartnerUpdated(InboundPartnerRegistered):
    """partners' crm.partners.partner.updated (the whole new state), as deals reads it."""

    TYPE: ClassVar[str] = "crm.partners.partner.updated"


class InboundPartnerMerged(DomainEvent):
    TOPIC: ClassVar[str] = PARTNER_TOPIC
    TYPE: ClassVar[str] = "crm.partners.partner.merged"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    merged_ids: list[uuid.UUID]
    version: int = 0


class InboundPartnerClassified(DomainEvent):
    TOPIC: ClassVar[str] = PARTNER_TOPIC
    TYPE: ClassVar[str] = "crm.partners.partner.classified"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    abc: str = ""
    xyz: str = ""


class InboundAgreementAgreed(DomainEvent):
    TOPIC: ClassVar[str] = "crm.pricing.agreement.v1"
    TYPE: ClassVar[str] = "crm.pricing.agreement.agreed"
    KEY_FIELD: ClassVar[str] = "agreement_id"

    agreement_id: uuid.UUID
    partner_id: uuid.UUID | None = None
    segment: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class InboundAgreementClosed(DomainEvent):
    TOPIC: ClassVar[str] = "crm.pricing.agreement.v1"
    TYPE: ClassVar[str] = "crm.pricing.agreement.closed"
    KEY_FIELD: ClassVar[str] = "agreement_id"

    agreement_id: uuid.UUID


class InboundTaskAssigned(DomainEvent):
    TOPIC: ClassVar[str] = "crm.interactions.task.v1"
    TYPE: ClassVar[str] = "crm.interactions.task.assigned"
    KEY_FIELD: ClassVar[str] = "task_id"

    task_id: str
    request_id: str | None = None


class InboundTaskDone(InboundTaskAssigned):
    TYPE: ClassVar[str] = "crm.interactions.task.done"


class InboundTaskChecked(InboundTaskAssigned):
    TYPE: ClassVar[str] = "crm.interactions.task.checked"

    accepted: bool = False


consumer = EventConsumer("deals")


@consumer.on(InboundPartnerRegistered)
async def remember_partner(session: AsyncSession, event: InboundPartnerRegistered, envelope: Envelope) -> None:
    await KnownPartnerRepository(session).upsert(
        event.partner_id, name=event.name, manager_id=event.manager_id, segment=event.segment, version=event.version
    )


@consumer.on(InboundPartnerUpdated)
async def update_partner(session: AsyncSession, event: InboundPartnerUpdated, envelope: Envelope) -> None:
    await KnownPartnerRepository(session).upsert(
        event.partner_id, name=event.name, manager_id=event.manager_id, segment=event.segment, version=event.version
    )


@consumer.on(InboundPartnerMerged)
async def merge_partners(session: AsyncSession, event: InboundPartnerMerged, envelope: Envelope) -> None:
    merged = [m for m in event.merged_ids if m != event.partner_id]
    if not merged:
        return
    await DealRepository(session).repoint_partner(merged, event.partner_id)
    await KnownPartnerRepository(session).mark_merged(merged, event.partner_id, event.version)


@consumer.on(InboundPartnerClassified)
async def classify_partner(session: AsyncSession, event: InboundPartnerClassified, envelope: Envelope) -> None:
    await KnownPartnerRepository(session).classify(event.partner_id, event.abc[:1], event.xyz[:1])


@consumer.on(InboundAgreementAgreed)
async def remember_agreement(session: AsyncSession, event: InboundAgreementAgreed, envelope: Envelope) -> None:
    await AgreementRepository(session).upsert(
        event.agreement_id, event.partner_id, event.segment or "", event.valid_from, event.valid_to
    )


@consumer.on(InboundAgreementClosed)
async def close_agreement(session: AsyncSession, event: InboundAgreementClosed, envelope: Envelope) -> None:
    await AgreementRepository(session).close(event.agreement_id)


async def _task_progress(session: AsyncSession, request_id: str | None, status: TaskStatus, task_id: str) -> None:
    if request_id and request_id.startswith(TASK_REQUEST_PREFIX):
        await TaskRepository(session).set_status(request_id, status.value, task_id)


@consumer.on(InboundTaskAssigned)
async def task_assigned(session: AsyncSession, event: InboundTaskAssigned, envelope: Envelope) -> None:
    await _task_progress(session, event.request_id, TaskStatus.ASSIGNED, event.task_id)


@consumer.on(InboundTaskDone)
async def task_done(session: AsyncSession, event: InboundTaskDone, envelope: Envelope) -> None:
    await _task_progress(session, event.request_id, TaskStatus.DONE, event.task_id)


@consumer.on(InboundTaskChecked)
async def task_checked(session: AsyncSession, event: InboundTaskChecked, envelope: Envelope) -> None:
    status = TaskStatus.ACCEPTED if event.accepted else TaskStatus.RETURNED
    await _task_progress(session, event.request_id, status, event.task_id)
