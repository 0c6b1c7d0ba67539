"""Events deals publishes, and the events of other services it consumes.

Consumed events are declared here as deals' own view of them (a tolerant reader): only
the fields deals uses, extra fields ignored, so partners can add fields freely.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.events import DomainEvent, Envelope
from crm_platform.messaging import EventConsumer
from deals.repository import KnownPartnerRepository

DEAL_TOPIC = "crm.deals.deal.v1"


class DealOpened(DomainEvent):
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


PUBLISHED: list[type[DomainEvent]] = [DealOpened]


class PartnerRegistered(DomainEvent):
    """partners' crm.partners.partner.registered, as deals reads it."""

    TOPIC: ClassVar[str] = "crm.partners.partner.v1"
    TYPE: ClassVar[str] = "crm.partners.partner.registered"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    name: str
    manager_id: str = ""
    segment: str = ""
    version: int = 1


consumer = EventConsumer("deals")


@consumer.on(PartnerRegistered)
async def remember_partner(session: AsyncSession, event: PartnerRegistered, envelope: Envelope) -> None:
    await KnownPartnerRepository(session).upsert(
        event.partner_id,
        name=event.name,
        manager_id=event.manager_id,
        segment=event.segment,
        version=event.version,
    )
