"""interactions' queries: the only module that writes SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from interactions.domain import MAX_EVENT_LENGTH, OPEN_TASK_STATES, AppointmentStatus, EventState, Status, Subject
from interactions.models import (
    AppointmentRow,
    CalendarEventRow,
    CallRecord,
    EmailMessage,
    InteractionRow,
    KnownSubject,
    NoteRow,
    OfferingRow,
    ReminderRow,
    SpecialistRow,
    TaskRow,
)


class KnownSubjectRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, subject: Subject) -> KnownSubject | None:
        return await self.session.get(KnownSubject, (subject.service, subject.type, subject.id))

    async def upsert(
        self,
        service: str,
        kind: str,
        ident: uuid.UUID,
        *,
        title: str,
        partner_id: uuid.UUID | None = None,
        version: int = 0,
    ) -> None:
        """Keeps the newest version: an older event arriving late changes nothing."""
        table = KnownSubject.__table__  # type: ignore[attr-defined]
        statement = insert(table).values(
            service=service,
            type=kind,
            id=ident,
            title=title[:400],
            partner_id=partner_id,
            version=version,
            updated_at=utcnow(),
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.service, table.c.type, table.c.id],
            set_={
                "title": statement.excluded.title,
                "partner_id": func.coalesce(statement.excluded.partner_id, table.c.partner_id),
                "version": statement.excluded.version,
                "updated_at": statement.excluded.updated_at,
            },
            where=table.c.version <= statement.excluded.version,
        )
        await self.session.execute(statement)

    async def set_partner(self, service: str, kind: str, ident: uuid.UUID, partner_id: uuid.UUID) -> None:
        table = KnownSubject.__table__  # type: ignore[attr-defined]
        await self.session.execute(
            update(table)
            .where(table.c.service == service, table.c.type == kind, table.c.id == ident)
            .values(partner_id=partner_id, updated_at=utcnow())
        )

    async def titles(self, keys: set[tuple[str, str, uuid.UUID]]) -> dict[tuple[str, str, uuid.UUID], str]:
        if not keys:
            return {}
        table = KnownSubject.__table__  # type: ignore[attr-defined]
        rows = await self.session.execute(
            select(table.c.service, table.c.type, table.c.id, table.c.title).where(
                tuple_(table.c.service, table.c.type, table.c.id).in_(list(keys))
            )
        )
        return {(r.service, r.type, r.id): r.title for r in rows}


class MergeRepository:
    """Re-points every reference to merged partners (or contact persons) at the survivor."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def repoint_partners(self, merged: list[uuid.UUID], survivor: uuid.UUID, version: int) -> None:
        subjects = KnownSubject.__table__  # type: ignore[attr-defined]
        await self.session.execute(
            update(subjects)
            .where(subjects.c.service == "partners", subjects.c.type == "partner", subjects.c.id.in_(merged))
            .values(merged_into=survivor, version=func.greatest(subjects.c.version, version), updated_at=utcnow())
        )
        await self.session.execute(
            update(subjects).where(subjects.c.partner_id.in_(merged)).values(partner_id=survivor)
        )
        new_chain = Subject("partners", "partner", survivor).chain_id
        for row_type in (InteractionRow, TaskRow, NoteRow, CalendarEventRow):
            table = row_type.__table__  # type: ignore[attr-defined]
            values: dict[str, object] = {"subject_id": survivor}
            if row_type is InteractionRow:
                values["chain_id"] = new_chain
            await self.session.execute(
                update(table)
                .where(table.c.subject_service == "partners", table.c.subject_type == "partner")
                .where(table.c.subject_id.in_(merged))
                .values(**values)
            )
        table = InteractionRow.__table__  # type: ignore[attr-defined]
        await self.session.execute(update(table).where(table.c.partner_id.in_(merged)).values(partner_id=survivor))
        await self._repoint_participants("partner_id", merged, survivor)
        appointments = AppointmentRow.__table__  # type: ignore[attr-defined]
        await self.session.execute(
            update(appointments).where(appointments.c.client_partner_id.in_(merged)).values(client_partner_id=survivor)
        )

    async def repoint_persons(self, merged: list[uuid.UUID], survivor: uuid.UUID) -> None:
        await self._repoint_participants("person_id", merged, survivor)

    async def _repoint_participants(self, key: str, merged: list[uuid.UUID], survivor: uuid.UUID) -> None:
        """Participants resolved to a merged partner or person (key) now name the survivor."""
        table = InteractionRow.__table__  # type: ignore[attr-defined]
        names = {str(m) for m in merged}
        for merged_id in names:
            rows = await self.session.execute(
                select(InteractionRow).where(table.c.participants.contains([{key: merged_id}]))
            )
            for row in rows.scalars():
                row.participants = [{**p, key: str(survivor)} if p.get(key) in names else p for p in row.participants]


class InteractionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, interaction_id: uuid.UUID, *, lock: bool = False) -> InteractionRow | None:
        return await self.session.get(InteractionRow, interaction_id, with_for_update=lock)

    async def by_request_id(self, request_id: str) -> InteractionRow | None:
        query = select(InteractionRow).where(InteractionRow.request_id == request_id)  # type: ignore[arg-type]
        return (await self.session.execute(query)).scalars().first()

    async def add(self, row: InteractionRow) -> InteractionRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def chain(self, chain_id: uuid.UUID, limit: int = 1000) -> Sequence[InteractionRow]:
        table = InteractionRow.__table__  # type: ignore[attr-defined]
        query = select(InteractionRow).where(table.c.chain_id == chain_id).order_by(table.c.occurred_at, table.c.id)
        return (await self.session.execute(query.limit(limit))).scalars().all()

    async def unprocessed(
        self, responsible_id: str, after: tuple[datetime, uuid.UUID] | None, limit: int, now: datetime
    ) -> Sequence[InteractionRow]:
        table = InteractionRow.__table__  # type: ignore[attr-defined]
        query = select(InteractionRow).where(table.c.status != Status.PROCESSED.value)
        query = query.where(or_(table.c.postponed_until.is_(None), table.c.postponed_until <= now))
        if responsible_id:
            query = query.where(table.c.responsible_id == responsible_id)
        if after is not None:
            query = query.where(tuple_(table.c.occurred_at, table.c.id) < tuple_(*after))
        query = query.order_by(table.c.occurred_at.desc(), table.c.id.desc()).limit(limit)
        return (await self.session.execute(query)).scalars().all()

    async def count_unprocessed(self, now: datetime) -> list[tuple[str, int]]:
        table = InteractionRow.__table__  # type: ignore[attr-defined]
        query = (
            select(table.c.responsible_id, func.count())
            .where(table.c.status != Status.PROCESSED.value)
            .where(or_(table.c.postponed_until.is_(None), table.c.postponed_until <= now))
            .group_by(table.c.responsible_id)
            .order_by(table.c.responsible_id)
        )
        return [(r[0], int(r[1])) for r in await self.session.execute(query)]

    async def attach_partner(self, subject: Subject, partner_id: uuid.UUID) -> None:
        """Interactions on a subject that had no partner yet (a lead) now belong to its partner."""
        table = InteractionRow.__table__  # type: ignore[attr-defined]
        await self.session.execute(
            update(table)
            .where(table.c.subject_service == subject.service, table.c.subject_type == subject.type)
            .where(table.c.subject_id == subject.id, table.c.partner_id.is_(None))
            .values(partner_id=partner_id)
        )

    async def email(self, message_id: str) -> EmailMessage | None:
        return await self.session.get(EmailMessage, message_id)

    async def first_known_email(self, message_ids: Sequence[str]) -> EmailMessage | None:
        if not message_ids:
            return None
        table = EmailMessage.__table__  # type: ignore[attr-defined]
        rows = {
            r.message_id: r
            for r in (await self.session.execute(select(EmailMessage).where(table.c.message_id.in_(message_ids))))
            .scalars()
            .all()
        }
        return next((rows[m] for m in message_ids if m in rows), None)

    async def remember_email(self, message_id: str, interaction_id: uuid.UUID, chain_id: uuid.UUID) -> None:
        self.session.add(EmailMessage(message_id=message_id, interaction_id=interaction_id, chain_id=chain_id))
        await self.session.flush()

    async def call(self, call_id: str) -> CallRecord | None:
        return await self.session.get(CallRecord, call_id)

    async def remember_call(self, call_id: str, interaction_id: uuid.UUID) -> None:
        self.session.add(CallRecord(call_id=call_id, interaction_id=interaction_id))
        await self.session.flush()


class CalendarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, event_id: uuid.UUID, *, lock: bool = False) -> CalendarEventRow | None:
        return await self.session.get(CalendarEventRow, event_id, with_for_update=lock)

    async def by_request_id(self, request_id: str) -> CalendarEventRow | None:
        query = select(CalendarEventRow).where(CalendarEventRow.request_id == request_id)  # type: ignore[arg-type]
        return (await self.session.execute(query)).scalars().first()

    async def add(self, row: CalendarEventRow) -> CalendarEventRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def overlapping(
        self, owner_id: str, start: datetime, end: datetime, include_cancelled: bool
    ) -> Sequence[CalendarEventRow]:
        """Events of the owner that may have an occurrence in [start, end): one-offs by their
        start (an event lasts at most MAX_EVENT_LENGTH), series through their own partial index."""
        table = CalendarEventRow.__table__  # type: ignore[attr-defined]
        one_off = and_(
            table.c.recurrence == "",
            table.c.starts_at >= start - MAX_EVENT_LENGTH,
            table.c.starts_at < end,
            table.c.ends_at > start,
        )
        series = and_(
            table.c.recurrence != "",
            table.c.starts_at < end,
            or_(table.c.series_ends_at.is_(None), table.c.series_ends_at > start),
        )
        query = select(CalendarEventRow).where(table.c.owner_id == owner_id, or_(one_off, series))
        if not include_cancelled:
            query = query.where(table.c.state != EventState.CANCELLED.value)
        return (await self.session.execute(query.order_by(table.c.starts_at))).scalars().all()

    async def of_owner(self, owner_id: str, limit: int = 5000) -> Sequence[CalendarEventRow]:
        table = CalendarEventRow.__table__  # type: ignore[attr-defined]
        query = select(CalendarEventRow).where(table.c.owner_id == owner_id).order_by(table.c.starts_at.desc())
        return (await self.session.execute(query.limit(limit))).scalars().all()


class AppointmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def specialist(self, specialist_id: uuid.UUID) -> SpecialistRow | None:
        return await self.session.get(SpecialistRow, specialist_id)

    async def offering(self, offering_id: uuid.UUID) -> OfferingRow | None:
        return await self.session.get(OfferingRow, offering_id)

    async def get(self, appointment_id: uuid.UUID, *, lock: bool = False) -> AppointmentRow | None:
        return await self.session.get(AppointmentRow, appointment_id, with_for_update=lock)

    async def by_request_id(self, request_id: str) -> AppointmentRow | None:
        query = select(AppointmentRow).where(AppointmentRow.request_id == request_id)  # type: ignore[arg-type]
        return (await self.session.execute(query)).scalars().first()

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    async def booked(self, specialist_id: uuid.UUID, start: datetime, end: datetime) -> Sequence[AppointmentRow]:
        table = AppointmentRow.__table__  # type: ignore[attr-defined]
        query = (
            select(AppointmentRow)
            .where(table.c.specialist_id == specialist_id, table.c.status == AppointmentStatus.BOOKED.value)
            .where(and_(table.c.starts_at < end, table.c.ends_at > start))
            .order_by(table.c.starts_at)
        )
        return (await self.session.execute(query)).scalars().all()


class TaskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, task_id: uuid.UUID, *, lock: bool = False) -> TaskRow | None:
        return await self.session.get(TaskRow, task_id, with_for_update=lock)

    async def by_request_id(self, request_id: str) -> TaskRow | None:
        query = select(TaskRow).where(TaskRow.request_id == request_id)  # type: ignore[arg-type]
        return (await self.session.execute(query)).scalars().first()

    async def add(self, row: TaskRow) -> TaskRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def listed(
        self, *, performer_id: str = "", author_id: str = "", include_closed: bool = False, limit: int = 2000
    ) -> Sequence[TaskRow]:
        table = TaskRow.__table__  # type: ignore[attr-defined]
        query = select(TaskRow)
        if performer_id:
            query = query.where(table.c.performer_id == performer_id)
        if author_id:
            query = query.where(table.c.author_id == author_id)
        if not include_closed:
            query = query.where(table.c.state.in_([s.value for s in OPEN_TASK_STATES]))
        query = query.order_by(table.c.deadline.asc().nulls_last(), table.c.created_at).limit(limit)
        return (await self.session.execute(query)).scalars().all()


class NoteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_request_id(self, request_id: str) -> NoteRow | None:
        query = select(NoteRow).where(NoteRow.request_id == request_id)  # type: ignore[arg-type]
        return (await self.session.execute(query)).scalars().first()

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    async def listed(self, *, author_id: str = "", subject: Subject | None = None) -> Sequence[NoteRow]:
        table = NoteRow.__table__  # type: ignore[attr-defined]
        query = select(NoteRow)
        if subject is not None:
            query = query.where(
                table.c.subject_service == subject.service,
                table.c.subject_type == subject.type,
                table.c.subject_id == subject.id,
            )
        else:
            query = query.where(table.c.author_id == author_id)
        return (await self.session.execute(query.order_by(table.c.created_at.desc()).limit(500))).scalars().all()

    async def reminders(self, note_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ReminderRow]:
        if not note_ids:
            return {}
        table = ReminderRow.__table__  # type: ignore[attr-defined]
        rows = (await self.session.execute(select(ReminderRow).where(table.c.note_id.in_(note_ids)))).scalars()
        return {r.note_id: r for r in rows if r.note_id is not None}


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_due(self, now: datetime, limit: int) -> Sequence[ReminderRow]:
        """Due reminders no other replica holds; they stay locked until this transaction ends."""
        table = ReminderRow.__table__  # type: ignore[attr-defined]
        query = (
            select(ReminderRow)
            .where(table.c.fired_at.is_(None), table.c.due_at <= now)
            .order_by(table.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(query)).scalars().all()
