"""Every RPC answers bad input with INVALID_ARGUMENT naming the field, and unknown ids with NOT_FOUND."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from crm.common.v1 import common_pb2
from crm.interactions.v1 import interactions_pb2 as pb
from crm.interactions.v1 import interactions_pb2_grpc as pb_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.grpc_errors import field_violations
from crm_platform.testing import auth

pytestmark = pytest.mark.flow


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


NOW = datetime.now(UTC)
BAD = "not-a-uuid"
CASES: list[tuple[str, str, object, str]] = [
    ("api", "GetInteraction", pb.GetInteractionRequest(id=BAD), "id"),
    ("api", "GetChain", pb.GetChainRequest(), "key"),
    ("api", "GetChain", pb.GetChainRequest(chain_id=BAD), "chain_id"),
    ("api", "GetChain", pb.GetChainRequest(subject=pb.Subject(service="deals", type="deal", id=BAD)), "subject.id"),
    ("api", "UpdateStatus", pb.UpdateStatusRequest(id=BAD), "id"),
    ("api", "UpdateStatus", pb.UpdateStatusRequest(id=str(uuid.uuid4()), importance=9), "importance"),
    ("api", "ResolveParticipant", pb.ResolveParticipantRequest(interaction_id=str(uuid.uuid4())), "partner_id"),
    (
        "api",
        "ListUnprocessed",
        pb.ListUnprocessedRequest(page=common_pb2.PageRequest(page_size=100_000)),
        "page.page_size",
    ),
    ("api", "IngestEmail", pb.IngestEmailRequest(), "raw_message"),
    ("api", "CreateNote", pb.CreateNoteRequest(title=" "), "title"),
    (
        "api",
        "CreateNote",
        pb.CreateNoteRequest(title="T", subject=pb.Subject(service="x", type="y", id=BAD)),
        "subject.type",
    ),
    ("api", "ListNotes", pb.ListNotesRequest(subject=pb.Subject(service="claims", type="claim", id=BAD)), "subject.id"),
    ("cal", "CompleteEvent", pb.EventRef(id=BAD), "id"),
    ("cal", "CancelEvent", pb.EventRef(id=""), "id"),
    ("appointments", "CreateOffering", pb.CreateOfferingRequest(name="Огляд", duration_minutes=2), "duration_minutes"),
    ("appointments", "CreateOffering", pb.CreateOfferingRequest(duration_minutes=30), "name"),
    (
        "appointments",
        "ListFreeSlots",
        pb.ListFreeSlotsRequest(specialist_id=str(uuid.uuid4()), offering_id=str(uuid.uuid4()), date="31.12.2026"),
        "date",
    ),
    ("appointments", "CancelAppointment", pb.CancelAppointmentRequest(id=BAD), "id"),
    (
        "appointments",
        "ListAppointments",
        pb.ListAppointmentsRequest(specialist_id=str(uuid.uuid4()), to=ts(NOW)),
        "from",
    ),
    (
        "appointments",
        "ListAppointments",
        pb.ListAppointmentsRequest(
            specialist_id=str(uuid.uuid4()), **{"from": ts(NOW)}, to=ts(NOW - timedelta(days=1))
        ),
        "to",
    ),
    ("tasks", "GetTask", pb.TaskRef(id=BAD), "id"),
    ("tasks", "AcceptTask", pb.TaskRef(id=BAD), "id"),
    ("tasks", "ForwardTask", pb.ForwardTaskRequest(id=str(uuid.uuid4())), "performer_id"),
    ("tasks", "CompleteTask", pb.CompleteTaskRequest(id=BAD), "id"),
    ("tasks", "CheckTask", pb.CheckTaskRequest(id=BAD, accepted=True), "id"),
    ("tasks", "ListTasks", pb.ListTasksRequest(grouping=42), "grouping"),
]


@pytest.mark.parametrize(("stub", "method", "request_", "field"), CASES, ids=[f"{c[1]}-{c[3]}" for c in CASES])
async def test_bad_input_names_the_field(
    channel: grpc.aio.Channel, stub: str, method: str, request_: object, field: str
) -> None:
    stubs = {
        "api": pb_grpc.InteractionsServiceStub,
        "cal": pb_grpc.CalendarServiceStub,
        "appointments": pb_grpc.AppointmentsServiceStub,
        "tasks": pb_grpc.TasksServiceStub,
    }
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stubs[stub](channel), method)(request_, metadata=auth())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert field in field_violations(caught.value)


@pytest.mark.parametrize(
    ("stub", "method", "request_"),
    [
        ("api", "GetInteraction", pb.GetInteractionRequest(id=str(uuid.uuid4()))),
        ("api", "GetChain", pb.GetChainRequest(chain_id=str(uuid.uuid4()))),
        ("cal", "CompleteEvent", pb.EventRef(id=str(uuid.uuid4()))),
        ("appointments", "CancelAppointment", pb.CancelAppointmentRequest(id=str(uuid.uuid4()))),
        (
            "appointments",
            "ListFreeSlots",
            pb.ListFreeSlotsRequest(specialist_id=str(uuid.uuid4()), offering_id=str(uuid.uuid4()), date="2026-12-01"),
        ),
        ("tasks", "GetTask", pb.TaskRef(id=str(uuid.uuid4()))),
    ],
)
async def test_unknown_ids_are_not_found(channel: grpc.aio.Channel, stub: str, method: str, request_: object) -> None:
    stubs = {
        "api": pb_grpc.InteractionsServiceStub,
        "cal": pb_grpc.CalendarServiceStub,
        "appointments": pb_grpc.AppointmentsServiceStub,
        "tasks": pb_grpc.TasksServiceStub,
    }
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stubs[stub](channel), method)(request_, metadata=auth())
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
