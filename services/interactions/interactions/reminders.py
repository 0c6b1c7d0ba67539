"""Notes with reminders, and the loop that fires due reminders exactly once.

The schedule lives in PostgreSQL. Each replica's loop claims due rows with
SELECT ... FOR UPDATE SKIP LOCKED and, in the same transaction, marks them fired and
writes reminder.due to the outbox: a reminder fires once with any number of replicas,
and one that fell due while every replica was down fires when one comes back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.outbox import add_event
from interactions.chains import require_known
from interactions.domain import Subject
from interactions.events import ReminderDue, SubjectRef
from interactions.models import NoteRow, ReminderRow
from interactions.repository import NoteRepository, ReminderRepository

SOURCE = "crm/interactions"
log = logging.getLogger(__name__)


async def create_note(
    db: Database,
    *,
    author_id: str,
    title: str,
    text: str,
    subject: Subject | None,
    remind_at: datetime | None,
    request_id: str | None,
) -> tuple[NoteRow, ReminderRow | None]:
    try:
        async with db.transaction() as session:
            repo = NoteRepository(session)
            if request_id and (earlier := await repo.by_request_id(request_id)) is not None:
                return earlier, (await repo.reminders([earlier.id])).get(earlier.id)
            if subject is not None:
                await require_known(session, subject)
            note = NoteRow(
                author_id=author_id,
                title=title,
                text=text,
                subject_service=subject.service if subject else None,
                subject_type=subject.type if subject else None,
                subject_id=subject.id if subject else None,
                request_id=request_id,
            )
            await repo.add(note)
            reminder = None
            if remind_at is not None:
                reminder = ReminderRow(
                    note_id=note.id,
                    user_id=author_id,
                    title=title,
                    text=text,
                    due_at=remind_at,
                    subject=subject.as_dict() if subject else None,
                )
                await repo.add(reminder)
            return note, reminder
    except IntegrityError:
        if not request_id:
            raise
        async with db.reading() as session:
            repo = NoteRepository(session)
            earlier = await repo.by_request_id(request_id)
            if earlier is None:
                raise
            return earlier, (await repo.reminders([earlier.id])).get(earlier.id)


async def fire_due(db: Database, batch: int = 100) -> int:
    """Fires the reminders due now that no other replica is firing; returns how many."""
    async with db.transaction() as session:
        due = await ReminderRepository(session).claim_due(utcnow(), batch)
        now = utcnow()
        for reminder in due:
            reminder.fired_at = now
            add_event(
                session,
                ReminderDue(
                    reminder_id=reminder.id,
                    user_id=reminder.user_id,
                    title=reminder.title,
                    text=reminder.text,
                    due_at=reminder.due_at,
                    subject=SubjectRef(**reminder.subject) if reminder.subject else None,
                ),
                source=SOURCE,
            )
        await session.flush()
        return len(due)


def reminder_loop(db: Database, stopping: asyncio.Event, poll_seconds: float = 0.5) -> Callable[[], Awaitable[None]]:
    async def fire_reminders() -> None:
        while not stopping.is_set():
            try:
                fired = await fire_due(db)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("firing reminders failed; retrying")
                fired = 0
            if fired == 0:
                await asyncio.sleep(poll_seconds)

    return fire_reminders


async def notes(db: Database, *, author_id: str, subject: Subject | None) -> list[tuple[NoteRow, ReminderRow | None]]:
    async with db.reading() as session:
        repo = NoteRepository(session)
        rows = list(await repo.listed(author_id=author_id, subject=subject))
        reminders = await repo.reminders([r.id for r in rows])
    return [(row, reminders.get(row.id)) for row in rows]
