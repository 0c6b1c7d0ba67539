"""crm.interactions.v1.AppointmentsService: decode, call the use case, encode."""

from __future__ import annotations

import uuid

from crm.interactions.v1 import interactions_pb2 as pb
from crm.interactions.v1 import interactions_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.contacts import normalize_phone
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, Violations
from crm_platform.ids import parse_id
from crm_platform.proto_codec import enum_out, timestamp_in, timestamp_out
from interactions import booking
from interactions.codec import request_id
from interactions.domain import clean_text, parse_date, parse_hhmm, zone
from interactions.models import AppointmentRow, OfferingRow, SpecialistRow


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
