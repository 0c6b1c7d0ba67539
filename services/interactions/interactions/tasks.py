"""Tasks: assigned by people or requested by other services (idempotently by request_id)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from crm_platform.outbox import add_event
from interactions.chains import require_known
from interactions.domain import DEADLINE_GROUPS, Subject, TaskState, deadline_group, must_hold
from interactions.events import SubjectRef, TaskAssigned, TaskChecked, TaskDone, TaskRequested
from interactions.models import TaskRow
from interactions.repository import TaskRepository

SOURCE = "crm/interactions"


@dataclass
class TaskDraft:
    title: str
    description: str
    author_id: str
    performer_id: str
    checker_id: str
    deadline: datetime | None
    subject: Subject | None
    request_id: str | None


def task_subject(row: TaskRow) -> Subject | None:
    if row.subject_service and row.subject_type and row.subject_id:
        return Subject(row.subject_service, row.subject_type, row.subject_id)
    return None


def _ref(row: TaskRow) -> SubjectRef | None:
    subject = task_subject(row)
    return SubjectRef(**subject.as_dict()) if subject else None


def _history(row: TaskRow, action: str, by: str, comment: str = "") -> None:
    entry = {"at": utcnow().isoformat(), "action": action, "by": by, "performer": row.performer_id}
    if comment:
        entry["comment"] = comment
    row.history = [*row.history, entry]


def _assigned(row: TaskRow) -> TaskAssigned:
    return TaskAssigned(
        task_id=row.id,
        request_id=row.request_id,
        title=row.title,
        author_id=row.author_id,
        performer_id=row.performer_id,
        checker_id=row.checker_id,
        deadline=row.deadline,
        subject=_ref(row),
    )


async def _insert(session: AsyncSession, draft: TaskDraft) -> TaskRow:
    row = TaskRow(
        request_id=draft.request_id,
        title=draft.title,
        description=draft.description,
        author_id=draft.author_id,
        performer_id=draft.performer_id,
        checker_id=draft.checker_id,
        deadline=draft.deadline,
        subject_service=draft.subject.service if draft.subject else None,
        subject_type=draft.subject.type if draft.subject else None,
        subject_id=draft.subject.id if draft.subject else None,
        state=TaskState.ASSIGNED.value,
    )
    _history(row, "assigned", draft.author_id)
    await TaskRepository(session).add(row)
    add_event(session, _assigned(row), source=SOURCE)
    return row


async def create(db: Database, draft: TaskDraft) -> TaskRow:
    try:
        async with db.transaction() as session:
            repo = TaskRepository(session)
            if draft.request_id and (earlier := await repo.by_request_id(draft.request_id)) is not None:
                return earlier
            if draft.subject is not None:
                await require_known(session, draft.subject)
            return await _insert(session, draft)
    except IntegrityError:
        if not draft.request_id:
            raise
        async with db.reading() as session:
            earlier = await TaskRepository(session).by_request_id(draft.request_id)
        if earlier is None:
            raise
        return earlier


async def create_requested_task(session: AsyncSession, command: TaskRequested) -> None:
    """A command from another service: the task is created once per request_id (the owner of
    the subject asked, so the subject needs no check against this service's copy)."""
    if await TaskRepository(session).by_request_id(command.request_id) is not None:
        return
    subject = None
    if command.subject is not None:
        try:
            subject = Subject(command.subject.service, command.subject.type, uuid.UUID(command.subject.id))
        except ValueError:
            subject = None
    await _insert(
        session,
        TaskDraft(
            title=" ".join(command.title.split())[:300] or "Завдання",
            description=command.description,
            author_id=(command.author_id or f"service:{command.requested_by}")[:120],
            performer_id=command.performer_id[:120],
            checker_id=command.checker_id[:120],
            deadline=command.deadline,
            subject=subject,
            request_id=command.request_id[:200],
        ),
    )


async def _locked(session: AsyncSession, task_id: uuid.UUID) -> TaskRow:
    row = await TaskRepository(session).get(task_id, lock=True)
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return row


async def accept(db: Database, task_id: uuid.UUID, caller: str) -> TaskRow:
    async with db.transaction() as session:
        row = await _locked(session, task_id)
        must_hold(row.performer_id, caller, row.state, "accept")
        if row.state != TaskState.ACCEPTED:
            row.state = TaskState.ACCEPTED.value
            _history(row, "accepted", caller)
            await session.flush()
        return row


async def forward(db: Database, task_id: uuid.UUID, caller: str, performer_id: str, comment: str) -> TaskRow:
    async with db.transaction() as session:
        row = await _locked(session, task_id)
        must_hold(row.performer_id, caller, row.state, "forward")
        if performer_id == row.performer_id:
            raise InvalidArgument.single("performer_id", "the task is already theirs")
        row.performer_id = performer_id
        row.state = TaskState.ASSIGNED.value
        _history(row, "forwarded", caller, comment)
        add_event(session, _assigned(row), source=SOURCE)
        await session.flush()
        return row


async def complete(db: Database, task_id: uuid.UUID, caller: str, comment: str) -> TaskRow:
    async with db.transaction() as session:
        row = await _locked(session, task_id)
        must_hold(row.performer_id, caller, row.state, "complete")
        row.done_at = utcnow()
        # Without a checker, done is final.
        row.state = (TaskState.DONE if row.checker_id else TaskState.CHECKED).value
        row.comment = comment
        _history(row, "done", caller, comment)
        add_event(
            session,
            TaskDone(
                task_id=row.id, request_id=row.request_id, performer_id=caller, subject=_ref(row), done_at=row.done_at
            ),
            source=SOURCE,
        )
        await session.flush()
        return row


async def check(db: Database, task_id: uuid.UUID, caller: str, accepted: bool, comment: str) -> TaskRow:
    async with db.transaction() as session:
        row = await _locked(session, task_id)
        if row.checker_id != caller:
            raise FailedPrecondition(
                f"only the task's checker ({row.checker_id or 'none'}) may check it", rule="checker"
            )
        if row.state != TaskState.DONE:
            raise FailedPrecondition(f"the task is {row.state}; only a done task can be checked", rule="task_done")
        row.state = (TaskState.CHECKED if accepted else TaskState.RETURNED).value
        row.comment = comment
        _history(row, "checked" if accepted else "returned", caller, comment)
        add_event(
            session,
            TaskChecked(
                task_id=row.id,
                request_id=row.request_id,
                checker_id=caller,
                accepted=accepted,
                comment=comment,
                subject=_ref(row),
                checked_at=utcnow(),
            ),
            source=SOURCE,
        )
        await session.flush()
        return row


async def get(db: Database, task_id: uuid.UUID) -> TaskRow:
    async with db.reading() as session:
        row = await TaskRepository(session).get(task_id)
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return row


async def grouped(
    db: Database, *, performer_id: str, author_id: str, grouping: str, tz: ZoneInfo, include_closed: bool
) -> list[tuple[str, list[TaskRow]]]:
    async with db.reading() as session:
        rows = await TaskRepository(session).listed(
            performer_id=performer_id, author_id=author_id, include_closed=include_closed
        )
    groups: dict[str, list[TaskRow]] = defaultdict(list)
    now = utcnow()
    for row in rows:
        if grouping == "author":
            key = row.author_id
        elif grouping == "subject":
            subject = task_subject(row)
            key = f"{subject.service}/{subject.type}/{subject.id}" if subject else "no_subject"
        else:
            key = deadline_group(row.deadline, now, tz)
        groups[key].append(row)
    if grouping in ("author", "subject"):
        return sorted(groups.items())
    return [(key, groups[key]) for key in DEADLINE_GROUPS if key in groups]
