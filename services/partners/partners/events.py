"""Events partners publishes (partners, persons, leads) and the handlers of the events it reads
(deals' orders and payments, pricing's exchange rates)."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.events import DomainEvent, Envelope
from crm_platform.messaging import EventConsumer
from partners.repository import PartnerRepository, RateRepository, SalesRepository

log = logging.getLogger(__name__)

PARTNER_TOPIC = "crm.partners.partner.v1"


class PartnerEvent(DomainEvent):
    TOPIC: ClassVar[str] = PARTNER_TOPIC
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID


class ContactPoint(BaseModel):
    """A contact inside an event."""

    kind: str
    value: str
    label: str = ""


class PartnerRegistered(PartnerEvent):
    TYPE: ClassVar[str] = "crm.partners.partner.registered"

    name: str
    roles: list[str]
    manager_id: str
    segment: str
    region: str
    tags: list[str]
    source: str
    contacts: list[ContactPoint]
    tax_ids: list[str] = Field(default_factory=list)
    lead_id: uuid.UUID | None = None
    registered_at: datetime
    version: int


class PartnerUpdated(PartnerEvent):
    TYPE: ClassVar[str] = "crm.partners.partner.updated"

    name: str
    roles: list[str]
    manager_id: str
    segment: str
    region: str
    tags: list[str]
    source: str
    contacts: list[ContactPoint]
    tax_ids: list[str] = Field(default_factory=list)
    lead_id: uuid.UUID | None = None
    updated_at: datetime
    version: int


class PartnerMerged(PartnerEvent):
    TYPE: ClassVar[str] = "crm.partners.partner.merged"

    merged_ids: list[uuid.UUID]
    version: int


PERSON_TOPIC = "crm.partners.person.v1"


class PersonMerged(DomainEvent):
    """Contact persons merged into a survivor: holders of merged_ids re-point them to person_id."""

    TOPIC: ClassVar[str] = PERSON_TOPIC
    TYPE: ClassVar[str] = "crm.partners.person.merged"
    KEY_FIELD: ClassVar[str] = "person_id"

    person_id: uuid.UUID
    merged_ids: list[uuid.UUID]
    partner_ids: list[uuid.UUID]
    merged_at: datetime


LEAD_TOPIC = "crm.partners.lead.v1"


class LeadEvent(DomainEvent):
    TOPIC: ClassVar[str] = LEAD_TOPIC
    KEY_FIELD: ClassVar[str] = "lead_id"

    lead_id: uuid.UUID


class LeadCreated(LeadEvent):
    TYPE: ClassVar[str] = "crm.partners.lead.created"

    name: str
    company: str
    phone: str
    email: str
    source: str
    responsible_id: str
    created_at: datetime


class LeadConverted(LeadEvent):
    TYPE: ClassVar[str] = "crm.partners.lead.converted"

    partner_id: uuid.UUID
    deal_requested: bool
    deal_title: str = ""
    responsible_id: str = ""
    converted_at: datetime


class LeadLost(LeadEvent):
    TYPE: ClassVar[str] = "crm.partners.lead.lost"

    reason: str
    comment: str
    lost_at: datetime


class PartnerClassified(PartnerEvent):
    TYPE: ClassVar[str] = "crm.partners.partner.classified"

    abc: str
    xyz: str
    stage: str
    classified_at: datetime


PUBLISHED: list[type[DomainEvent]] = [
    PartnerRegistered,
    PartnerUpdated,
    PartnerMerged,
    PartnerClassified,
    PersonMerged,
    LeadCreated,
    LeadConverted,
    LeadLost,
]


# What partners reads of deals' events (tolerant readers: only the fields used).
ORDER_TOPIC = "crm.deals.order.v1"


class OrderPlaced(DomainEvent):
    TOPIC: ClassVar[str] = ORDER_TOPIC
    TYPE: ClassVar[str] = "crm.deals.order.placed"
    KEY_FIELD: ClassVar[str] = "order_id"

    order_id: uuid.UUID
    partner_id: uuid.UUID
    amount: Decimal
    currency: str
    placed_at: datetime


class PaymentReceived(DomainEvent):
    TOPIC: ClassVar[str] = ORDER_TOPIC
    TYPE: ClassVar[str] = "crm.deals.payment.received"
    KEY_FIELD: ClassVar[str] = "order_id"

    payment_id: uuid.UUID
    partner_id: uuid.UUID
    amount: Decimal
    currency: str
    received_at: datetime


# pricing's exchange rates, kept to compare revenue in different currencies (ABC).
class RateSet(DomainEvent):
    TOPIC: ClassVar[str] = "crm.pricing.price.v1"
    TYPE: ClassVar[str] = "crm.pricing.rate.set"
    KEY_FIELD: ClassVar[str] = "pair"

    from_currency: str
    to_currency: str
    rate: Decimal
    on: date


consumer = EventConsumer("partners")


@consumer.on(RateSet)
async def keep_rate(session: AsyncSession, event: RateSet, envelope: Envelope) -> None:
    if event.rate > 0:
        await RateRepository(session).put(event.from_currency.upper(), event.to_currency.upper(), event.on, event.rate)


@consumer.on(OrderPlaced)
async def count_order(session: AsyncSession, event: OrderPlaced, envelope: Envelope) -> None:
    partner_id = await _current_id(session, event.partner_id)
    if partner_id is not None:
        await SalesRepository(session).add_order(partner_id, event.amount, event.currency.upper(), event.placed_at)


@consumer.on(PaymentReceived)
async def count_payment(session: AsyncSession, event: PaymentReceived, envelope: Envelope) -> None:
    partner_id = await _current_id(session, event.partner_id)
    if partner_id is not None:
        await SalesRepository(session).add_payment(partner_id, event.amount, event.currency.upper(), event.received_at)


async def _current_id(session: AsyncSession, partner_id: uuid.UUID) -> uuid.UUID | None:
    """The partner the figures belong to: the survivor of a merge; None for a partner this
    service never registered (figures of strangers would skew everyone's ABC share)."""
    repo = PartnerRepository(session)
    if await repo.exists(partner_id):
        return partner_id
    survivor = await repo.survivor_of(partner_id)
    if survivor is None:
        log.warning("sales of unknown partner %s ignored", partner_id)
    return survivor
