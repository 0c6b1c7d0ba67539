"""Interactions' pure rules: time zones, recurrence, calendar periods, slots, task rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_platform.errors import FailedPrecondition, InvalidArgument, Violations
from interactions.domain import (
    check_subject,
    deadline_group,
    free_slots,
    must_hold,
    occurrences,
    period,
    recurrence_rule,
    series_end,
    within_schedule,
    working_intervals,
    zone,
)

KYIV = ZoneInfo("Europe/Kyiv")


def refused_field(call: Callable[[], object]) -> str | None:
    """The field an InvalidArgument names, or None when the call succeeds."""
    try:
        call()
    except InvalidArgument as exc:
        return exc.violations[0].field
    return None


def test_unknown_time_zone_is_invalid_argument_naming_the_field() -> None:
    with pytest.raises(InvalidArgument) as caught:
        zone("Europe/Atlantis", "time_zone")
    assert caught.value.violations[0].field == "time_zone"
    assert zone("", "time_zone").key == "Europe/Kyiv"
    assert zone("America/New_York", "time_zone").key == "America/New_York"


@given(st.text(max_size=40))
def test_zone_either_resolves_or_names_the_field(name: str) -> None:
    assert refused_field(lambda: zone(name, "tz")) in (None, "tz")


def test_weekly_meeting_keeps_its_local_time_across_daylight_saving() -> None:
    # Mondays 10:00 Kyiv time, from before the switch to summer time (last Sunday of March).
    first = datetime(2026, 3, 16, 10, 0, tzinfo=KYIV).astimezone(UTC)
    rule = recurrence_rule("FREQ=WEEKLY;BYDAY=MO;COUNT=4", first, KYIV, "recurrence")
    found = occurrences(first, first + timedelta(hours=1), KYIV, rule, first, first + timedelta(days=40))
    assert [s.astimezone(KYIV).hour for s, _ in found] == [10, 10, 10, 10]
    assert [s.hour for s, _ in found] == [8, 8, 7, 7]  # UTC shifts by the hour of summer time
    assert series_end(first, first + timedelta(hours=1), KYIV, rule) == found[-1][1]


def test_endless_rule_has_no_series_end_and_a_one_off_ends_with_itself() -> None:
    first = datetime(2026, 1, 5, 9, tzinfo=UTC)
    rule = recurrence_rule("FREQ=DAILY", first, KYIV, "recurrence")
    assert series_end(first, first + timedelta(hours=1), KYIV, rule) is None
    assert series_end(first, first + timedelta(hours=1), KYIV, None) == first + timedelta(hours=1)


@pytest.mark.parametrize("rule", ["FREQ=SOMETIMES", "DTSTART:20260101T000000\nRRULE:FREQ=DAILY", "BYDAY=XX"])
def test_bad_rule_is_invalid_argument(rule: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        recurrence_rule(rule, datetime(2026, 1, 5, tzinfo=UTC), KYIV, "recurrence")
    assert caught.value.violations[0].field == "recurrence"


@given(st.text(max_size=60))
def test_any_rule_text_is_either_accepted_or_refused_with_the_field(text: str) -> None:
    assert refused_field(lambda: recurrence_rule(text, datetime(2026, 1, 5, tzinfo=UTC), KYIV, "r")) in (None, "r")


def test_periods_of_day_week_and_month_in_the_users_zone() -> None:
    first, last, start, _ = period("week", date(2026, 11, 26), KYIV)
    assert (first, last) == (date(2026, 11, 23), date(2026, 11, 29))
    assert start == datetime(2026, 11, 22, 22, tzinfo=UTC)
    first, last, _, _ = period("month", date(2026, 2, 14), KYIV)
    assert (first, last) == (date(2026, 2, 1), date(2026, 2, 28))
    first, last, _, _ = period("day", date(2026, 2, 14), KYIV)
    assert first == last == date(2026, 2, 14)


def test_free_slots_skip_bookings_and_stay_inside_the_working_hours() -> None:
    hours = [{"weekday": 1, "start": "09:00", "end": "12:00"}, {"weekday": 1, "start": "13:00", "end": "14:00"}]
    monday = date(2026, 12, 7)
    intervals = working_intervals(hours, monday, KYIV)
    booked = [(datetime(2026, 12, 7, 8, tzinfo=UTC), datetime(2026, 12, 7, 9, tzinfo=UTC))]  # 10:00-11:00 Kyiv
    slots = free_slots(intervals, booked, timedelta(minutes=60))
    assert [s.astimezone(KYIV).hour for s, _ in slots] == [9, 11, 13]
    assert within_schedule(hours, KYIV, slots[0][0], slots[0][1])
    assert not within_schedule(hours, KYIV, slots[0][0] - timedelta(hours=1), slots[0][0])
    assert working_intervals(hours, monday + timedelta(days=1), KYIV) == []


def test_only_the_holder_of_an_open_task_may_forward_it() -> None:
    with pytest.raises(FailedPrecondition, match="do not hold"):
        must_hold("oksana", "taras", "assigned", "forward")
    with pytest.raises(FailedPrecondition, match="open task"):
        must_hold("oksana", "oksana", "checked", "forward")
    must_hold("oksana", "oksana", "accepted", "forward")


def test_deadline_groups() -> None:
    now = datetime(2026, 11, 25, 10, tzinfo=UTC)  # a Wednesday
    assert deadline_group(now - timedelta(minutes=1), now, KYIV) == "overdue"
    assert deadline_group(now + timedelta(hours=2), now, KYIV) == "today"
    assert deadline_group(now + timedelta(days=2), now, KYIV) == "this_week"
    assert deadline_group(now + timedelta(days=9), now, KYIV) == "later"
    assert deadline_group(None, now, KYIV) == "no_deadline"


def test_subject_types_are_checked() -> None:
    v = Violations()
    assert check_subject("", "", "", "subject", v) is None
    assert check_subject("deals", "deal", str(uuid.uuid4()), "subject", v) is not None
    assert check_subject("deals", "claim", str(uuid.uuid4()), "subject", v) is None
    assert check_subject("claims", "claim", "nope", "subject", v) is None
    with pytest.raises(InvalidArgument) as caught:
        v.raise_if_any()
    assert [x.field for x in caught.value.violations] == ["subject.type", "subject.id"]
