"""claims' tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, Index, Sequence, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from crm_platform.clock import utcnow
from crm_platform.ids import new_id
from crm_platform.tables import utc_column

CLAIM_NUMBER = Sequence("claim_number_seq")


class ClaimsTable(SQLModel, registry=registry()):
    pass


class ReasonRow(ClaimsTable, table=True):
    __tablename__ = "reason"

    code: str = Field(sa_column=Column(String(60), primary_key=True))
    name: str = Field(sa_column=Column(String(300, collation="uk-UA-x-icu"), nullable=False))
    archived: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ClaimRow(ClaimsTable, table=True):
    __tablename__ = "claim"
    __table_args__ = (
        Index(
            "ix_claim_registered_at",
            "registered_at",
            postgresql_include=["status", "culprit_department", "culprit_employee_id", "reason_codes"],
        ),
        Index("ix_claim_closed_at", "closed_at", postgresql_include=["status", "reason_codes"]),
        Index("ix_claim_partner", "partner_id", "registered_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    number: int = Field(
        sa_column=Column(
            BigInteger, CLAIM_NUMBER, server_default=CLAIM_NUMBER.next_value(), unique=True, nullable=False
        )
    )
    partner_id: uuid.UUID
    claimant_kind: str = Field(sa_column=Column(String(20), nullable=False))
    contact_person: str = Field(default="", sa_column=Column(String(300), nullable=False))
    culprit_department: str = Field(default="", sa_column=Column(String(300, collation="uk-UA-x-icu"), nullable=False))
    culprit_employee_id: str = Field(default="", sa_column=Column(String(120), nullable=False))
    essence: str = Field(sa_column=Column(Text, nullable=False))
    reason_codes: list[str] = Field(sa_column=Column(ARRAY(String(60)), nullable=False))
    desired_result: str = Field(default="", sa_column=Column(Text, nullable=False))
    deal_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    responsible_id: str = Field(default="", sa_column=Column(String(120), nullable=False, index=True))
    manager_id: str = Field(default="", sa_column=Column(String(120), nullable=False))
    status: str = Field(sa_column=Column(String(30), nullable=False, index=True))
    result: str = Field(default="", sa_column=Column(Text, nullable=False))
    registered_by: str = Field(sa_column=Column(String(10), nullable=False))
    registered_by_user: str = Field(default="", sa_column=Column(String(120), nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    registered_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))


class StatusChangeRow(ClaimsTable, table=True):
    __tablename__ = "claim_status_change"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    claim_id: uuid.UUID = Field(foreign_key="claim.id", index=True)
    from_status: str = Field(sa_column=Column(String(30), nullable=False))
    to_status: str = Field(sa_column=Column(String(30), nullable=False))
    changed_by: str = Field(sa_column=Column(String(120), nullable=False))
    changed_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))


class ActivityRow(ClaimsTable, table=True):
    """One activity of a claim's investigation plan, carried out as a task in interactions."""

    __tablename__ = "plan_activity"
    __table_args__ = (UniqueConstraint("claim_id", "request_id", name="uq_plan_activity_request"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    claim_id: uuid.UUID = Field(foreign_key="claim.id", index=True)
    request_id: str | None = Field(default=None, sa_column=Column(String(120)))
    name: str = Field(sa_column=Column(String(300), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    performer_id: str = Field(sa_column=Column(String(120), nullable=False))
    checker_id: str = Field(default="", sa_column=Column(String(120), nullable=False))
    due_at: datetime = Field(sa_column=utc_column())
    status: str = Field(sa_column=Column(String(20), nullable=False))
    task_id: str = Field(default="", sa_column=Column(String(120), nullable=False))
    done_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    checked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    check_comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class FileRow(ClaimsTable, table=True):
    __tablename__ = "claim_file"
    __table_args__ = (UniqueConstraint("claim_id", "request_id", name="uq_claim_file_request"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    claim_id: uuid.UUID = Field(foreign_key="claim.id", index=True)
    request_id: str | None = Field(default=None, sa_column=Column(String(120)))
    file_name: str = Field(sa_column=Column(String(300), nullable=False))
    content_type: str = Field(sa_column=Column(String(120), nullable=False))
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    storage_key: str = Field(sa_column=Column(String(300), nullable=False))
    uploaded_by: str = Field(sa_column=Column(String(120), nullable=False))
    uploaded_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    corrupt: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))


class InteractionRow(ClaimsTable, table=True):
    """An interaction whose subject is a claim, copied from interactions' events."""

    __tablename__ = "claim_interaction"

    interaction_id: uuid.UUID = Field(primary_key=True)
    claim_id: uuid.UUID = Field(index=True)
    kind: str = Field(sa_column=Column(String(60), nullable=False))
    partner_id: str = Field(default="", sa_column=Column(String(120), nullable=False))
    responsible_id: str = Field(default="", sa_column=Column(String(120), nullable=False))
    occurred_at: datetime = Field(sa_column=utc_column())
    processed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class KnownPartner(ClaimsTable, table=True):
    """What claims knows of a partner, from partners' events (never read from partners' database)."""

    __tablename__ = "known_partner"

    id: uuid.UUID = Field(primary_key=True)
    name: str = Field(sa_column=Column(String(300), nullable=False))
    manager_id: str = Field(default="", sa_column=Column(String(120), nullable=False))
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
