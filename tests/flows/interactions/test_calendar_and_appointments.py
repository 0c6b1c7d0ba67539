"""The calendar (recurrence, time zones, views, the .ics feed) and appointments without double booking."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import httpx
import icalendar
import pytest
from crm.interactions.v1 import interactions_pb2 as pb
from crm.interactions.v1 import interactions_pb2_grpc as pb_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.grpc_errors import field_violations
from crm_platform.localrun import ServiceProcess
from crm_platform.testing import KafkaProbe, auth

from .conftest import as_user

pytestmark = pytest.mark.flow
KYIV = ZoneInfo("Europe/Kyiv")


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def test_weekly_meeting_shows_in_month_view_and_in_the_ics_feed(
    interactions: ServiceProcess, cal: pb_grpc.CalendarServiceStub
) -> None:
    user = f"oksana.{uuid.uuid4().hex[:6]}"
    first = datetime(2026, 12, 7, 10, 0, tzinfo=KYIV)  # a Monday
    async with KafkaProbe("crm.interactions.interaction.v1") as probe:
        event = await cal.PlanEvent(
            pb.PlanEventRequest(
                request_id=str(uuid.uuid4()),
                title="Планірка відділу продажів",
                location="Київ, вул. Хрещатик, 22, переговорна 3",
                starts_at=ts(first),
                ends_at=ts(first + timedelta(minutes=45)),
                time_zone="Europe/Kyiv",
                recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=10",
            ),
            metadata=as_user(user),
        )
        await probe.wait_for(lambda r: r.key == event.id.encode())
    assert event.state == pb.EVENT_STATE_PLANNED
    one_off = await cal.PlanEvent(
        pb.PlanEventRequest(
            title="Зустріч з ТОВ «Агросвіт»",
            starts_at=ts(datetime(2026, 12, 16, 14, tzinfo=KYIV)),
            ends_at=ts(datetime(2026, 12, 16, 15, tzinfo=KYIV)),
            time_zone="Europe/Kyiv",
        ),
        metadata=as_user(user),
    )
    month = await cal.ListCalendar(
        pb.ListCalendarRequest(view=pb.CALENDAR_VIEW_MONTH, date="2026-12-20", time_zone="Europe/Kyiv"),
        metadata=as_user(user),
    )
    assert (month.period_start, month.period_end) == ("2026-12-01", "2026-12-31")
    mondays = [o for o in month.occurrences if o.event_id == event.id]
    assert [o.local_start[:16] for o in mondays] == [f"2026-12-{d:02d}T10:00" for d in (7, 14, 21, 28)]
    assert all(o.recurring for o in mondays)
    assert one_off.id in [o.event_id for o in month.occurrences]
    week = await cal.ListCalendar(
        pb.ListCalendarRequest(view=pb.CALENDAR_VIEW_WEEK, date="2026-12-16", time_zone="America/New_York"),
        metadata=as_user(user),
    )
    assert sorted(o.local_start for o in week.occurrences) == ["2026-12-14T03:00:00-05:00", "2026-12-16T07:00:00-05:00"]

    await cal.CancelEvent(pb.EventRef(id=one_off.id), metadata=as_user(user))
    feed = await cal.GetCalendarFeed(pb.GetCalendarFeedRequest(), metadata=as_user(user))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{interactions.http_port}") as http:
        response = await http.get(feed.path)
        forged = await http.get(feed.path.split("?")[0] + "?token=" + "0" * 40)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert forged.status_code == 403
    parsed = icalendar.Calendar.from_ical(response.content)
    events = {str(e["uid"]): e for e in parsed.walk("VEVENT")}
    weekly = events[f"{event.id}@crm-interactions"]
    assert weekly["rrule"]["FREQ"] == ["WEEKLY"]
    assert weekly["rrule"]["COUNT"] == [10]
    assert weekly.decoded("dtstart") == first
    assert str(weekly["summary"]) == "Планірка відділу продажів"
    assert str(events[f"{one_off.id}@crm-interactions"]["status"]) == "CANCELLED"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.PlanEventRequest(title="Дзвінок", time_zone="Europe/Kyiv"), "starts_at"),
        (
            pb.PlanEventRequest(
                title="Дзвінок",
                starts_at=ts(datetime(2026, 12, 1, 12, tzinfo=UTC)),
                ends_at=ts(datetime(2026, 12, 1, 11, tzinfo=UTC)),
            ),
            "ends_at",
        ),
        (
            pb.PlanEventRequest(
                title="Дзвінок",
                starts_at=ts(datetime(2026, 12, 1, 11, tzinfo=UTC)),
                ends_at=ts(datetime(2026, 12, 1, 12, tzinfo=UTC)),
                time_zone="Europe/Atlantis",
            ),
            "time_zone",
        ),
        (
            pb.PlanEventRequest(
                title="Дзвінок",
                starts_at=ts(datetime(2026, 12, 1, 11, tzinfo=UTC)),
                ends_at=ts(datetime(2026, 12, 1, 12, tzinfo=UTC)),
                recurrence="FREQ=OFTEN",
            ),
            "recurrence",
        ),
        (pb.PlanEventRequest(title=" ", starts_at=ts(datetime(2026, 12, 1, 11, tzinfo=UTC))), "title"),
    ],
)
async def test_bad_events_are_invalid_argument(
    cal: pb_grpc.CalendarServiceStub, request_: pb.PlanEventRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cal.PlanEvent(request_, metadata=auth())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


async def test_calendar_view_bad_input(cal: pb_grpc.CalendarServiceStub) -> None:
    for request, field in (
        (pb.ListCalendarRequest(view=pb.CALENDAR_VIEW_DAY, date="2026-13-01"), "date"),
        (pb.ListCalendarRequest(date="2026-12-01"), "view"),
        (pb.ListCalendarRequest(view=pb.CALENDAR_VIEW_DAY, date="2026-12-01", time_zone="Mars/Olympus"), "time_zone"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await cal.ListCalendar(request, metadata=auth())
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in field_violations(caught.value)


async def _specialist(appointments: pb_grpc.AppointmentsServiceStub) -> tuple[pb.Specialist, pb.Offering]:
    specialist = await appointments.CreateSpecialist(
        pb.CreateSpecialistRequest(
            name="Лисенко Мар'яна, агроном",
            time_zone="Europe/Kyiv",
            hours=[pb.WorkingHours(weekday=d, start="09:00", end="18:00") for d in range(1, 8)],
        ),
        metadata=auth(),
    )
    offering = await appointments.CreateOffering(
        pb.CreateOfferingRequest(name="Виїзд на поле", duration_minutes=60), metadata=auth()
    )
    return specialist, offering


async def test_fifty_concurrent_bookings_of_one_slot_exactly_one_wins(
    appointments: pb_grpc.AppointmentsServiceStub,
) -> None:
    specialist, offering = await _specialist(appointments)
    day = (datetime.now(KYIV) + timedelta(days=2)).date()
    free = await appointments.ListFreeSlots(
        pb.ListFreeSlotsRequest(specialist_id=specialist.id, offering_id=offering.id, date=day.isoformat()),
        metadata=auth(),
    )
    assert len(free.slots) == 9
    slot = free.slots[3]

    async def book(i: int) -> grpc.StatusCode:
        try:
            await appointments.BookAppointment(
                pb.BookAppointmentRequest(
                    request_id=str(uuid.uuid4()),
                    specialist_id=specialist.id,
                    offering_id=offering.id,
                    starts_at=slot.starts_at,
                    client_name=f"Фермер {i}",
                    client_phone="+380671234567",
                ),
                metadata=auth(),
            )
            return grpc.StatusCode.OK
        except grpc.aio.AioRpcError as exc:
            return exc.code()

    async with KafkaProbe("crm.interactions.interaction.v1") as probe:
        codes = await asyncio.gather(*(book(i) for i in range(50)))
        booked = await probe.collect(3.0)
    assert codes.count(grpc.StatusCode.OK) == 1
    assert codes.count(grpc.StatusCode.ALREADY_EXISTS) == 49
    mine = [r for r in booked if r.value and json.loads(r.value).get("specialist_id") == specialist.id]
    assert [dict(r.headers)["ce_type"] for r in mine] == [b"crm.interactions.appointment.booked"]
    after = await appointments.ListFreeSlots(
        pb.ListFreeSlotsRequest(specialist_id=specialist.id, offering_id=offering.id, date=day.isoformat()),
        metadata=auth(),
    )
    assert slot.starts_at not in [s.starts_at for s in after.slots]
    assert len(after.slots) == 8


async def test_booking_outside_the_schedule_or_with_bad_input(appointments: pb_grpc.AppointmentsServiceStub) -> None:
    specialist, offering = await _specialist(appointments)
    night = datetime.combine((datetime.now(KYIV) + timedelta(days=3)).date(), datetime.min.time(), KYIV).replace(
        hour=22
    )
    with pytest.raises(grpc.aio.AioRpcError) as outside:
        await appointments.BookAppointment(
            pb.BookAppointmentRequest(
                specialist_id=specialist.id, offering_id=offering.id, starts_at=ts(night), client_name="Пізній клієнт"
            ),
            metadata=auth(),
        )
    assert outside.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "outside" in (outside.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await appointments.BookAppointment(
            pb.BookAppointmentRequest(specialist_id="nope", offering_id=offering.id), metadata=auth()
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "specialist_id" in field_violations(bad.value)
    with pytest.raises(grpc.aio.AioRpcError) as hours:
        await appointments.CreateSpecialist(
            pb.CreateSpecialistRequest(name="Х", hours=[pb.WorkingHours(weekday=9, start="18:00", end="09:00")]),
            metadata=auth(),
        )
    assert set(field_violations(hours.value)) == {"hours[0].weekday", "hours[0].end"}
    with pytest.raises(grpc.aio.AioRpcError) as zone:
        await appointments.CreateSpecialist(
            pb.CreateSpecialistRequest(
                name="Х", time_zone="Kyiv", hours=[pb.WorkingHours(weekday=1, start="09:00", end="18:00")]
            ),
            metadata=auth(),
        )
    assert "time_zone" in field_violations(zone.value)


async def test_event_lifecycle_publishes_completed_and_refuses_to_reopen(cal: pb_grpc.CalendarServiceStub) -> None:
    user = f"taras.{uuid.uuid4().hex[:6]}"
    start = datetime(2026, 12, 3, 15, 0, tzinfo=KYIV)
    event = await cal.PlanEvent(
        pb.PlanEventRequest(
            title="Дзвінок з ПП «Дніпро-Агро»",
            starts_at=ts(start),
            ends_at=ts(start + timedelta(minutes=20)),
            time_zone="Europe/Kyiv",
        ),
        metadata=as_user(user),
    )
    async with KafkaProbe("crm.interactions.interaction.v1") as probe:
        done = await cal.CompleteEvent(pb.EventRef(id=event.id), metadata=as_user(user))
        record = await probe.wait_for(
            lambda r: r.key == event.id.encode() and dict(r.headers)["ce_type"] != b"crm.interactions.event.planned"
        )
    assert done.state == pb.EVENT_STATE_COMPLETED
    assert dict(record.headers)["ce_type"] == b"crm.interactions.event.completed"
    with pytest.raises(grpc.aio.AioRpcError) as reopen:
        await cal.CancelEvent(pb.EventRef(id=event.id), metadata=as_user(user))
    assert reopen.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    day = await cal.ListCalendar(
        pb.ListCalendarRequest(view=pb.CALENDAR_VIEW_DAY, date="2026-12-03", time_zone="Europe/Kyiv"),
        metadata=as_user(user),
    )
    assert [(o.event_id, o.state, o.local_start) for o in day.occurrences] == [
        (event.id, pb.EVENT_STATE_COMPLETED, "2026-12-03T15:00:00+02:00")
    ]


async def test_cancelled_appointment_frees_its_slot_and_load_is_counted(
    appointments: pb_grpc.AppointmentsServiceStub,
) -> None:
    specialist, offering = await _specialist(appointments)
    day = (datetime.now(KYIV) + timedelta(days=4)).date()
    slots = (
        await appointments.ListFreeSlots(
            pb.ListFreeSlotsRequest(specialist_id=specialist.id, offering_id=offering.id, date=day.isoformat()),
            metadata=auth(),
        )
    ).slots
    rid = str(uuid.uuid4())
    booked = [
        await appointments.BookAppointment(
            pb.BookAppointmentRequest(
                request_id=rid if i == 0 else str(uuid.uuid4()),
                specialist_id=specialist.id,
                offering_id=offering.id,
                starts_at=slots[i].starts_at,
                client_name="Олійник Петро",
                client_phone="067 555 12 34",
            ),
            metadata=auth(),
        )
        for i in range(2)
    ]
    repeated = await appointments.BookAppointment(
        pb.BookAppointmentRequest(
            request_id=rid,
            specialist_id=specialist.id,
            offering_id=offering.id,
            starts_at=slots[0].starts_at,
            client_name="Олійник Петро",
        ),
        metadata=auth(),
    )
    assert repeated.id == booked[0].id
    assert booked[0].client_phone == "+380675551234"
    window = pb.ListAppointmentsRequest(
        specialist_id=specialist.id, **{"from": slots[0].starts_at}, to=slots[-1].ends_at
    )
    assert (await appointments.ListAppointments(window, metadata=auth())).booked_minutes == 120
    async with KafkaProbe("crm.interactions.interaction.v1") as probe:
        cancelled = await appointments.CancelAppointment(pb.CancelAppointmentRequest(id=booked[0].id), metadata=auth())
        record = await probe.wait_for(
            lambda r: (
                r.key == booked[0].id.encode() and dict(r.headers)["ce_type"] != b"crm.interactions.appointment.booked"
            )
        )
    assert cancelled.status == pb.APPOINTMENT_STATUS_CANCELLED
    assert dict(record.headers)["ce_type"] == b"crm.interactions.appointment.cancelled"
    load = await appointments.ListAppointments(window, metadata=auth())
    assert [a.id for a in load.appointments] == [booked[1].id]
    assert load.booked_minutes == 60
    again = await appointments.BookAppointment(
        pb.BookAppointmentRequest(
            specialist_id=specialist.id, offering_id=offering.id, starts_at=slots[0].starts_at, client_name="Інший"
        ),
        metadata=auth(),
    )
    assert again.status == pb.APPOINTMENT_STATUS_BOOKED
