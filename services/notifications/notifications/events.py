"""Events notifications publishes, and the events of other services it consumes.

Consumed events are declared as notifications' own view of them (a tolerant reader).
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
from notifications import alerts
from notifications.repository import LedgerOfDebts, PartnerRepository

MESSAGE_TOPIC = "crm.notifications.message.v1"


class _MessageEvent(DomainEvent):
    TOPIC: ClassVar[str] = MESSAGE_TOPIC
    KEY_FIELD: ClassVar[str] = "message_id"

    message_id: uuid.UUID
    channel: str
    recipient: str
    campaign_id: uuid.UUID | None
    source_event_id: str | None
    at: datetime


class MessageQueued(_MessageEvent):
    TYPE: ClassVar[str] = "crm.notifications.message.queued"


class MessageSent(_MessageEvent):
    TYPE: ClassVar[str] = "crm.notifications.message.sent"

    provider_message_id: str = ""


class MessageDelivered(_MessageEvent):
    TYPE: ClassVar[str] = "crm.notifications.message.delivered"


class MessageFailed(_MessageEvent):
    TYPE: ClassVar[str] = "crm.notifications.message.failed"

    status: str = "failed"  # "failed" or "bounced"
    reason: str = ""


class RecipientOptedOut(DomainEvent):
    TOPIC: ClassVar[str] = MESSAGE_TOPIC
    TYPE: ClassVar[str] = "crm.notifications.recipient.opted_out"
    KEY_FIELD: ClassVar[str] = "recipient"

    recipient: str
    channel: str
    partner_id: uuid.UUID | None
    at: datetime
    reason: str = "unsubscribed"  # or "hard_bounce": the address bounced permanently


PUBLISHED: list[type[DomainEvent]] = [MessageQueued, MessageSent, MessageDelivered, MessageFailed, RecipientOptedOut]

consumer = EventConsumer("notifications")


# --- partners: this service's copy for selections --------------------------------------
class Contact(BaseModel):
    kind: str
    value: str
    label: str = ""


class PartnerRegistered(DomainEvent):
    TOPIC: ClassVar[str] = "crm.partners.partner.v1"
    TYPE: ClassVar[str] = "crm.partners.partner.registered"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    name: str
    manager_id: str = ""
    segment: str = ""
    region: str = ""
    tags: list[str] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    version: int = 1


class PartnerUpdated(PartnerRegistered):
    TYPE: ClassVar[str] = "crm.partners.partner.updated"


class PartnerMerged(DomainEvent):
    TOPIC: ClassVar[str] = "crm.partners.partner.v1"
    TYPE: ClassVar[str] = "crm.partners.partner.merged"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    merged_ids: list[uuid.UUID]


class PartnerClassified(DomainEvent):
    TOPIC: ClassVar[str] = "crm.partners.partner.v1"
    TYPE: ClassVar[str] = "crm.partners.partner.classified"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    abc: str = ""
    xyz: str = ""


def _first(contacts: list[Contact], kind: str) -> str:
    return next((c.value for c in contacts if c.kind.lower().endswith(kind)), "")


@consumer.on(PartnerRegistered)
@consumer.on(PartnerUpdated)
async def remember_partner(session: AsyncSession, event: PartnerRegistered, envelope: Envelope) -> None:
    values = {
        "name": event.name,
        "manager_id": event.manager_id,
        "segment": event.segment,
        "region": event.region,
        "tags": list(event.tags),
        "email": _first(event.contacts, "email"),
        "phone": _first(event.contacts, "phone"),
    }
    await PartnerRepository(session).upsert(event.partner_id, values, event.version)


@consumer.on(PartnerMerged)
async def merge_partners(session: AsyncSession, event: PartnerMerged, envelope: Envelope) -> None:
    await PartnerRepository(session).merge(event.partner_id, event.merged_ids)


@consumer.on(PartnerClassified)
async def classify_partner(session: AsyncSession, event: PartnerClassified, envelope: Envelope) -> None:
    await PartnerRepository(session).classify(event.partner_id, event.abc[:1], event.xyz[:1])


# --- deals: invoices and payments for the debt wizard; deals won and lost -------------------
class InvoiceIssued(DomainEvent):
    TOPIC: ClassVar[str] = "crm.deals.order.v1"
    TYPE: ClassVar[str] = "crm.deals.invoice.issued"
    KEY_FIELD: ClassVar[str] = "invoice_id"

    invoice_id: uuid.UUID
    order_id: uuid.UUID | None = None
    partner_id: uuid.UUID
    manager_id: str = ""
    region: str = ""
    amount: Decimal
    currency: str
    issued_on: date
    due_on: date


class PaymentReceived(DomainEvent):
    TOPIC: ClassVar[str] = "crm.deals.order.v1"
    TYPE: ClassVar[str] = "crm.deals.payment.received"
    KEY_FIELD: ClassVar[str] = "payment_id"

    payment_id: uuid.UUID
    invoice_id: uuid.UUID | None = None
    partner_id: uuid.UUID
    amount: Decimal
    currency: str
    received_at: datetime


@consumer.on(InvoiceIssued)
async def remember_invoice(session: AsyncSession, event: InvoiceIssued, envelope: Envelope) -> None:
    await LedgerOfDebts(session).add_invoice(
        {
            "id": event.invoice_id,
            "order_id": event.order_id,
            "partner_id": event.partner_id,
            "manager_id": event.manager_id,
            "region": event.region,
            "amount": event.amount,
            "currency": event.currency.upper(),
            "issued_on": event.issued_on,
            "due_on": event.due_on,
        }
    )


@consumer.on(PaymentReceived)
async def remember_payment(session: AsyncSession, event: PaymentReceived, envelope: Envelope) -> None:
    await LedgerOfDebts(session).add_payment(
        {
            "id": event.payment_id,
            "invoice_id": event.invoice_id,
            "partner_id": event.partner_id,
            "amount": event.amount,
            "currency": event.currency.upper(),
            "received_at": event.received_at,
        }
    )


class DealWon(DomainEvent):
    TOPIC: ClassVar[str] = "crm.deals.deal.v1"
    TYPE: ClassVar[str] = "crm.deals.deal.won"
    KEY_FIELD: ClassVar[str] = "deal_id"

    deal_id: uuid.UUID
    manager_id: str
    amount: Decimal
    currency: str


class DealLost(DomainEvent):
    TOPIC: ClassVar[str] = "crm.deals.deal.v1"
    TYPE: ClassVar[str] = "crm.deals.deal.lost"
    KEY_FIELD: ClassVar[str] = "deal_id"

    deal_id: uuid.UUID
    manager_id: str
    reason: str | None = ""


@consumer.on(DealWon)
async def alert_deal_won(session: AsyncSession, event: DealWon, envelope: Envelope) -> None:
    from crm_platform.money import Money

    values = {"deal_id": str(event.deal_id), "amount": Money(event.amount, event.currency.upper())}
    await alerts.alert_user(session, event.manager_id, "deal_won", values, envelope.id)


@consumer.on(DealLost)
async def alert_deal_lost(session: AsyncSession, event: DealLost, envelope: Envelope) -> None:
    values = {"deal_id": str(event.deal_id), "reason": event.reason or "—"}
    await alerts.alert_user(session, event.manager_id, "deal_lost", values, envelope.id)


# --- interactions: reminders and task assignments ---------------------------------------
class ReminderDue(DomainEvent):
    TOPIC: ClassVar[str] = "crm.interactions.task.v1"
    TYPE: ClassVar[str] = "crm.interactions.reminder.due"
    KEY_FIELD: ClassVar[str] = "reminder_id"

    reminder_id: str
    user_id: str
    title: str
    text: str | None = ""
    due_at: datetime | None = None


class TaskAssigned(DomainEvent):
    TOPIC: ClassVar[str] = "crm.interactions.task.v1"
    TYPE: ClassVar[str] = "crm.interactions.task.assigned"
    KEY_FIELD: ClassVar[str] = "task_id"

    task_id: str
    title: str
    author_id: str = ""
    performer_id: str
    deadline: datetime | None = None


@consumer.on(ReminderDue)
async def deliver_reminder(session: AsyncSession, event: ReminderDue, envelope: Envelope) -> None:
    values = {"title": event.title, "text": event.text or "", "due_at": event.due_at}
    await alerts.alert_user(session, event.user_id, "reminder", values, envelope.id)


@consumer.on(TaskAssigned)
async def alert_task_assigned(session: AsyncSession, event: TaskAssigned, envelope: Envelope) -> None:
    values = {"title": event.title, "author_id": event.author_id, "deadline": event.deadline}
    await alerts.alert_user(session, event.performer_id, "task_assigned", values, envelope.id)


# --- claims ---------------------------------------------------------------------------------
class ClaimRegistered(DomainEvent):
    TOPIC: ClassVar[str] = "crm.claims.claim.v1"
    TYPE: ClassVar[str] = "crm.claims.claim.registered"
    KEY_FIELD: ClassVar[str] = "claim_id"

    claim_id: str
    number: str | int = ""
    responsible_id: str
    reasons: list[str] = Field(default_factory=list)


class ClaimClosed(DomainEvent):
    TOPIC: ClassVar[str] = "crm.claims.claim.v1"
    TYPE: ClassVar[str] = "crm.claims.claim.closed"
    KEY_FIELD: ClassVar[str] = "claim_id"

    claim_id: str
    manager_id: str = ""
    responsible_id: str = ""
    status: str = ""
    result: str = ""


@consumer.on(ClaimRegistered)
async def alert_claim_registered(session: AsyncSession, event: ClaimRegistered, envelope: Envelope) -> None:
    values = {"number": str(event.number or event.claim_id), "reasons": ", ".join(event.reasons)}
    await alerts.alert_user(session, event.responsible_id, "claim_registered", values, envelope.id)


@consumer.on(ClaimClosed)
async def alert_claim_closed(session: AsyncSession, event: ClaimClosed, envelope: Envelope) -> None:
    values = {"claim_id": event.claim_id, "status": event.status, "result": event.result}
    # The partner's manager learns the outcome; the responsible closed it themselves.
    await alerts.alert_user(session, event.manager_id or event.responsible_id, "claim_closed", values, envelope.id)
