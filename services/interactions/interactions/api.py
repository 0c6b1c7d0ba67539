"""crm.interactions.v1.InteractionsService: decode, call the use case, encode; and the wiring of all four servicers."""

from __future__ import annotations

import uuid
from datetime import datetime

from crm.common.v1 import common_pb2
from crm.interactions.v1 import interactions_pb2 as pb
from crm.interactions.v1 import interactions_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, NotFound, Violations
from crm_platform.grpc_server import GrpcService
from crm_platform.ids import parse_id
from crm_platform.paging import PageToken, page_size
from crm_platform.proto_codec import enum_in, timestamp_in, timestamp_out
from interactions import chains, reminders
from interactions.api_appointments import AppointmentsApi
from interactions.api_calendar import CalendarApi
from interactions.api_tasks import TasksApi
from interactions.codec import interaction_out, me, participants_in, request_id, subject_in, subject_out
from interactions.directory import Directory
from interactions.domain import Importance, Kind, Status, check_user, clean_text
from interactions.intake import ingest_email
from interactions.models import InteractionRow, KnownSubject, NoteRow, ReminderRow
from interactions.repository import InteractionRepository, KnownSubjectRepository


async def _titles(db: Database, rows: list[InteractionRow]) -> dict[tuple[str, str, uuid.UUID], str]:
    keys = {(r.subject_service, r.subject_type, r.subject_id) for r in rows if r.subject_id}
    async with db.reading() as session:
        return await KnownSubjectRepository(session).titles(keys)  # type: ignore[arg-type]


def _title_of(titles: dict[tuple[str, str, uuid.UUID], str], row: InteractionRow) -> str:
    return titles.get((row.subject_service, row.subject_type, row.subject_id), "")  # type: ignore[arg-type]


class InteractionsApi(pb_grpc.InteractionsServiceServicer):
    def __init__(self, db: Database, directory: Directory) -> None:
        self.db = db
        self.directory = directory

    async def _out(self, row: InteractionRow) -> pb.Interaction:
        return interaction_out(row, _title_of(await _titles(self.db, [row]), row))

    async def RegisterInteraction(
        self, request: pb.RegisterInteractionRequest, context: ServicerContext
    ) -> pb.Interaction:
        v = Violations()
        rid = request_id(request.request_id, v)
        kind = enum_in(request.kind, pb.InteractionKind, "INTERACTION_KIND_", Kind, "kind")
        subject = subject_in(request.subject, "subject", v) if request.HasField("subject") else None
        title = clean_text(request.title, "title", v)
        description = request.description.strip()
        if len(description) > 20000:
            v.add("description", "longer than 20000 characters")
        responsible = check_user(request.responsible_id, "responsible_id", v) or me()
        importance = Importance.NORMAL
        if request.importance:
            importance = enum_in(request.importance, pb.Importance, "IMPORTANCE_", Importance, "importance")
        participants = participants_in(list(request.participants), v)
        occurred = timestamp_in(request.occurred_at, "occurred_at", required=False)
        v.raise_if_any()
        row = await chains.register(
            self.db,
            self.directory,
            chains.Draft(
                kind=kind,
                title=title,
                responsible_id=responsible,
                subject=subject,
                description=description,
                participants=participants,
                importance=importance,
                occurred_at=occurred,
                request_id=rid,
            ),
        )
        return await self._out(row)

    async def GetInteraction(self, request: pb.GetInteractionRequest, context: ServicerContext) -> pb.Interaction:
        interaction_id = parse_id(request.id, "id")
        async with self.db.reading() as session:
            row = await session.get(InteractionRow, interaction_id)
        if row is None:
            raise NotFound(f"interaction {interaction_id} not found")
        return await self._out(row)

    async def GetChain(self, request: pb.GetChainRequest, context: ServicerContext) -> pb.Chain:
        which = request.WhichOneof("key")
        if which == "subject":
            v = Violations()
            subject = subject_in(request.subject, "subject", v)
            v.raise_if_any()
            if subject is None:
                raise InvalidArgument.single("subject", "is required")
            async with self.db.reading() as session:
                known: KnownSubject | None = await KnownSubjectRepository(session).get(subject)
            try:
                rows, title, _ = await chains.chain(self.db, subject.chain_id)
            except NotFound:
                if known is None:
                    raise NotFound(f"nothing is known of {subject.service}/{subject.type}/{subject.id}") from None
                rows, title = [], known.title
            return pb.Chain(
                chain_id=str(subject.chain_id),
                subject=pb.Subject(**subject.as_dict()),
                subject_title=title,
                interactions=[interaction_out(r, title) for r in rows],
            )
        if which != "chain_id":
            raise InvalidArgument.single("key", "give chain_id or subject")
        rows, title, found = await chains.chain(self.db, parse_id(request.chain_id, "chain_id"))
        return pb.Chain(
            chain_id=request.chain_id,
            subject=pb.Subject(**found.as_dict()) if found else None,
            subject_title=title,
            interactions=[interaction_out(r, title) for r in rows],
        )

    async def UpdateStatus(self, request: pb.UpdateStatusRequest, context: ServicerContext) -> pb.Interaction:
        interaction_id = parse_id(request.id, "id")
        v = Violations()
        change = chains.StatusChange(
            responsible_id=check_user(request.responsible_id, "responsible_id", v),
            postponed_until=timestamp_in(request.postponed_until, "postponed_until", required=False),
        )
        if request.status:
            change.status = enum_in(request.status, pb.InteractionStatus, "INTERACTION_STATUS_", Status, "status")
        if request.importance:
            change.importance = enum_in(request.importance, pb.Importance, "IMPORTANCE_", Importance, "importance")
        v.raise_if_any()
        return await self._out(await chains.update_status(self.db, interaction_id, change))

    async def ResolveParticipant(
        self, request: pb.ResolveParticipantRequest, context: ServicerContext
    ) -> pb.Interaction:
        interaction_id = parse_id(request.interaction_id, "interaction_id")
        partner_id = parse_id(request.partner_id, "partner_id")
        person_id = parse_id(request.person_id, "person_id") if request.person_id else None
        if request.participant_index < 0:
            raise InvalidArgument.single("participant_index", "must not be negative")
        row = await chains.resolve_by_hand(self.db, interaction_id, request.participant_index, partner_id, person_id)
        return await self._out(row)

    async def ListUnprocessed(
        self, request: pb.ListUnprocessedRequest, context: ServicerContext
    ) -> pb.ListUnprocessedResponse:
        size = page_size(request.page.page_size)
        token = PageToken.decode(request.page.page_token)
        after = None
        if token is not None:
            try:
                after = (datetime.fromisoformat(token.key), token.id)
            except ValueError:
                raise InvalidArgument.single("page.page_token", "not a page token this service issued") from None
        v = Violations()
        responsible = check_user(request.responsible_id, "responsible_id", v)
        v.raise_if_any()
        async with self.db.reading() as session:
            rows = list(await InteractionRepository(session).unprocessed(responsible, after, size + 1, utcnow()))
        more = len(rows) > size
        rows = rows[:size]
        titles = await _titles(self.db, rows)
        next_token = PageToken(rows[-1].occurred_at.isoformat(), rows[-1].id).encode() if more else ""
        return pb.ListUnprocessedResponse(
            interactions=[interaction_out(r, _title_of(titles, r)) for r in rows],
            page=common_pb2.PageResponse(next_page_token=next_token, total_size=-1),
        )

    async def CountUnprocessed(
        self, request: pb.CountUnprocessedRequest, context: ServicerContext
    ) -> pb.CountUnprocessedResponse:
        async with self.db.reading() as session:
            counts = await InteractionRepository(session).count_unprocessed(utcnow())
        return pb.CountUnprocessedResponse(
            per_user=[pb.UnprocessedCount(responsible_id=u, count=c) for u, c in counts],
            total=sum(c for _, c in counts),
        )

    async def IngestEmail(self, request: pb.IngestEmailRequest, context: ServicerContext) -> pb.Interaction:
        v = Violations()
        responsible = check_user(request.responsible_id, "responsible_id", v) or me()
        v.raise_if_any()
        return await self._out(await ingest_email(self.db, self.directory, request.raw_message, responsible))

    async def CreateNote(self, request: pb.CreateNoteRequest, context: ServicerContext) -> pb.Note:
        v = Violations()
        rid = request_id(request.request_id, v)
        title = clean_text(request.title, "title", v)
        text = request.text.strip()
        if len(text) > 20000:
            v.add("text", "longer than 20000 characters")
        subject = subject_in(request.subject, "subject", v) if request.HasField("subject") else None
        remind_at = timestamp_in(request.remind_at, "remind_at", required=False)
        v.raise_if_any()
        note, reminder = await reminders.create_note(
            self.db, author_id=me(), title=title, text=text, subject=subject, remind_at=remind_at, request_id=rid
        )
        return note_out(note, reminder)

    async def ListNotes(self, request: pb.ListNotesRequest, context: ServicerContext) -> pb.ListNotesResponse:
        v = Violations()
        subject = subject_in(request.subject, "subject", v) if request.HasField("subject") else None
        v.raise_if_any()
        found = await reminders.notes(self.db, author_id=me(), subject=subject)
        return pb.ListNotesResponse(notes=[note_out(n, r) for n, r in found])


def note_out(note: NoteRow, reminder: ReminderRow | None) -> pb.Note:
    return pb.Note(
        id=str(note.id),
        author_id=note.author_id,
        title=note.title,
        text=note.text,
        subject=subject_out(note.subject_service, note.subject_type, note.subject_id),
        remind_at=timestamp_out(reminder.due_at if reminder else None),
        reminded_at=timestamp_out(reminder.fired_at if reminder else None),
        created_at=timestamp_out(note.created_at),
    )


def grpc_services(db: Database, directory: Directory, feed_secret: str) -> list[GrpcService]:
    def service(name: str, servicer: object, add: object) -> GrpcService:
        return GrpcService(
            full_name=pb.DESCRIPTOR.services_by_name[name].full_name,
            servicer=servicer,
            add_to_server=add,  # type: ignore[arg-type]
        )

    return [
        service(
            "InteractionsService", InteractionsApi(db, directory), pb_grpc.add_InteractionsServiceServicer_to_server
        ),
        service("CalendarService", CalendarApi(db, feed_secret), pb_grpc.add_CalendarServiceServicer_to_server),
        service("AppointmentsService", AppointmentsApi(db), pb_grpc.add_AppointmentsServiceServicer_to_server),
        service("TasksService", TasksApi(db), pb_grpc.add_TasksServiceServicer_to_server),
    ]
