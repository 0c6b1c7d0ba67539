"""Events pricing publishes, and partners' events it reads (a tolerant reader)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.events import DomainEvent, Envelope
from crm_platform.messaging import EventConsumer
from pricing.repository import KnownPartnerRepository

PRICE_TOPIC = "crm.pricing.price.v1"
AGREEMENT_TOPIC = "crm.pricing.agreement.v1"
SOURCE = "crm/pricing"


class RuleData(BaseModel):
    base_price_type_id: uuid.UUID
    markup_percent: Decimal
    rounding_step: Decimal
    rounding_mode: str


class PriceChanged(DomainEvent):
    """A product's price in a price type from a date (set by hand or recalculated from its base)."""

    TOPIC: ClassVar[str] = PRICE_TOPIC
    TYPE: ClassVar[str] = "crm.pricing.price.changed"
    KEY_FIELD: ClassVar[str] = "price_type_id"

    price_type_id: uuid.UUID
    product_id: uuid.UUID
    price: Decimal
    currency: str
    effective_from: date
    derived: bool = False


class PriceTypeChanged(DomainEvent):
    """A price type created or changed; a new rule means every price of the type was recalculated."""

    TOPIC: ClassVar[str] = PRICE_TOPIC
    TYPE: ClassVar[str] = "crm.pricing.price_type.changed"
    KEY_FIELD: ClassVar[str] = "price_type_id"

    price_type_id: uuid.UUID
    name: str
    currency: str
    includes_vat: bool
    base_price_type_id: uuid.UUID | None
    rule: RuleData | None
    is_default: bool = False


class RateSet(DomainEvent):
    """1 from_currency = rate to_currency from the date `on`."""

    TOPIC: ClassVar[str] = PRICE_TOPIC
    TYPE: ClassVar[str] = "crm.pricing.rate.set"
    KEY_FIELD: ClassVar[str] = "pair"

    pair: str
    from_currency: str
    to_currency: str
    rate: Decimal
    on: date


class ProductUpdated(DomainEvent):
    """A product's catalogue data changed (UpdateProduct): the whole product, newest version wins."""

    TOPIC: ClassVar[str] = PRICE_TOPIC
    TYPE: ClassVar[str] = "crm.pricing.product.updated"
    KEY_FIELD: ClassVar[str] = "product_id"

    product_id: uuid.UUID
    sku: str
    name: str
    unit: str
    vat_rate: Decimal
    cost: Decimal
    cost_currency: str
    version: int


class AgreementAgreed(DomainEvent):
    """An agreement (terms of sale) came into force."""

    TOPIC: ClassVar[str] = AGREEMENT_TOPIC
    TYPE: ClassVar[str] = "crm.pricing.agreement.agreed"
    KEY_FIELD: ClassVar[str] = "agreement_id"

    agreement_id: uuid.UUID
    kind: str
    partner_id: uuid.UUID | None
    segment: str
    price_type_id: uuid.UUID | None
    valid_from: date
    valid_to: date | None


class AgreementClosed(DomainEvent):
    """An agreement no longer applies to new documents."""

    TOPIC: ClassVar[str] = AGREEMENT_TOPIC
    TYPE: ClassVar[str] = "crm.pricing.agreement.closed"
    KEY_FIELD: ClassVar[str] = "agreement_id"

    agreement_id: uuid.UUID
    closed_at: datetime


class AgreementUpdated(DomainEvent):
    """An agreement changed (UpdateAgreement): a draft's terms or dates, an agreed one's extension."""

    TOPIC: ClassVar[str] = AGREEMENT_TOPIC
    TYPE: ClassVar[str] = "crm.pricing.agreement.updated"
    KEY_FIELD: ClassVar[str] = "agreement_id"

    agreement_id: uuid.UUID
    name: str
    kind: str
    status: str
    partner_id: uuid.UUID | None
    segment: str
    price_type_id: uuid.UUID | None
    currency: str
    discount_percent: Decimal
    valid_from: date
    valid_to: date | None
    version: int


PUBLISHED: list[type[DomainEvent]] = [
    PriceChanged,
    PriceTypeChanged,
    RateSet,
    ProductUpdated,
    AgreementAgreed,
    AgreementClosed,
    AgreementUpdated,
]


class PartnerRegistered(DomainEvent):
    """partners' crm.partners.partner.registered, as pricing reads it (the segment only)."""

    TOPIC: ClassVar[str] = "crm.partners.partner.v1"
    TYPE: ClassVar[str] = "crm.partners.partner.registered"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    segment: str = ""
    version: int = 1


class PartnerUpdated(PartnerRegistered):
    TYPE: ClassVar[str] = "crm.partners.partner.updated"


class PartnerMerged(DomainEvent):
    """partners' crm.partners.partner.merged: merged_ids no longer exist, partner_id survives."""

    TOPIC: ClassVar[str] = "crm.partners.partner.v1"
    TYPE: ClassVar[str] = "crm.partners.partner.merged"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    merged_ids: list[uuid.UUID] = Field(default_factory=list)


consumer = EventConsumer("pricing")


@consumer.on(PartnerRegistered)
async def partner_registered(session: AsyncSession, event: PartnerRegistered, envelope: Envelope) -> None:
    await KnownPartnerRepository(session).upsert(event.partner_id, segment=event.segment, version=event.version)


@consumer.on(PartnerUpdated)
async def partner_updated(session: AsyncSession, event: PartnerUpdated, envelope: Envelope) -> None:
    await KnownPartnerRepository(session).upsert(event.partner_id, segment=event.segment, version=event.version)


@consumer.on(PartnerMerged)
async def partners_merged(session: AsyncSession, event: PartnerMerged, envelope: Envelope) -> None:
    """Agreements and price lists of the merged partners now belong to the survivor."""
    await KnownPartnerRepository(session).repoint(event.merged_ids, event.partner_id)
