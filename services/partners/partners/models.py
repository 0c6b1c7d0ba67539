"""Partners' tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from crm_platform.clock import utcnow
from crm_platform.ids import new_id
from crm_platform.tables import utc_column


class PartnersTable(SQLModel, registry=registry()):
    pass


class PartnerRow(PartnersTable, table=True):
    __tablename__ = "partner"
    __table_args__ = (
        Index(
            "ix_partner_name_folded_trgm",
            "name_folded",
            postgresql_using="gin",
            postgresql_ops={"name_folded": "gin_trgm_ops"},
        ),
        Index(
            "ix_partner_name_latin_trgm",
            "name_latin",
            postgresql_using="gin",
            postgresql_ops={"name_latin": "gin_trgm_ops"},
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=Column(String(300), nullable=False))
    name_folded: str = Field(sa_column=Column(String(300), nullable=False))
    name_latin: str = Field(sa_column=Column(String(600), nullable=False))
    roles: list[str] = Field(sa_column=Column(ARRAY(String(20)), nullable=False))
    manager_id: str = Field(default="", sa_column=Column(String(120), nullable=False, index=True))
    segment: str = Field(default="", sa_column=Column(String(120), nullable=False, index=True))
    region: str = Field(default="", sa_column=Column(String(120), nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String(60)), nullable=False))
    source: str = Field(default="", sa_column=Column(String(120), nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ContactRow(PartnersTable, table=True):
    __tablename__ = "partner_contact"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    partner_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("partner.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    position: int = 0
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    value: str = Field(sa_column=Column(Text, nullable=False))
    label: str = Field(default="", sa_column=Column(String(120), nullable=False))
    address: dict[str, str] | None = Field(default=None, sa_column=Column(JSONB))
