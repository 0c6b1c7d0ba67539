"""The platform's own tables, present in every service's database: outbox and inbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from crm_platform.clock import utcnow


class PlatformTable(SQLModel, registry=registry()):
    pass


def utc_column(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class OutboxMessage(PlatformTable, table=True):
    """An event committed with the state change it reports, waiting for the relay."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "seq", postgresql_where=text("published_at IS NULL")),)

    seq: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    event_id: uuid.UUID = Field(unique=True)
    topic: str = Field(sa_column=Column(String(249), nullable=False))
    key: str = Field(sa_column=Column(String(200), nullable=False))
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    headers: dict[str, str] = Field(sa_column=Column(JSONB, nullable=False))
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    published_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    attempts: int = 0


class InboxEntry(PlatformTable, table=True):
    """One row per (consumer, event id) handled: what makes redelivery harmless."""

    __tablename__ = "inbox"

    consumer: str = Field(sa_column=Column(String(200), primary_key=True))
    event_id: str = Field(sa_column=Column(String(200), primary_key=True))
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    processed_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))
