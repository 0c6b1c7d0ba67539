"""Appointments: specialists' working hours, services with durations, booking into free slots.

Overlap is PostgreSQL's to refuse (an exclusion constraint on the specialist and the time
range of booked appointments): two racing bookings cannot both commit.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from asyncpg.exceptions import DeadlockDetectedError, ExclusionViolationError
from sqlalchemy.exc import DBAPIError, IntegrityError

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import AlreadyExists, FailedPrecondition, NotFound
from crm_platform.outbox import add_event
from interactions.domain import AppointmentStatus, free_slots, within_schedule, working_intervals
from interactions.events import AppointmentBooked, AppointmentCancelled
from interactions.models import AppointmentRow, OfferingRow, SpecialistRow
from interactions.repository import AppointmentRepository

SOURCE = "crm/interactions"
DEADLOCK_RETRIES = 5


async def create_specialist(db: Database, name: str, time_zone: str, hours: list[dict[str, object]]) -> SpecialistRow:
    async with db.transaction() as session:
        row = SpecialistRow(name=name, time_zone=time_zone, hours=hours)
        await AppointmentRepository(session).add(row)
        return row


async def create_offering(db: Database, name: str, minutes: int) -> OfferingRow:
    async with db.transaction() as session:
        row = OfferingRow(name=name, duration_minutes=minutes)
        await AppointmentRepository(session).add(row)
        return row


async def _both(
    repo: AppointmentRepository, specialist_id: uuid.UUID, offering_id: uuid.UUID
) -> tuple[SpecialistRow, OfferingRow]:
    specialist = await repo.specialist(specialist_id)
    if specialist is None:
        raise NotFound(f"specialist {specialist_id} not found")
    offering = await repo.offering(offering_id)
    if offering is None:
        raise NotFound(f"service {offering_id} not found")
    return specialist, offering


async def slots(
    db: Database, specialist_id: uuid.UUID, offering_id: uuid.UUID, day: date
) -> list[tuple[datetime, datetime]]:
    async with db.reading() as session:
        repo = AppointmentRepository(session)
        specialist, offering = await _both(repo, specialist_id, offering_id)
        tz = ZoneInfo(specialist.time_zone)
        intervals = working_intervals(specialist.hours, day, tz)
        if not intervals:
            return []
        booked = await repo.booked(specialist_id, intervals[0][0], intervals[-1][1])
    return free_slots(
        intervals,
        [(b.starts_at, b.ends_at) for b in booked],
        timedelta(minutes=offering.duration_minutes),
        not_before=utcnow(),
    )


def _is_overlap(exc: IntegrityError) -> bool:
    cause = getattr(exc.orig, "__cause__", None)
    return isinstance(cause, ExclusionViolationError) or "appointment_no_overlap" in str(exc.orig)


@dataclass(frozen=True)
class Booking:
    specialist_id: uuid.UUID
    offering_id: uuid.UUID
    starts_at: datetime
    client_partner_id: uuid.UUID | None
    client_name: str
    client_phone: str
    request_id: str | None


async def book(db: Database, booking: Booking) -> AppointmentRow:
    """Books, retrying when PostgreSQL breaks a deadlock between racing overlap checks (two
    uncommitted overlapping rows each waiting for the other); the retry then sees the winner."""
    for attempt in range(1, DEADLOCK_RETRIES + 1):
        try:
            return await _book(db, booking)
        except DBAPIError as exc:
            if not _is_deadlock(exc) or attempt == DEADLOCK_RETRIES:
                raise
            await asyncio.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")


def _is_deadlock(exc: DBAPIError) -> bool:
    cause = getattr(exc.orig, "__cause__", None)
    return isinstance(cause, DeadlockDetectedError) or "deadlock detected" in str(exc.orig)


async def _book(db: Database, booking: Booking) -> AppointmentRow:
    specialist_id, offering_id, starts_at = booking.specialist_id, booking.offering_id, booking.starts_at
    request_id = booking.request_id
    try:
        async with db.transaction() as session:
            repo = AppointmentRepository(session)
            if request_id and (earlier := await repo.by_request_id(request_id)) is not None:
                return earlier
            specialist, offering = await _both(repo, specialist_id, offering_id)
            ends_at = starts_at + timedelta(minutes=offering.duration_minutes)
            if not within_schedule(specialist.hours, ZoneInfo(specialist.time_zone), starts_at, ends_at):
                raise FailedPrecondition(
                    f"{starts_at.isoformat()}–{ends_at.isoformat()} is outside {specialist.name}'s working hours",
                    rule="slot_in_schedule",
                )
            if starts_at < utcnow():
                raise FailedPrecondition("the slot is in the past", rule="slot_in_future")
            row = AppointmentRow(
                specialist_id=specialist_id,
                offering_id=offering_id,
                client_partner_id=booking.client_partner_id,
                client_name=booking.client_name,
                client_phone=booking.client_phone,
                starts_at=starts_at,
                ends_at=ends_at,
                status=AppointmentStatus.BOOKED.value,
                request_id=request_id,
            )
            await repo.add(row)
            add_event(session, _event(row, AppointmentBooked), source=SOURCE)
            return row
    except IntegrityError as exc:
        if _is_overlap(exc):
            raise AlreadyExists(
                f"{specialist_id} already has an appointment overlapping {starts_at.isoformat()}; choose another slot"
            ) from None
        if not request_id:
            raise
        async with db.reading() as session:
            earlier = await AppointmentRepository(session).by_request_id(request_id)
        if earlier is None:
            raise
        return earlier


def _event(row: AppointmentRow, cls: type[AppointmentBooked | AppointmentCancelled]) -> AppointmentBooked:
    return cls(
        appointment_id=row.id,
        specialist_id=row.specialist_id,
        partner_id=row.client_partner_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
    )


async def cancel(db: Database, appointment_id: uuid.UUID) -> AppointmentRow:
    async with db.transaction() as session:
        row = await AppointmentRepository(session).get(appointment_id, lock=True)
        if row is None:
            raise NotFound(f"appointment {appointment_id} not found")
        if row.status == AppointmentStatus.BOOKED:
            row.status = AppointmentStatus.CANCELLED.value
            add_event(session, _event(row, AppointmentCancelled), source=SOURCE)
            await session.flush()
        return row


async def load(
    db: Database, specialist_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[list[AppointmentRow], int]:
    async with db.reading() as session:
        repo = AppointmentRepository(session)
        if await repo.specialist(specialist_id) is None:
            raise NotFound(f"specialist {specialist_id} not found")
        rows = list(await repo.booked(specialist_id, start, end))
    minutes = sum(int((r.ends_at - r.starts_at).total_seconds() // 60) for r in rows)
    return rows, minutes
