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


PUBLISHED: list[type[DomainEvent]] = [DealOpened, DealStageChanged, DealWon, DealLost, DealReopened, TaskRequested]

PARTNER_TOPIC = "crm.partners.partner.v1"


class PartnerRegistered(DomainEvent):
    """partners' crm.partners.partner.registered, as deals reads it."""

    TOPIC: ClassVar[str] = PARTNER_TOPIC
    TYPE: ClassVar[str] = "crm.partners.partner.registered"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    name: str
    manager_id: str = ""
    segment: str = ""
    version: int = 1


class PartnerUpdated(PartnerRegistered):
    """partners' crm.partners.partner.updated (the whole new state), as deals reads it."""

    TYPE: ClassVar[str] = "crm.partners.partner.updated"


class PartnerMerged(DomainEvent):
    TOPIC: ClassVar[str] = PARTNER_TOPIC
    TYPE: ClassVar[str] = "crm.partners.partner.merged"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    merged_ids: list[uuid.UUID]
    version: int = 0


class PartnerClassified(DomainEvent):
    TOPIC: ClassVar[str] = PARTNER_TOPIC
    TYPE: ClassVar[str] = "crm.partners.partner.classified"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    abc: str = ""
    xyz: str = ""


class AgreementAgreed(DomainEvent):
    TOPIC: ClassVar[str] = "crm.pricing.agreement.v1"
    TYPE: ClassVar[str] = "crm.pricing.agreement.agreed"
    KEY_FIELD: ClassVar[str] = "agreement_id"

    agreement_id: uuid.UUID
    partner_id: uuid.UUID | None = None
    segment: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class AgreementClosed(DomainEvent):
    TOPIC: ClassVar[str] = "crm.pricing.agreement.v1"
    TYPE: ClassVar[str] = "crm.pricing.agreement.closed"
    KEY_FIELD: ClassVar[str] = "agreement_id"

    agreement_id: uuid.UUID


class TaskAssigned(DomainEvent):
    TOPIC: ClassVar[str] = "crm.interactions.task.v1"
    TYPE: ClassVar[str] = "crm.interactions.task.assigned"
    KEY_FIELD: ClassVar[str] = "task_id"

    task_id: str
    request_id: str | None = None


class TaskDone(TaskAssigned):
    TYPE: ClassVar[str] = "crm.interactions.task.done"


class TaskChecked(TaskAssigned):
    TYPE: ClassVar[str] = "crm.interactions.task.checked"

    accepted: bool = False


consumer = EventConsumer("deals")


@consumer.on(PartnerRegistered)
async def remember_partner(session: AsyncSession, event: PartnerRegistered, envelope: Envelope) -> None:
    await KnownPartnerRepository(session).upsert(
        event.partner_id, name=event.name, manager_id=event.manager_id, segment=event.segment, version=event.version
    )


@consumer.on(PartnerUpdated)
async def update_partner(session: AsyncSession, event: PartnerUpdated, envelope: Envelope) -> None:
    await KnownPartnerRepository(session).upsert(
        event.partner_id, name=event.name, manager_id=event.manager_id, segment=event.segment, version=event.version
    )


@consumer.on(PartnerMerged)
async def merge_partners(session: AsyncSession, event: PartnerMerged, envelope: Envelope) -> None:
    merged = [m for m in event.merged_ids if m != event.partner_id]
    if not merged:
        return
    await DealRepository(session).repoint_partner(merged, event.partner_id)
    await KnownPartnerRepository(session).mark_merged(merged, event.partner_id, event.version)


@consumer.on(PartnerClassified)
async def classify_partner(session: AsyncSession, event: PartnerClassified, envelope: Envelope) -> None:
    await KnownPartnerRepository(session).classify(event.partner_id, event.abc[:1], event.xyz[:1])


@consumer.on(AgreementAgreed)
async def remember_agreement(session: AsyncSession, event: AgreementAgreed, envelope: Envelope) -> None:
    await AgreementRepository(session).upsert(
        event.agreement_id, event.partner_id, event.segment or "", event.valid_from, event.valid_to
    )


@consumer.on(AgreementClosed)
async def close_agreement(session: AsyncSession, event: AgreementClosed, envelope: Envelope) -> None:
    await AgreementRepository(session).close(event.agreement_id)


async def _task_progress(session: AsyncSession, request_id: str | None, status: TaskStatus, task_id: str) -> None:
    if request_id and request_id.startswith(TASK_REQUEST_PREFIX):
        await TaskRepository(session).set_status(request_id, status.value, task_id)


@consumer.on(TaskAssigned)
async def task_assigned(session: AsyncSession, event: TaskAssigned, envelope: Envelope) -> None:
    await _task_progress(session, event.request_id, TaskStatus.ASSIGNED, event.task_id)


@consumer.on(TaskDone)
async def task_done(session: AsyncSession, event: TaskDone, envelope: Envelope) -> None:
    await _task_progress(session, event.request_id, TaskStatus.DONE, event.task_id)


@consumer.on(TaskChecked)
async def task_checked(session: AsyncSession, event: TaskChecked, envelope: Envelope) -> None:
    status = TaskStatus.ACCEPTED if event.accepted else TaskStatus.RETURNED
    await _task_progress(session, event.request_id, status, event.task_id)
