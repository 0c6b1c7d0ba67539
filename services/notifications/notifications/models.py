"""notifications' tables: templates, its copy of partners, opt-outs, users, campaigns, the
delivery ledger, and the invoices and payments the debt wizard works from."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Date, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from crm_platform.clock import utcnow
from crm_platform.ids import new_id
from crm_platform.tables import utc_column


class NotificationsTable(SQLModel, registry=registry()):
    pass


def _str(length: int, *, nullable: bool = False, index: bool = False, default: str | None = "") -> Column[str]:
    return Column(
        String(length),
        nullable=nullable,
        index=index,
        server_default=None if default is None else text(f"'{default}'"),
    )


class TemplateRow(NotificationsTable, table=True):
    __tablename__ = "template"

    code: str = Field(sa_column=Column(String(60), primary_key=True))
    language: str = Field(sa_column=Column(String(2), primary_key=True))
    channel: str = Field(sa_column=_str(10))
    placeholders: list[str] = Field(sa_column=Column(ARRAY(String(60)), nullable=False))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PartnerCopy(NotificationsTable, table=True):
    """What notifications knows of a partner, from partners' events."""

    __tablename__ = "partner_copy"

    id: uuid.UUID = Field(primary_key=True)
    name: str = Field(sa_column=Column(String(300, collation="uk-UA-x-icu"), nullable=False))
    segment: str = Field(default="", sa_column=_str(120, index=True))
    region: str = Field(default="", sa_column=_str(120, index=True))
    manager_id: str = Field(default="", sa_column=_str(120, index=True))
    tags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String(120)), nullable=False))
    abc: str = Field(default="", sa_column=_str(1))
    xyz: str = Field(default="", sa_column=_str(1))
    email: str = Field(default="", sa_column=_str(320))
    phone: str = Field(default="", sa_column=_str(40))
    language: str = Field(default="uk", sa_column=_str(2, default="uk"))
    version: int = 0
    merged_into: uuid.UUID | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class OptOut(NotificationsTable, table=True):
    __tablename__ = "opt_out"

    recipient: str = Field(sa_column=Column(String(320), primary_key=True))
    channel: str = Field(sa_column=Column(String(10), primary_key=True))
    partner_id: uuid.UUID | None = None
    reason: str = Field(default="unsubscribed", sa_column=_str(20, default="unsubscribed"))  # or "hard_bounce"
    opted_out_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class UserRow(NotificationsTable, table=True):
    """The users directory: where a staff member's reminders and alerts go."""

    __tablename__ = "user_directory"

    user_id: str = Field(sa_column=Column(String(120), primary_key=True))
    full_name: str = Field(sa_column=_str(300))
    email: str = Field(default="", sa_column=_str(320))
    phone: str = Field(default="", sa_column=_str(40))
    language: str = Field(default="uk", sa_column=_str(2, default="uk"))
    channel: str = Field(default="email", sa_column=_str(10, default="email"))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CampaignRow(NotificationsTable, table=True):
    __tablename__ = "campaign"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=_str(300))
    kind: str = Field(sa_column=_str(20))
    channel: str = Field(sa_column=_str(10))
    template_code: str = Field(sa_column=_str(60))
    status: str = Field(sa_column=_str(20, index=True))
    selection: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    created_by: str = Field(default="", sa_column=_str(120))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class MessageRow(NotificationsTable, table=True):
    """The delivery ledger: one row per (origin, recipient, channel), never sent twice."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("origin", "recipient", "channel", name="uq_message_origin_recipient_channel"),
        Index("ix_message_due", "next_attempt_at", postgresql_where=text("status = 'queued'")),
        Index("ix_message_lease", "lease_until", postgresql_where=text("status = 'sending'")),
        Index("ix_message_campaign", "campaign_id", "status", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    origin: str = Field(sa_column=Column(String(200), nullable=False))
    recipient: str = Field(sa_column=Column(String(320), nullable=False))
    channel: str = Field(sa_column=Column(String(10), nullable=False))
    campaign_id: uuid.UUID | None = None
    source_event_id: str | None = Field(default=None, sa_column=Column(String(200)))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    partner_id: uuid.UUID | None = None
    language: str = Field(default="uk", sa_column=_str(2, default="uk"))
    subject: str = Field(default="", sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=_str(20))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    lease_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Set, while 'sending', once the SMTP terminator may have gone out: never sent again.
    handed_over_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    provider_message_id: str = Field(default="", sa_column=_str(200, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class InvoiceCopy(NotificationsTable, table=True):
    """An invoice from deals' events and how much of it is paid."""

    __tablename__ = "invoice_copy"

    id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID | None = None
    partner_id: uuid.UUID = Field(index=True)
    manager_id: str = Field(default="", sa_column=_str(120))
    region: str = Field(default="", sa_column=_str(120))
    amount: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    paid: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 4), nullable=False, server_default="0"))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    issued_on: date = Field(sa_column=Column(Date, nullable=False))
    due_on: date = Field(sa_column=Column(Date, nullable=False, index=True))


class PaymentCopy(NotificationsTable, table=True):
    """A payment; one without an invoice (or exceeding it) pays the partner's oldest open invoices."""

    __tablename__ = "payment_copy"

    id: uuid.UUID = Field(primary_key=True)
    invoice_id: uuid.UUID | None = None
    partner_id: uuid.UUID = Field(index=True)
    amount: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    unallocated: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    received_at: datetime = Field(sa_column=utc_column())
