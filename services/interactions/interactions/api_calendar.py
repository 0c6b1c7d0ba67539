"""crm.interactions.v1.CalendarService: decode, call the use case, encode."""

from __future__ import annotations

from crm.interactions.v1 import interactions_pb2 as pb
from crm.interactions.v1 import interactions_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.db import Database
from crm_platform.errors import Violations
from crm_platform.ids import parse_id
from crm_platform.proto_codec import enum_out, timestamp_in, timestamp_out
from interactions import calendar
from interactions.codec import me, request_id, subject_in, subject_out
from interactions.domain import EventState, check_event_times, check_user, clean_text, parse_date, zone
from interactions.models import CalendarEventRow


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
