"""Deals' tables, including its own copies of the partners and agreements it works with."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from crm_platform.clock import utcnow
from crm_platform.ids import new_id
from crm_platform.tables import utc_column


class DealsTable(SQLModel, registry=registry()):
    pass


class KnownPartner(DealsTable, table=True):
    """What deals knows of a partner, from partners' events (never read from partners' database)."""

    __tablename__ = "known_partner"

    id: uuid.UUID = Field(primary_key=True)
    name: str = Field(sa_column=Column(String(300), nullable=False))
    manager_id: str = Field(default="", sa_column=Column(String(120), nullable=False))
    segment: str = Field(default="", sa_column=Column(String(120), nullable=False))
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    abc_class: str = Field(default="", sa_column=Column(String(1), nullable=False, server_default=""))
    xyz_class: str = Field(default="", sa_column=Column(String(1), nullable=False, server_default=""))
    merged_into: uuid.UUID | None = Field(default=None)


class KnownAgreement(DealsTable, table=True):
    """Pricing's agreed terms of sale, for one partner or a whole segment (from pricing's events)."""

    __tablename__ = "known_agreement"

    id: uuid.UUID = Field(primary_key=True)
    partner_id: uuid.UUID | None = Field(default=None, index=True)
    segment: str = Field(default="", sa_column=Column(String(120), nullable=False))
    valid_from: date | None = Field(default=None, sa_column=Column(Date))
    valid_to: date | None = Field(default=None, sa_column=Column(Date))
    closed: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))


class SalesProcessRow(DealsTable, table=True):
    __tablename__ = "sales_process"
    __table_args__ = (
        Index("ix_sales_process_one_default", "is_default", unique=True, postgresql_where=text("is_default")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    is_default: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    version: int = 1
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ProcessStageRow(DealsTable, table=True):
    __tablename__ = "process_stage"

    process_id: uuid.UUID = Field(primary_key=True)
    code: str = Field(sa_column=Column(String(40), primary_key=True))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    exit_conditions: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String(40)), nullable=False))


class LostReasonRow(DealsTable, table=True):
    __tablename__ = "lost_reason"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))


class DealRow(DealsTable, table=True):
    __tablename__ = "deal"
    __table_args__ = (Index("ix_deal_funnel", "process_id", "status", "stage_code"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    title: str = Field(sa_column=Column(String(300), nullable=False))
    partner_id: uuid.UUID = Field(index=True)
    manager_id: str = Field(default="", sa_column=Column(String(120), nullable=False, index=True))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    expected_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(18, 4)))
    currency: str | None = Field(default=None, sa_column=Column(String(3)))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    kind: str = Field(default="controlled", sa_column=Column(String(20), nullable=False, server_default="controlled"))
    process_id: uuid.UUID | None = Field(default=None)
    stage_code: str | None = Field(default=None, sa_column=Column(String(40)))
    # The furthest stage position ever reached: the funnel's conversion counts it.
    reached_position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    counterparty: str = Field(default="", sa_column=Column(String(300), nullable=False, server_default=""))
    source: str = Field(default="", sa_column=Column(String(300), nullable=False, server_default=""))
    expected_close_date: date | None = Field(default=None, sa_column=Column(Date))
    lost_reason_id: uuid.UUID | None = Field(default=None)
    lost_comment: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    won_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(18, 4)))
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))


class DealHistoryRow(DealsTable, table=True):
    __tablename__ = "deal_history"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    deal_id: uuid.UUID = Field(index=True)
    from_stage: str = Field(default="", sa_column=Column(String(40), nullable=False))
    to_stage: str = Field(default="", sa_column=Column(String(40), nullable=False))
    from_status: str = Field(default="", sa_column=Column(String(20), nullable=False))
    to_status: str = Field(default="", sa_column=Column(String(20), nullable=False))
    skipped: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String(40)), nullable=False))
    moved_by: str = Field(sa_column=Column(String(200), nullable=False))
    moved_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))


class ParticipantRow(DealsTable, table=True):
    __tablename__ = "deal_participant"

    deal_id: uuid.UUID = Field(primary_key=True)
    partner_id: uuid.UUID = Field(primary_key=True, index=True)
    role: str = Field(sa_column=Column(String(20), primary_key=True))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))


class TaskRow(DealsTable, table=True):
    __tablename__ = "deal_task"
    __table_args__ = (UniqueConstraint("command_request_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    deal_id: uuid.UUID = Field(index=True)
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    command_request_id: str = Field(sa_column=Column(String(200), nullable=False))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    performer_id: str = Field(sa_column=Column(String(120), nullable=False))
    checker_id: str = Field(default="", sa_column=Column(String(120), nullable=False))
    deadline: datetime = Field(sa_column=utc_column())
    status: str = Field(sa_column=Column(String(20), nullable=False))
    interactions_task_id: str = Field(default="", sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


def _json(nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(JSONB, nullable=nullable)


class ProposalRow(DealsTable, table=True):
    __tablename__ = "proposal"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    deal_id: uuid.UUID = Field(index=True)
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    importance: str = Field(default="normal", sa_column=Column(String(10), nullable=False))
    valid_until: date = Field(sa_column=Column(Date, nullable=False))
    version: int = 1
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    agreement_id: str = Field(default="", sa_column=Column(String(64), nullable=False))
    lines: list[dict] = Field(default_factory=list, sa_column=_json())  # type: ignore[type-arg]
    totals: dict = Field(default_factory=dict, sa_column=_json())  # type: ignore[type-arg]
    approval_reasons: list[str] = Field(default_factory=list, sa_column=_json())
    approved_version: int = 0
    approved_by: str = Field(default="", sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ProposalVersionRow(DealsTable, table=True):
    __tablename__ = "proposal_version"

    proposal_id: uuid.UUID = Field(primary_key=True)
    version: int = Field(primary_key=True)
    lines: list[dict] = Field(default_factory=list, sa_column=_json())  # type: ignore[type-arg]
    totals: dict = Field(default_factory=dict, sa_column=_json())  # type: ignore[type-arg]
    valid_until: date = Field(sa_column=Column(Date, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))


class CompetitorOfferRow(DealsTable, table=True):
    __tablename__ = "competitor_offer"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    proposal_id: uuid.UUID = Field(index=True)
    competitor_id: uuid.UUID
    total: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))


class ShopRow(DealsTable, table=True):
    __tablename__ = "shop"

    id: str = Field(sa_column=Column(String(60), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    secret: str = Field(sa_column=Column(String(100), nullable=False))
    price_type_id: str = Field(sa_column=Column(String(64), nullable=False))
    agreement_id: str = Field(default="", sa_column=Column(String(64), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class OrderStateRow(DealsTable, table=True):
    __tablename__ = "order_state"

    kind: str = Field(sa_column=Column(String(20), primary_key=True))
    code: str = Field(sa_column=Column(String(40), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    final: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))


class OrderRow(DealsTable, table=True):
    __tablename__ = "customer_order"
    __table_args__ = (UniqueConstraint("shop_id", "shop_order_id", name="uq_order_shop_order"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    deal_id: uuid.UUID = Field(index=True)
    partner_id: uuid.UUID = Field(index=True)
    manager_id: str = Field(default="", sa_column=Column(String(120), nullable=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    state: str = Field(sa_column=Column(String(40), nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    proposal_id: uuid.UUID | None = Field(default=None)
    shop_id: str | None = Field(default=None, sa_column=Column(String(60)))
    shop_order_id: str | None = Field(default=None, sa_column=Column(String(120)))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    total: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    cost: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 4), nullable=False))
    invoiced: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 4), nullable=False))
    paid: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 4), nullable=False))
    shipped: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 4), nullable=False))
    agreement_id: str = Field(default="", sa_column=Column(String(64), nullable=False))
    lines: list[dict] = Field(default_factory=list, sa_column=_json())  # type: ignore[type-arg]
    totals: dict = Field(default_factory=dict, sa_column=_json())  # type: ignore[type-arg]
    violations: list[dict] = Field(default_factory=list, sa_column=_json())  # type: ignore[type-arg]
    due_on: date | None = Field(default=None, sa_column=Column(Date))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class InvoiceRow(DealsTable, table=True):
    __tablename__ = "invoice"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(index=True)
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    amount: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    issued_on: date = Field(sa_column=Column(Date, nullable=False))
    due_on: date = Field(sa_column=Column(Date, nullable=False))
    issued_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class PaymentRow(DealsTable, table=True):
    __tablename__ = "payment"
    __table_args__ = (UniqueConstraint("shop_id", "shop_payment_id", name="uq_payment_shop_payment"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(index=True)
    invoice_id: uuid.UUID | None = Field(default=None)
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    shop_id: str | None = Field(default=None, sa_column=Column(String(60)))
    shop_payment_id: str | None = Field(default=None, sa_column=Column(String(120)))
    amount: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ShipmentRow(DealsTable, table=True):
    __tablename__ = "shipment"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(index=True)
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    lines: list[dict] = Field(default_factory=list, sa_column=_json())  # type: ignore[type-arg]
    amount: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    cost: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    shipped_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
