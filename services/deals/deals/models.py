"""Deals' tables, including its own copies of the partners and agreements it works with."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ARRAY, Boolean, Column, Date, Index, Integer, Numeric, String, Text, UniqueConstraint
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
