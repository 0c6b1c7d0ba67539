"""interactions' tables, including its own copy of the subjects other services own."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Computed, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, TSTZRANGE, ExcludeConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from crm_platform.clock import utcnow
from crm_platform.ids import new_id
from crm_platform.tables import utc_column


class InteractionsTable(SQLModel, registry=registry()):
    pass


def _s(length: int, *, nullable: bool = False, index: bool = False, default: str | None = "") -> Column[str]:
    return Column(String(length), nullable=nullable, index=index, server_default=default)


class KnownSubject(InteractionsTable, table=True):
    """A deal, order, claim, lead or partner as interactions learnt of it from its owner's events."""

    __tablename__ = "known_subject"

    service: str = Field(sa_column=Column(String(40), primary_key=True))
    type: str = Field(sa_column=Column(String(40), primary_key=True))
    id: uuid.UUID = Field(primary_key=True)
    title: str = Field(sa_column=_s(400))
    partner_id: uuid.UUID | None = Field(default=None, index=True)
    merged_into: uuid.UUID | None = None
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class InteractionRow(InteractionsTable, table=True):
    __tablename__ = "interaction"
    __table_args__ = (
        Index("ix_interaction_chain", "chain_id", "occurred_at"),
        Index(
            "ix_interaction_unprocessed",
            "responsible_id",
            "occurred_at",
            "id",
            postgresql_where=text("status <> 'processed'"),
        ),
        Index("ix_interaction_unprocessed_all", "occurred_at", "id", postgresql_where=text("status <> 'processed'")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(sa_column=_s(20))
    subject_service: str | None = Field(default=None, sa_column=_s(40, nullable=True, default=None))
    subject_type: str | None = Field(default=None, sa_column=_s(40, nullable=True, default=None))
    subject_id: uuid.UUID | None = Field(default=None, index=True)
    chain_id: uuid.UUID
    title: str = Field(sa_column=_s(300))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    participants: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    partner_id: uuid.UUID | None = Field(default=None, index=True)
    status: str = Field(sa_column=_s(20))
    importance: str = Field(sa_column=_s(20))
    responsible_id: str = Field(sa_column=_s(120))
    occurred_at: datetime = Field(sa_column=utc_column())
    postponed_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    processed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    request_id: str | None = Field(default=None, sa_column=Column(String(200), unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class EmailMessage(InteractionsTable, table=True):
    """Message-IDs seen, so replies find their thread and a re-sent message changes nothing."""

    __tablename__ = "email_message"

    message_id: str = Field(sa_column=Column(String(500), primary_key=True))
    interaction_id: uuid.UUID
    chain_id: uuid.UUID


class CallRecord(InteractionsTable, table=True):
    """Calls from the telephony webhook, by the telephony's call id (idempotency)."""

    __tablename__ = "call_record"

    call_id: str = Field(sa_column=Column(String(200), primary_key=True))
    interaction_id: uuid.UUID


class CalendarEventRow(InteractionsTable, table=True):
    __tablename__ = "calendar_event"
    __table_args__ = (
        Index("ix_calendar_owner_start", "owner_id", "starts_at"),
        Index("ix_calendar_owner_series", "owner_id", "starts_at", postgresql_where=text("recurrence <> ''")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(sa_column=_s(120))
    title: str = Field(sa_column=_s(300))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    location: str = Field(default="", sa_column=_s(300))
    starts_at: datetime = Field(sa_column=utc_column())
    ends_at: datetime = Field(sa_column=utc_column())
    time_zone: str = Field(sa_column=_s(64))
    recurrence: str = Field(default="", sa_column=_s(500))
    # The end of the last occurrence (None: repeats forever); lets a period query skip old series.
    series_ends_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    state: str = Field(sa_column=_s(20))
    subject_service: str | None = Field(default=None, sa_column=_s(40, nullable=True, default=None))
    subject_type: str | None = Field(default=None, sa_column=_s(40, nullable=True, default=None))
    subject_id: uuid.UUID | None = None
    request_id: str | None = Field(default=None, sa_column=Column(String(200), unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class SpecialistRow(InteractionsTable, table=True):
    __tablename__ = "specialist"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=_s(300))
    time_zone: str = Field(sa_column=_s(64))
    # [{"weekday": 1, "start": "09:00", "end": "13:00"}, ...]
    hours: list[dict[str, object]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))


class OfferingRow(InteractionsTable, table=True):
    __tablename__ = "offering"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=_s(300))
    duration_minutes: int = Field(sa_column=Column(Integer, nullable=False))


class AppointmentRow(InteractionsTable, table=True):
    """Booked appointments of one specialist never overlap: PostgreSQL's exclusion constraint says so."""

    __tablename__ = "appointment"
    __table_args__ = (
        ExcludeConstraint(
            (Column("specialist_id"), "="),
            (Column("period"), "&&"),
            name="appointment_no_overlap",
            using="gist",
            where=text("status = 'booked'"),
        ),
        Index("ix_appointment_specialist_start", "specialist_id", "starts_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    specialist_id: uuid.UUID
    offering_id: uuid.UUID
    client_partner_id: uuid.UUID | None = None
    client_name: str = Field(default="", sa_column=_s(300))
    client_phone: str = Field(default="", sa_column=_s(40))
    starts_at: datetime = Field(sa_column=utc_column())
    ends_at: datetime = Field(sa_column=utc_column())
    period: str | None = Field(
        default=None, sa_column=Column(TSTZRANGE, Computed("tstzrange(starts_at, ends_at, '[)')", persisted=True))
    )
    status: str = Field(sa_column=_s(20))
    request_id: str | None = Field(default=None, sa_column=Column(String(200), unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class TaskRow(InteractionsTable, table=True):
    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_performer_open", "performer_id", "deadline", postgresql_where=text("state <> 'checked'")),
        Index("ix_task_author", "author_id", "deadline"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    request_id: str | None = Field(default=None, sa_column=Column(String(200), unique=True))
    title: str = Field(sa_column=_s(300))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    author_id: str = Field(sa_column=_s(120))
    performer_id: str = Field(sa_column=_s(120))
    checker_id: str = Field(default="", sa_column=_s(120))
    deadline: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    subject_service: str | None = Field(default=None, sa_column=_s(40, nullable=True, default=None))
    subject_type: str | None = Field(default=None, sa_column=_s(40, nullable=True, default=None))
    subject_id: uuid.UUID | None = None
    state: str = Field(sa_column=_s(20))
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    history: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    done_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class NoteRow(InteractionsTable, table=True):
    __tablename__ = "note"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    author_id: str = Field(sa_column=_s(120, index=True))
    title: str = Field(sa_column=_s(300))
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    subject_service: str | None = Field(default=None, sa_column=_s(40, nullable=True, default=None))
    subject_type: str | None = Field(default=None, sa_column=_s(40, nullable=True, default=None))
    subject_id: uuid.UUID | None = Field(default=None, index=True)
    request_id: str | None = Field(default=None, sa_column=Column(String(200), unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ReminderRow(InteractionsTable, table=True):
    """The durable schedule: a due row is claimed FOR UPDATE SKIP LOCKED and fired in one transaction."""

    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_due", "due_at", postgresql_where=text("fired_at IS NULL")),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    note_id: uuid.UUID | None = Field(default=None, index=True)
    user_id: str = Field(sa_column=_s(120))
    title: str = Field(sa_column=_s(300))
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    due_at: datetime = Field(sa_column=utc_column())
    fired_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    subject: dict[str, str] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
