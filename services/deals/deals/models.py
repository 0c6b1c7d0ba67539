"""Deals' tables, including its own copy of the partners it works with."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric, String
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


class DealRow(DealsTable, table=True):
    __tablename__ = "deal"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    title: str = Field(sa_column=Column(String(300), nullable=False))
    partner_id: uuid.UUID = Field(index=True)
    manager_id: str = Field(default="", sa_column=Column(String(120), nullable=False, index=True))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    expected_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(18, 4)))
    currency: str | None = Field(default=None, sa_column=Column(String(3)))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
