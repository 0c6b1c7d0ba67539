"""Events partners publishes, on topic crm.partners.partner.v1 keyed by partner id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, Field

from crm_platform.events import DomainEvent

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


PUBLISHED: list[type[DomainEvent]] = [
    PartnerRegistered,
    PartnerUpdated,
    PartnerMerged,
    LeadCreated,
    LeadConverted,
    LeadLost,
]
