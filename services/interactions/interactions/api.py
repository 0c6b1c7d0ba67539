"""crm.interactions.v1 servicers: decode, call the use case, encode."""

from __future__ import annotations

import uuid
from datetime import datetime

from crm.common.v1 import common_pb2
from crm.interactions.v1 import interactions_pb2 as pb
from crm.interactions.v1 import interactions_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.auth import current_principal
from crm_platform.clock import utcnow
from crm_platform.contacts import normalize_email, normalize_phone
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, NotFound, Violations
from crm_platform.grpc_server import GrpcService
from crm_platform.ids import parse_id
from crm_platform.paging import PageToken, page_size
from crm_platform.proto_codec import enum_in, enum_out, timestamp_in, timestamp_out
from interactions import booking, calendar, chains, reminders, tasks
from interactions.directory import Directory
from interactions.domain import (
    EventState,
    Importance,
    Kind,
    Status,
    Subject,
    check_event_times,
    check_subject,
    check_user,
    clean_text,
    parse_date,
    parse_hhmm,
    zone,
)
from interactions.intake import ingest_email
from interactions.models import (
    AppointmentRow,
    CalendarEventRow,
    InteractionRow,
    KnownSubject,
    NoteRow,
    OfferingRow,
    ReminderRow,
    SpecialistRow,
    TaskRow,
)
from interactions.repository import InteractionRepository, KnownSubjectRepository


def me() -> str:
    return current_principal().subject


def request_id(value: str, v: Violations) -> str | None:
    if len(value) > 200:
        v.add("request_id", "longer than 200 characters")
    return value.strip() or None


def subject_in(message: pb.Subject, field: str, v: Violations) -> Subject | None:
    return check_subject(message.service.strip(), message.type.strip(), message.id.strip(), field, v)


def subject_out(service: str | None, kind: str | None, ident: uuid.UUID | None) -> pb.Subject | None:
    return pb.Subject(service=service, type=kind, id=str(ident)) if service and kind and ident else None


def interaction_out(row: InteractionRow, title: str = "") -> pb.Interaction:
    return pb.Interaction(
        id=str(row.id),
        kind=enum_out(row.kind, pb.InteractionKind, "INTERACTION_KIND_"),
        subject=subject_out(row.subject_service, row.subject_type, row.subject_id),
        subject_title=title,
        chain_id=str(row.chain_id),
        title=row.title,
        description=row.description,
        participants=[
            pb.Participant(
                name=p.get("name", ""),
                phone=p.get("phone", ""),
                email=p.get("email", ""),
                address=p.get("address", ""),
                partner_id=p.get("partner_id", ""),
                person_id=p.get("person_id", ""),
                resolution=enum_out(p.get("resolution", "unresolved"), pb.Resolution, "RESOLUTION_"),
            )
            for p in row.participants
        ],
        status=enum_out(row.status, pb.InteractionStatus, "INTERACTION_STATUS_"),
        importance=enum_out(row.importance, pb.Importance, "IMPORTANCE_"),
        responsible_id=row.responsible_id,
        occurred_at=timestamp_out(row.occurred_at),
        postponed_until=timestamp_out(row.postponed_until),
        partner_id=str(row.partner_id) if row.partner_id else "",
        created_at=timestamp_out(row.created_at),
        processed_at=timestamp_out(row.processed_at),
    )


def participants_in(items: list[pb.Participant], v: Violations) -> list[dict[str, str]]:
    out = []
    if len(items) > 50:
        v.add("participants", "at most 50")
    for i, item in enumerate(items[:50]):
        field = f"participants[{i}]"
        person: dict[str, str] = {}
        name = clean_text(item.name, f"{field}.name", v, required=False)
        if name:
            person["name"] = name
        for key, normalize in (("phone", normalize_phone), ("email", normalize_email)):
            value = getattr(item, key).strip()
            if value:
                try:
                    person[key] = normalize(value, f"{field}.{key}")
                except InvalidArgument as exc:
                    v.add(f"{field}.{key}", exc.violations[0].description)
        address = clean_text(item.address, f"{field}.address", v, required=False, limit=500)
        if address:
            person["address"] = address
        if not person:
            v.add(field, "give at least a name, phone, e-mail or address")
        out.append(person)
    return out


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


# --- Calendar -------------------------------------------------------------------------


def event_out(row: CalendarEventRow) -> pb.CalendarEvent:
    return pb.CalendarEvent(
        id=str(row.id),
        owner_id=row.owner_id,
        title=row.title,
        description=row.description,
        location=row.location,
        starts_at=timestamp_out(row.starts_at),
        ends_at=timestamp_out(row.ends_at),
        time_zone=row.time_zone,
        recurrence=row.recurrence,
        state=enum_out(row.state, pb.EventState, "EVENT_STATE_"),
        subject=subject_out(row.subject_service, row.subject_type, row.subject_id),
    )


_VIEWS = {pb.CALENDAR_VIEW_DAY: "day", pb.CALENDAR_VIEW_WEEK: "week", pb.CALENDAR_VIEW_MONTH: "month"}


class CalendarApi(pb_grpc.CalendarServiceServicer):
    def __init__(self, db: Database, feed_secret: str) -> None:
        self.db = db
        self.feed_secret = feed_secret

    async def PlanEvent(self, request: pb.PlanEventRequest, context: ServicerContext) -> pb.CalendarEvent:
        v = Violations()
        rid = request_id(request.request_id, v)
        owner = check_user(request.owner_id, "owner_id", v) or me()
        title = clean_text(request.title, "title", v)
        location = clean_text(request.location, "location", v, required=False)
        starts = timestamp_in(request.starts_at, "starts_at", required=False)
        ends = timestamp_in(request.ends_at, "ends_at", required=False)
        check_event_times(starts, ends, v)
        subject = subject_in(request.subject, "subject", v) if request.HasField("subject") else None
        v.raise_if_any()
        tz = zone(request.time_zone, "time_zone")
        assert starts is not None
        assert ends is not None
        row = await calendar.plan(
            self.db,
            calendar.EventDraft(
                owner_id=owner,
                title=title,
                description=request.description.strip()[:20000],
                location=location,
                starts_at=starts,
                ends_at=ends,
                time_zone=tz.key,
                recurrence=request.recurrence,
                subject=subject,
                request_id=rid,
            ),
        )
        return event_out(row)

    async def CompleteEvent(self, request: pb.EventRef, context: ServicerContext) -> pb.CalendarEvent:
        return event_out(await calendar.finish(self.db, parse_id(request.id, "id"), EventState.COMPLETED))

    async def CancelEvent(self, request: pb.EventRef, context: ServicerContext) -> pb.CalendarEvent:
        return event_out(await calendar.finish(self.db, parse_id(request.id, "id"), EventState.CANCELLED))

    async def ListCalendar(self, request: pb.ListCalendarRequest, context: ServicerContext) -> pb.ListCalendarResponse:
        v = Violations()
        owner = check_user(request.owner_id, "owner_id", v) or me()
        view = _VIEWS.get(request.view)
        if view is None:
            v.add("view", "choose CALENDAR_VIEW_DAY, _WEEK or _MONTH")
        v.raise_if_any()
        day = parse_date(request.date, "date")
        tz = zone(request.time_zone, "time_zone")
        first, last, shown = await calendar.view(self.db, owner, view or "day", day, tz, request.include_cancelled)
        return pb.ListCalendarResponse(
            period_start=first.isoformat(),
            period_end=last.isoformat(),
            occurrences=[
                pb.Occurrence(
                    event_id=str(s.row.id),
                    title=s.row.title,
                    starts_at=timestamp_out(s.starts_at),
                    ends_at=timestamp_out(s.ends_at),
                    local_start=s.starts_at.astimezone(tz).isoformat(),
                    local_end=s.ends_at.astimezone(tz).isoformat(),
                    state=enum_out(s.row.state, pb.EventState, "EVENT_STATE_"),
                    recurring=bool(s.row.recurrence),
                )
                for s in shown
            ],
        )

    async def GetCalendarFeed(self, request: pb.GetCalendarFeedRequest, context: ServicerContext) -> pb.CalendarFeed:
        return pb.CalendarFeed(path=calendar.feed_path(self.feed_secret, me()))


# --- Appointments ---------------------------------------------------------------------


def specialist_out(row: SpecialistRow) -> pb.Specialist:
    return pb.Specialist(
        id=str(row.id),
        name=row.name,
        time_zone=row.time_zone,
        hours=[
            pb.WorkingHours(weekday=int(str(h["weekday"])), start=str(h["start"]), end=str(h["end"])) for h in row.hours
        ],
    )


def appointment_out(row: AppointmentRow) -> pb.Appointment:
    return pb.Appointment(
        id=str(row.id),
        specialist_id=str(row.specialist_id),
        offering_id=str(row.offering_id),
        client_partner_id=str(row.client_partner_id) if row.client_partner_id else "",
        client_name=row.client_name,
        client_phone=row.client_phone,
        starts_at=timestamp_out(row.starts_at),
        ends_at=timestamp_out(row.ends_at),
        status=enum_out(row.status, pb.AppointmentStatus, "APPOINTMENT_STATUS_"),
    )


def offering_out(row: OfferingRow) -> pb.Offering:
    return pb.Offering(id=str(row.id), name=row.name, duration_minutes=row.duration_minutes)


class AppointmentsApi(pb_grpc.AppointmentsServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def CreateSpecialist(self, request: pb.CreateSpecialistRequest, context: ServicerContext) -> pb.Specialist:
        v = Violations()
        name = clean_text(request.name, "name", v)
        hours: list[dict[str, object]] = []
        if not request.hours:
            v.add("hours", "give the working hours")
        for i, item in enumerate(request.hours):
            field = f"hours[{i}]"
            if not 1 <= item.weekday <= 7:
                v.add(f"{field}.weekday", "must be 1 (Monday) to 7 (Sunday)")
            try:
                start, end = parse_hhmm(item.start, f"{field}.start"), parse_hhmm(item.end, f"{field}.end")
            except InvalidArgument as exc:
                v.add(exc.violations[0].field, exc.violations[0].description)
                continue
            if end <= start:
                v.add(f"{field}.end", "must be after start")
            hours.append({"weekday": item.weekday, "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")})
        v.raise_if_any()
        tz = zone(request.time_zone, "time_zone")
        return specialist_out(await booking.create_specialist(self.db, name, tz.key, hours))

    async def CreateOffering(self, request: pb.CreateOfferingRequest, context: ServicerContext) -> pb.Offering:
        v = Violations()
        name = clean_text(request.name, "name", v)
        if not 5 <= request.duration_minutes <= 24 * 60:
            v.add("duration_minutes", "must be between 5 and 1440")
        v.raise_if_any()
        return offering_out(await booking.create_offering(self.db, name, request.duration_minutes))

    async def ListFreeSlots(
        self, request: pb.ListFreeSlotsRequest, context: ServicerContext
    ) -> pb.ListFreeSlotsResponse:
        specialist_id = parse_id(request.specialist_id, "specialist_id")
        offering_id = parse_id(request.offering_id, "offering_id")
        day = parse_date(request.date, "date")
        found = await booking.slots(self.db, specialist_id, offering_id, day)
        return pb.ListFreeSlotsResponse(
            slots=[pb.Slot(starts_at=timestamp_out(s), ends_at=timestamp_out(e)) for s, e in found]
        )

    async def BookAppointment(self, request: pb.BookAppointmentRequest, context: ServicerContext) -> pb.Appointment:
        v = Violations()
        rid = request_id(request.request_id, v)
        specialist_id = parse_id(request.specialist_id, "specialist_id")
        offering_id = parse_id(request.offering_id, "offering_id")
        starts = timestamp_in(request.starts_at, "starts_at", required=False)
        if starts is None:
            v.add("starts_at", "is required")
        partner_id = None
        if request.client_partner_id:
            try:
                partner_id = uuid.UUID(request.client_partner_id)
            except ValueError:
                v.add("client_partner_id", "must be a UUID")
        name = clean_text(request.client_name, "client_name", v, required=not partner_id)
        phone = ""
        if request.client_phone.strip():
            try:
                phone = normalize_phone(request.client_phone, "client_phone")
            except InvalidArgument as exc:
                v.add("client_phone", exc.violations[0].description)
        v.raise_if_any()
        assert starts is not None
        row = await booking.book(
            self.db,
            booking.Booking(
                specialist_id=specialist_id,
                offering_id=offering_id,
                starts_at=starts,
                client_partner_id=partner_id,
                client_name=name,
                client_phone=phone,
                request_id=rid,
            ),
        )
        return appointment_out(row)

    async def CancelAppointment(self, request: pb.CancelAppointmentRequest, context: ServicerContext) -> pb.Appointment:
        return appointment_out(await booking.cancel(self.db, parse_id(request.id, "id")))

    async def ListAppointments(
        self, request: pb.ListAppointmentsRequest, context: ServicerContext
    ) -> pb.ListAppointmentsResponse:
        specialist_id = parse_id(request.specialist_id, "specialist_id")
        start = timestamp_in(getattr(request, "from"), "from")
        end = timestamp_in(request.to, "to")
        assert start is not None
        assert end is not None
        if end <= start:
            raise InvalidArgument.single("to", "must be after from")
        rows, minutes = await booking.load(self.db, specialist_id, start, end)
        return pb.ListAppointmentsResponse(appointments=[appointment_out(r) for r in rows], booked_minutes=minutes)


# --- Tasks ----------------------------------------------------------------------------


def task_out(row: TaskRow) -> pb.Task:
    return pb.Task(
        id=str(row.id),
        request_id=row.request_id or "",
        title=row.title,
        description=row.description,
        author_id=row.author_id,
        performer_id=row.performer_id,
        checker_id=row.checker_id,
        deadline=timestamp_out(row.deadline),
        subject=subject_out(row.subject_service, row.subject_type, row.subject_id),
        state=enum_out(row.state, pb.TaskState, "TASK_STATE_"),
        comment=row.comment,
        created_at=timestamp_out(row.created_at),
        done_at=timestamp_out(row.done_at),
    )


_GROUPING = {
    pb.TASK_GROUPING_UNSPECIFIED: "deadline",
    pb.TASK_GROUPING_DEADLINE: "deadline",
    pb.TASK_GROUPING_AUTHOR: "author",
    pb.TASK_GROUPING_SUBJECT: "subject",
}


class TasksApi(pb_grpc.TasksServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def CreateTask(self, request: pb.CreateTaskRequest, context: ServicerContext) -> pb.Task:
        v = Violations()
        rid = request_id(request.request_id, v)
        title = clean_text(request.title, "title", v)
        performer = check_user(request.performer_id, "performer_id", v, required=True)
        checker = check_user(request.checker_id, "checker_id", v)
        deadline = timestamp_in(request.deadline, "deadline", required=False)
        subject = subject_in(request.subject, "subject", v) if request.HasField("subject") else None
        if len(request.description) > 20000:
            v.add("description", "longer than 20000 characters")
        v.raise_if_any()
        draft = tasks.TaskDraft(
            title=title,
            description=request.description.strip(),
            author_id=me(),
            performer_id=performer,
            checker_id=checker,
            deadline=deadline,
            subject=subject,
            request_id=rid,
        )
        return task_out(await tasks.create(self.db, draft))

    async def GetTask(self, request: pb.TaskRef, context: ServicerContext) -> pb.Task:
        return task_out(await tasks.get(self.db, parse_id(request.id, "id")))

    async def AcceptTask(self, request: pb.TaskRef, context: ServicerContext) -> pb.Task:
        return task_out(await tasks.accept(self.db, parse_id(request.id, "id"), me()))

    async def ForwardTask(self, request: pb.ForwardTaskRequest, context: ServicerContext) -> pb.Task:
        task_id = parse_id(request.id, "id")
        v = Violations()
        performer = check_user(request.performer_id, "performer_id", v, required=True)
        comment = request.comment.strip()[:4000]
        v.raise_if_any()
        return task_out(await tasks.forward(self.db, task_id, me(), performer, comment))

    async def CompleteTask(self, request: pb.CompleteTaskRequest, context: ServicerContext) -> pb.Task:
        task_id = parse_id(request.id, "id")
        return task_out(await tasks.complete(self.db, task_id, me(), request.comment.strip()[:4000]))

    async def CheckTask(self, request: pb.CheckTaskRequest, context: ServicerContext) -> pb.Task:
        task_id = parse_id(request.id, "id")
        comment = request.comment.strip()[:4000]
        if not request.accepted and not comment:
            raise InvalidArgument.single("comment", "say why the task is returned")
        return task_out(await tasks.check(self.db, task_id, me(), request.accepted, comment))

    async def ListTasks(self, request: pb.ListTasksRequest, context: ServicerContext) -> pb.ListTasksResponse:
        v = Violations()
        performer = check_user(request.performer_id, "performer_id", v)
        author = check_user(request.author_id, "author_id", v)
        grouping = _GROUPING.get(request.grouping)
        if grouping is None:
            v.add("grouping", f"unknown value {request.grouping}")
        v.raise_if_any()
        tz = zone(request.time_zone, "time_zone")
        if performer == "me" or (not performer and not author):
            performer = me()
        groups = await tasks.grouped(
            self.db,
            performer_id=performer,
            author_id=author,
            grouping=grouping or "deadline",
            tz=tz,
            include_closed=request.include_closed,
        )
        return pb.ListTasksResponse(
            groups=[pb.TaskGroup(key=key, tasks=[task_out(r) for r in rows]) for key, rows in groups]
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
