"""The calendar: events with time zones and RFC 5545 recurrence, views, and an iCalendar feed."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import NotFound
from crm_platform.outbox import add_event
from interactions.chains import require_known
from interactions.domain import EventState, Subject, event_transition, occurrences, period, recurrence_rule, series_end
from interactions.events import EventCancelled, EventCompleted, EventPlanned
from interactions.models import CalendarEventRow
from interactions.repository import CalendarRepository

SOURCE = "crm/interactions"


@dataclass
class EventDraft:
    owner_id: str
    title: str
    description: str
    location: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    recurrence: str
    subject: Subject | None
    request_id: str | None


def _event(row: CalendarEventRow, cls: type[EventPlanned | EventCompleted | EventCancelled]) -> EventPlanned:
    return cls(
        event_id=row.id,
        owner_id=row.owner_id,
        title=row.title,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        time_zone=row.time_zone,
        recurrence=row.recurrence,
    )


async def plan(db: Database, draft: EventDraft) -> CalendarEventRow:
    tz = ZoneInfo(draft.time_zone)
    rule = recurrence_rule(draft.recurrence, draft.starts_at, tz, "recurrence")
    ends = series_end(draft.starts_at, draft.ends_at, tz, rule)
    try:
        async with db.transaction() as session:
            repo = CalendarRepository(session)
            if draft.request_id and (earlier := await repo.by_request_id(draft.request_id)) is not None:
                return earlier
            if draft.subject is not None:
                await require_known(session, draft.subject)
            row = await repo.add(
                CalendarEventRow(
                    owner_id=draft.owner_id,
                    title=draft.title,
                    description=draft.description,
                    location=draft.location,
                    starts_at=draft.starts_at,
                    ends_at=draft.ends_at,
                    time_zone=draft.time_zone,
                    recurrence=draft.recurrence.strip().removeprefix("RRULE:"),
                    series_ends_at=ends,
                    state=EventState.PLANNED.value,
                    subject_service=draft.subject.service if draft.subject else None,
                    subject_type=draft.subject.type if draft.subject else None,
                    subject_id=draft.subject.id if draft.subject else None,
                    request_id=draft.request_id,
                )
            )
            add_event(session, _event(row, EventPlanned), source=SOURCE)
            return row
    except IntegrityError:
        if not draft.request_id:
            raise
        async with db.reading() as session:
            earlier = await CalendarRepository(session).by_request_id(draft.request_id)
        if earlier is None:
            raise
        return earlier


async def finish(db: Database, event_id: uuid.UUID, target: EventState) -> CalendarEventRow:
    async with db.transaction() as session:
        row = await CalendarRepository(session).get(event_id, lock=True)
        if row is None:
            raise NotFound(f"event {event_id} not found")
        event_transition(row.state, target)
        if row.state != target:
            row.state = target.value
            cls = EventCompleted if target == EventState.COMPLETED else EventCancelled
            add_event(session, _event(row, cls), source=SOURCE)
            await session.flush()
        return row


@dataclass(frozen=True)
class Shown:
    row: CalendarEventRow
    starts_at: datetime
    ends_at: datetime


async def view(
    db: Database, owner_id: str, kind: str, day: date, tz: ZoneInfo, include_cancelled: bool
) -> tuple[date, date, list[Shown]]:
    first, last, start, end = period(kind, day, tz)
    async with db.reading() as session:
        rows = await CalendarRepository(session).overlapping(owner_id, start, end, include_cancelled)
    shown = []
    for row in rows:
        row_tz = ZoneInfo(row.time_zone)
        rule = recurrence_rule(row.recurrence, row.starts_at, row_tz, "recurrence") if row.recurrence else None
        for s, e in occurrences(row.starts_at, row.ends_at, row_tz, rule, start, end):
            shown.append(Shown(row, s, e))
    shown.sort(key=lambda item: (item.starts_at, item.row.title))
    return first, last, shown


# --- iCalendar feed -------------------------------------------------------------------


def feed_token(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), f"ics:{user_id}".encode(), hashlib.sha256).hexdigest()[:40]


def feed_path(secret: str, user_id: str) -> str:
    return f"/calendar/{quote(user_id, safe='')}.ics?token={feed_token(secret, user_id)}"


_STATUS = {EventState.PLANNED: "CONFIRMED", EventState.COMPLETED: "CONFIRMED", EventState.CANCELLED: "CANCELLED"}


def render_ics(user_id: str, rows: list[CalendarEventRow]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//CRM platform//interactions//UK")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"CRM: {user_id}")
    for row in rows:
        tz = ZoneInfo(row.time_zone)
        event = Event()
        event.add("uid", f"{row.id}@crm-interactions")
        event.add("summary", row.title)
        event.add("dtstart", row.starts_at.astimezone(tz))
        event.add("dtend", row.ends_at.astimezone(tz))
        event.add("dtstamp", utcnow())
        event.add("status", _STATUS[EventState(row.state)])
        if row.description:
            event.add("description", row.description)
        if row.location:
            event.add("location", row.location)
        if row.recurrence:
            event.add("rrule", vRecur.from_ical(row.recurrence))
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def feed_route(db: Database, secret: str) -> Route:
    async def feed(request: Request) -> Response:
        user_id = request.path_params["user"]
        given = request.query_params.get("token", "")
        if not hmac.compare_digest(given, feed_token(secret, user_id)):
            return PlainTextResponse("bad or missing token", status_code=403)
        async with db.reading() as session:
            rows = list(await CalendarRepository(session).of_owner(user_id))
        return Response(render_ics(user_id, rows), media_type="text/calendar; charset=utf-8")

    return Route("/calendar/{user}.ics", feed, methods=["GET"])
