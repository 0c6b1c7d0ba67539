"""Interactions' rules. Pure Python, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from crm_platform.errors import FailedPrecondition, InvalidArgument, Violations

MAX_TITLE = 300
MAX_USER = 120
DEFAULT_ZONE = "Europe/Kyiv"
MAX_OCCURRENCES = 1000
MAX_EVENT_LENGTH = timedelta(days=31)
CHAIN_NAMESPACE = uuid.UUID("6f1c2a52-9d0e-4c8e-a7f5-2b1f1c3e7a10")

SUBJECT_TYPES = frozenset(
    {("deals", "deal"), ("deals", "order"), ("claims", "claim"), ("partners", "lead"), ("partners", "partner")}
)


class Kind(StrEnum):
    MEETING = "meeting"
    PLANNED = "planned"
    INCOMING_CALL = "incoming_call"
    OUTGOING_CALL = "outgoing_call"
    EMAIL = "email"
    SMS = "sms"
    OTHER = "other"


class Status(StrEnum):
    NEW = "new"
    IN_WORK = "in_work"
    PROCESSED = "processed"


class Importance(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class Resolution(StrEnum):
    UNRESOLVED = "unresolved"
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class EventState(StrEnum):
    PLANNED = "planned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class TaskState(StrEnum):
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    DONE = "done"
    CHECKED = "checked"
    RETURNED = "returned"


OPEN_TASK_STATES = (TaskState.ASSIGNED, TaskState.ACCEPTED, TaskState.RETURNED)


@dataclass(frozen=True, slots=True)
class Subject:
    service: str
    type: str
    id: uuid.UUID

    def as_dict(self) -> dict[str, str]:
        return {"service": self.service, "type": self.type, "id": str(self.id)}

    @property
    def chain_id(self) -> uuid.UUID:
        """Every interaction on one subject shares this chain."""
        return uuid.uuid5(CHAIN_NAMESPACE, f"{self.service}/{self.type}/{self.id}")


def check_subject(service: str, kind: str, ident: str, field: str, v: Violations) -> Subject | None:
    """None when the subject is left empty; a violation when it is half filled or of an unknown type."""
    if not (service or kind or ident):
        return None
    if (service, kind) not in SUBJECT_TYPES:
        known = ", ".join(f"{s}/{t}" for s, t in sorted(SUBJECT_TYPES))
        v.add(f"{field}.type", f"unknown subject type {service}/{kind}; one of {known}")
        return None
    try:
        return Subject(service, kind, uuid.UUID(ident))
    except ValueError:
        v.add(f"{field}.id", "must be a UUID")
        return None


def clean_text(value: str, field: str, v: Violations, *, required: bool = True, limit: int = MAX_TITLE) -> str:
    clean = " ".join(value.split())
    if required and not clean:
        v.add(field, "must not be empty")
    elif len(clean) > limit:
        v.add(field, f"longer than {limit} characters")
    return clean


def check_user(value: str, field: str, v: Violations, *, required: bool = False) -> str:
    clean = value.strip()
    if required and not clean:
        v.add(field, "must not be empty")
    if len(clean) > MAX_USER:
        v.add(field, f"longer than {MAX_USER} characters")
    return clean


def zone(name: str, field: str) -> ZoneInfo:
    """An IANA time zone; an unknown one is the caller's mistake."""
    text = name.strip() or DEFAULT_ZONE
    try:
        if "/" not in text and text != "UTC":
            raise ZoneInfoNotFoundError(text)
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument.single(field, f"unknown time zone {name!r}; use an IANA name like Europe/Kyiv") from None


def parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument.single(field, "must be a date YYYY-MM-DD") from None


# --- Calendar -------------------------------------------------------------------------


def recurrence_rule(rule: str, first_start: datetime, tz: ZoneInfo, field: str) -> rrule | None:
    """The RFC 5545 RRULE, anchored at the first start's local time (so 10:00 stays 10:00 across DST)."""
    text = rule.strip().removeprefix("RRULE:")
    if not text:
        return None
    if len(text) > 500:
        raise InvalidArgument.single(field, "longer than 500 characters")
    if "DTSTART" in text.upper() or "\n" in text:
        raise InvalidArgument.single(field, "give only the RRULE value, e.g. FREQ=WEEKLY;BYDAY=MO")
    local = first_start.astimezone(tz).replace(tzinfo=None)
    try:
        parsed = rrulestr(text, dtstart=local, ignoretz=True)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument.single(field, f"not an RFC 5545 rule: {exc}") from None
    if not isinstance(parsed, rrule):
        raise InvalidArgument.single(field, "must be a single RRULE")
    return parsed


def _to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz).astimezone(UTC)


def occurrences(
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo,
    rule: rrule | None,
    window_start: datetime,
    window_end: datetime,
) -> list[tuple[datetime, datetime]]:
    """Occurrences (UTC start, end) that overlap [window_start, window_end)."""
    duration = ends_at - starts_at
    if rule is None:
        return [(starts_at, ends_at)] if starts_at < window_end and ends_at > window_start else []
    lo = (window_start - duration).astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    hi = window_end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    found = []
    for local in rule.between(lo, hi, inc=True):
        start = _to_utc(local, tz)
        end = start + duration
        if start < window_end and end > window_start:
            found.append((start, end))
        if len(found) >= MAX_OCCURRENCES:
            break
    return found


def series_end(starts_at: datetime, ends_at: datetime, tz: ZoneInfo, rule: rrule | None) -> datetime | None:
    """The end of the last occurrence, or None for a series without end."""
    if rule is None:
        return ends_at
    if rule._count is None and rule._until is None:
        return None
    last = None
    for index, local in enumerate(rule):
        last = local
        if index > 100_000:
            return None
    if last is None:
        return ends_at
    return _to_utc(last, tz) + (ends_at - starts_at)


def period(view: str, day: date, tz: ZoneInfo) -> tuple[date, date, datetime, datetime]:
    """First and last day of the view around `day`, and its UTC bounds."""
    if view == "day":
        first, last = day, day
    elif view == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=6)
    else:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        last = following - timedelta(days=1)
    start = datetime.combine(first, time(), tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC)
    return first, last, start, end


def check_event_times(starts_at: datetime | None, ends_at: datetime | None, v: Violations) -> None:
    if starts_at is None:
        v.add("starts_at", "is required")
    if ends_at is None:
        v.add("ends_at", "is required")
    if starts_at and ends_at and ends_at <= starts_at:
        v.add("ends_at", "must be after starts_at")
    if starts_at and ends_at and ends_at - starts_at > MAX_EVENT_LENGTH:
        v.add("ends_at", f"an event lasts at most {MAX_EVENT_LENGTH.days} days")


def event_transition(state: str, target: EventState) -> None:
    if state == target:
        return
    if state != EventState.PLANNED:
        raise FailedPrecondition(f"the event is already {state}", rule="event_planned")


# --- Appointments ---------------------------------------------------------------------


def parse_hhmm(value: str, field: str) -> time:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise InvalidArgument.single(field, "must be a time HH:MM") from None
    return parsed.replace(second=0, microsecond=0)


def working_intervals(hours: list[dict[str, object]], day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The specialist's working time on a local day, in UTC."""
    out = []
    for item in hours:
        if int(str(item["weekday"])) != day.isoweekday():
            continue
        start = datetime.combine(day, time.fromisoformat(str(item["start"])), tz).astimezone(UTC)
        end = datetime.combine(day, time.fromisoformat(str(item["end"])), tz).astimezone(UTC)
        out.append((start, end))
    return sorted(out)


def free_slots(
    intervals: list[tuple[datetime, datetime]],
    booked: list[tuple[datetime, datetime]],
    duration: timedelta,
    not_before: datetime | None = None,
) -> list[tuple[datetime, datetime]]:
    """Slots of `duration`, back to back from each interval's start, that overlap no booking."""
    slots = []
    for start, end in intervals:
        cursor = start
        while cursor + duration <= end:
            slot_end = cursor + duration
            clash = any(b_start < slot_end and b_end > cursor for b_start, b_end in booked)
            if not clash and (not_before is None or cursor >= not_before):
                slots.append((cursor, slot_end))
            cursor = slot_end
    return slots


def within_schedule(hours: list[dict[str, object]], tz: ZoneInfo, start: datetime, end: datetime) -> bool:
    day = start.astimezone(tz).date()
    return any(s <= start and end <= e for s, e in working_intervals(hours, day, tz))


# --- Tasks ----------------------------------------------------------------------------


def must_hold(performer_id: str, caller: str, state: str, action: str) -> None:
    if performer_id != caller:
        raise FailedPrecondition(
            f"only the task's performer ({performer_id}) may {action} it; you do not hold this task",
            rule="task_holder",
        )
    if state not in OPEN_TASK_STATES:
        raise FailedPrecondition(f"the task is {state}; only an open task can be {action}ed", rule="task_open")


def deadline_group(deadline: datetime | None, now: datetime, tz: ZoneInfo) -> str:
    if deadline is None:
        return "no_deadline"
    if deadline < now:
        return "overdue"
    local, today = deadline.astimezone(tz).date(), now.astimezone(tz).date()
    if local == today:
        return "today"
    if local.isocalendar()[:2] == today.isocalendar()[:2]:
        return "this_week"
    return "later"


DEADLINE_GROUPS = ("overdue", "today", "this_week", "later", "no_deadline")
