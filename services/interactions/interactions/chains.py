"""Interactions in chains: registering, processing, resolving participants."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from crm_platform.ids import new_id
from crm_platform.outbox import add_event
from interactions.directory import Directory
from interactions.domain import Importance, Kind, Resolution, Status, Subject
from interactions.events import InteractionProcessed, InteractionRegistered, SubjectRef
from interactions.models import InteractionRow, KnownSubject
from interactions.repository import InteractionRepository, KnownSubjectRepository

SOURCE = "crm/interactions"
log = logging.getLogger(__name__)
AfterStore = Callable[[AsyncSession, InteractionRow], Awaitable[None]]


@dataclass
class Draft:
    kind: Kind
    title: str
    responsible_id: str
    subject: Subject | None = None
    description: str = ""
    participants: list[dict[str, str]] = field(default_factory=list)
    importance: Importance = Importance.NORMAL
    occurred_at: datetime | None = None
    request_id: str | None = None
    chain_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None


def subject_of(row: InteractionRow) -> Subject | None:
    if row.subject_service and row.subject_type and row.subject_id:
        return Subject(row.subject_service, row.subject_type, row.subject_id)
    return None


def subject_ref(subject: Subject | None) -> SubjectRef | None:
    return SubjectRef(**subject.as_dict()) if subject else None


async def require_known(session: AsyncSession, subject: Subject, field: str = "subject") -> KnownSubject:
    known = await KnownSubjectRepository(session).get(subject)
    if known is None:
        raise FailedPrecondition(
            f"unknown subject {subject.service}/{subject.type}/{subject.id}: interactions has not learnt of it "
            "(never created, or its event not yet received)",
            rule="subject_known",
        )
    if known.merged_into is not None:
        raise FailedPrecondition(
            f"partner {subject.id} was merged into {known.merged_into}; use the survivor", rule="subject_merged"
        )
    return known


async def resolve_participants(directory: Directory | None, participants: list[dict[str, str]]) -> None:
    """Fills partner/person ids where partners knows the phone or address; leaves the rest unresolved."""
    for participant in participants:
        participant.setdefault("resolution", Resolution.UNRESOLVED.value)
        if directory is None or participant.get("partner_id"):
            continue
        try:
            match = None
            if participant.get("phone"):
                match = await directory.resolve(phone=participant["phone"])
            if match is None and participant.get("email"):
                match = await directory.resolve(email=participant["email"])
        except Unavailable:
            log.warning("partners unavailable: participant left unresolved for now")
            return
        if match is not None and match.partner_id is not None:
            participant["partner_id"] = str(match.partner_id)
            if match.person_id:
                participant["person_id"] = str(match.person_id)
            participant["resolution"] = Resolution.AUTOMATIC.value


async def register(
    db: Database, directory: Directory | None, draft: Draft, after_store: AfterStore | None = None
) -> InteractionRow:
    if draft.request_id:
        async with db.reading() as session:
            earlier = await InteractionRepository(session).by_request_id(draft.request_id)
        if earlier is not None:
            return earlier
    await resolve_participants(directory, draft.participants)
    try:
        return await _store(db, draft, after_store)
    except IntegrityError:
        if not draft.request_id:
            raise
        async with db.reading() as session:
            earlier = await InteractionRepository(session).by_request_id(draft.request_id)
        if earlier is None:
            raise
        return earlier


async def _store(db: Database, draft: Draft, after_store: AfterStore | None) -> InteractionRow:
    async with db.transaction() as session:
        partner_id = draft.partner_id
        if draft.subject is not None:
            known = await require_known(session, draft.subject)
            partner_id = partner_id or known.partner_id
        if partner_id is None:
            resolved = [p["partner_id"] for p in draft.participants if p.get("partner_id")]
            partner_id = uuid.UUID(resolved[0]) if resolved else None
        row_id = new_id()
        chain_id = draft.chain_id or (draft.subject.chain_id if draft.subject else row_id)
        row = await InteractionRepository(session).add(
            InteractionRow(
                id=row_id,
                kind=draft.kind.value,
                subject_service=draft.subject.service if draft.subject else None,
                subject_type=draft.subject.type if draft.subject else None,
                subject_id=draft.subject.id if draft.subject else None,
                chain_id=chain_id,
                title=draft.title,
                description=draft.description,
                participants=draft.participants,
                partner_id=partner_id,
                status=Status.NEW.value,
                importance=draft.importance.value,
                responsible_id=draft.responsible_id,
                occurred_at=draft.occurred_at or utcnow(),
                request_id=draft.request_id,
            )
        )
        if after_store is not None:
            await after_store(session, row)
        add_event(
            session,
            InteractionRegistered(
                interaction_id=row.id,
                kind=row.kind,
                subject=subject_ref(draft.subject),
                partner_id=row.partner_id,
                responsible_id=row.responsible_id,
                occurred_at=row.occurred_at,
                chain_id=row.chain_id,
                title=row.title,
            ),
            source=SOURCE,
        )
        return row


@dataclass
class StatusChange:
    status: Status | None = None
    postponed_until: datetime | None = None
    responsible_id: str = ""
    importance: Importance | None = None


async def update_status(db: Database, interaction_id: uuid.UUID, change: StatusChange) -> InteractionRow:
    async with db.transaction() as session:
        row = await InteractionRepository(session).get(interaction_id, lock=True)
        if row is None:
            raise NotFound(f"interaction {interaction_id} not found")
        if change.postponed_until is not None and change.postponed_until <= utcnow():
            raise InvalidArgument.single("postponed_until", "must be in the future")
        becomes_processed = change.status == Status.PROCESSED and row.status != Status.PROCESSED
        if change.status is not None:
            if row.status == Status.PROCESSED and change.status != Status.PROCESSED:
                row.processed_at = None
            row.status = change.status.value
        row.postponed_until = change.postponed_until
        if change.responsible_id:
            row.responsible_id = change.responsible_id
        if change.importance is not None:
            row.importance = change.importance.value
        if becomes_processed:
            row.processed_at = utcnow()
            row.postponed_until = None
            add_event(
                session,
                InteractionProcessed(
                    interaction_id=row.id,
                    subject=subject_ref(subject_of(row)),
                    processed_at=row.processed_at,
                    responsible_id=row.responsible_id,
                ),
                source=SOURCE,
            )
        await session.flush()
        return row


async def resolve_by_hand(
    db: Database, interaction_id: uuid.UUID, index: int, partner_id: uuid.UUID, person_id: uuid.UUID | None
) -> InteractionRow:
    async with db.transaction() as session:
        row = await InteractionRepository(session).get(interaction_id, lock=True)
        if row is None:
            raise NotFound(f"interaction {interaction_id} not found")
        if not 0 <= index < len(row.participants):
            raise InvalidArgument.single(
                "participant_index", f"the interaction has {len(row.participants)} participant(s)"
            )
        await require_known(session, Subject("partners", "partner", partner_id), "partner_id")
        participants = [dict(p) for p in row.participants]
        participants[index].update(
            partner_id=str(partner_id),
            person_id=str(person_id) if person_id else "",
            resolution=Resolution.MANUAL.value,
        )
        row.participants = participants
        if row.partner_id is None:
            row.partner_id = partner_id
        await session.flush()
        return row


async def chain(db: Database, chain_id: uuid.UUID) -> tuple[list[InteractionRow], str, Subject | None]:
    async with db.reading() as session:
        rows = list(await InteractionRepository(session).chain(chain_id))
        subject = next((s for s in map(subject_of, rows) if s is not None), None)
        title = ""
        if subject is not None:
            known = await KnownSubjectRepository(session).get(subject)
            title = known.title if known else ""
    if not rows:
        raise NotFound(f"chain {chain_id} has no interactions")
    return rows, title, subject
