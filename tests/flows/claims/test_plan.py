"""The investigation plan over the real broker: each activity is a task command to
interactions (through the outbox), and task events coming back move the plan. Here the
task events are published by hand, as interactions publishes them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

import grpc
import pytest
from aiokafka import AIOKafkaProducer
from crm.claims.v1 import claims_pb2 as pb
from crm.claims.v1 import claims_pb2_grpc as pb_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.testing import KafkaProbe, auth, header
from tests.flows.claims.conftest import register
from tests.flows.claims.events_out import now, publish

pytestmark = pytest.mark.flow

TASKS = "crm.interactions.task.v1"
REQUESTS = "crm.interactions.task-requests.v1"
INTERACTIONS = "crm.interactions.interaction.v1"


def deadline() -> Timestamp:
    stamp = Timestamp()
    stamp.FromJsonString("2026-12-15T15:00:00Z")
    return stamp


async def add(stub: pb_grpc.ClaimsServiceStub, claim_id: str, name: str, request_id: str = "") -> pb.Claim:
    return await stub.AddPlanActivity(
        pb.AddPlanActivityRequest(
            claim_id=claim_id,
            request_id=request_id,
            name=name,
            description="Перевірити товарно-транспортні накладні за березень",
            performer_id="oksana.tkachenko",
            checker_id="iryna.bondarenko",
            due_at=deadline(),
        ),
        metadata=auth("head"),
    )


async def eventually(stub: pb_grpc.ClaimsServiceStub, claim_id: str, check: Callable[[pb.Claim], bool]) -> pb.Claim:
    for _ in range(150):
        claim = await stub.GetClaim(pb.GetClaimRequest(id=claim_id), metadata=auth())
        if check(claim):
            return claim
        await asyncio.sleep(0.2)
    raise AssertionError(f"claim never reached the expected state: {claim}")


async def test_activities_become_task_commands_and_task_events_move_the_plan(
    stub: pb_grpc.ClaimsServiceStub, kafka_producer: AIOKafkaProducer
) -> None:
    claim = await register(stub)
    async with KafkaProbe(REQUESTS) as probe:
        await add(stub, claim.id, "Перевірити накладні")
        planned = await add(stub, claim.id, "Опитати водія")
        first, _ = planned.plan
        command = await probe.wait_for(lambda r: header(r, "ce_subject") == f"claims:{claim.id}:{first.id}")
    data = json.loads(command.value)
    assert header(command, "ce_type") == "crm.interactions.task.requested"
    assert data["request_id"] == f"claims:{claim.id}:{first.id}"
    assert data["subject"] == {"service": "claims", "type": "claim", "id": claim.id}
    assert data["performer_id"] == "oksana.tkachenko"
    assert data["checker_id"] == "iryna.bondarenko"
    assert data["author_id"] == "test-head"
    assert "Перевірити накладні" in data["title"]
    assert planned.progress == pb.PlanProgress(total=2, done=0, checked=0, percent=0)
    assert first.status == pb.ACTIVITY_STATUS_REQUESTED

    task = str(uuid.uuid4())
    request_id = f"claims:{claim.id}:{first.id}"
    subject = {"service": "claims", "type": "claim", "id": claim.id}
    assigned = {
        "task_id": task,
        "request_id": request_id,
        "title": "x",
        "author_id": "test-head",
        "performer_id": "oksana.tkachenko",
        "checker_id": "iryna.bondarenko",
        "deadline": now(),
        "subject": subject,
    }
    await publish(kafka_producer, TASKS, "crm.interactions.task.assigned", task, assigned)
    await publish(
        kafka_producer,
        TASKS,
        "crm.interactions.task.done",
        task,
        {
            "task_id": task,
            "request_id": request_id,
            "performer_id": "oksana.tkachenko",
            "subject": subject,
            "done_at": now(),
        },
    )
    done = await eventually(stub, claim.id, lambda c: c.progress.done == 1)
    assert done.plan[0].status == pb.ACTIVITY_STATUS_DONE
    assert done.plan[0].task_id  # ours, or that of another interactions instance of a concurrent test run
    assert done.progress.percent == 50

    await publish(
        kafka_producer,
        TASKS,
        "crm.interactions.task.checked",
        task,
        {
            "task_id": task,
            "request_id": request_id,
            "checker_id": "iryna.bondarenko",
            "accepted": False,
            "comment": "Бракує накладної №118",
            "subject": subject,
            "checked_at": now(),
        },
    )
    returned = await eventually(stub, claim.id, lambda c: c.plan[0].status == pb.ACTIVITY_STATUS_RETURNED)
    assert returned.progress.done == 0
    assert returned.plan[0].check_comment == "Бракує накладної №118"

    for event_type, extra in (
        ("crm.interactions.task.done", {"done_at": now()}),
        ("crm.interactions.task.checked", {"accepted": True, "comment": "", "checked_at": now()}),
    ):
        await publish(
            kafka_producer,
            TASKS,
            event_type,
            task,
            {"task_id": task, "request_id": request_id, "subject": subject, **extra},
        )
    checked = await eventually(stub, claim.id, lambda c: c.progress.checked == 1)
    assert checked.plan[0].status == pb.ACTIVITY_STATUS_CHECKED
    assert checked.progress == pb.PlanProgress(total=2, done=1, checked=1, percent=50)
    # untouched by these events (an interactions instance of another test run may have assigned it)
    assert checked.plan[1].status in (pb.ACTIVITY_STATUS_REQUESTED, pb.ACTIVITY_STATUS_ASSIGNED)

    # a late, repeated "done" does not move a checked activity back
    await publish(
        kafka_producer,
        TASKS,
        "crm.interactions.task.done",
        task,
        {"task_id": task, "request_id": request_id, "subject": subject, "done_at": now()},
    )
    other = str(uuid.uuid4())  # someone else's task on the same topic is ignored
    await publish(
        kafka_producer,
        TASKS,
        "crm.interactions.task.done",
        other,
        {"task_id": other, "request_id": f"deals:{uuid.uuid4()}", "subject": None, "done_at": now()},
    )
    marker = await register(stub)  # let the consumer pass both events before looking
    await add(stub, marker.id, "Маркер")
    await asyncio.sleep(1.0)
    after = await stub.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=auth())
    assert after.plan[0].status == pb.ACTIVITY_STATUS_CHECKED


async def test_adding_an_activity_twice_with_one_request_id_sends_one_command(stub: pb_grpc.ClaimsServiceStub) -> None:
    claim = await register(stub)
    request_id = str(uuid.uuid4())
    async with KafkaProbe(REQUESTS) as probe:
        await add(stub, claim.id, "Перевірити накладні", request_id)
        again = await add(stub, claim.id, "Перевірити накладні", request_id)
        seen = await probe.collect(2.0)
    assert len(again.plan) == 1
    assert sum(1 for r in seen if f"claims:{claim.id}:" in (header(r, "ce_subject") or "")) == 1


async def test_a_closed_claims_plan_does_not_change(stub: pb_grpc.ClaimsServiceStub) -> None:
    claim = await register(stub)
    await stub.ChangeStatus(
        pb.ChangeStatusRequest(claim_id=claim.id, to_status=pb.CLAIM_STATUS_WITHDRAWN), metadata=auth()
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await add(stub, claim.id, "Запізно")
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_interactions_about_the_claim_are_listed_with_it(
    stub: pb_grpc.ClaimsServiceStub, kafka_producer: AIOKafkaProducer
) -> None:
    claim = await register(stub)
    call, letter, unrelated = (str(uuid.uuid4()) for _ in range(3))
    subject = {"service": "claims", "type": "claim", "id": claim.id}
    for interaction_id, kind, about in (
        (call, "phone_call_incoming", subject),
        (letter, "email", subject),
        (unrelated, "meeting", {"service": "deals", "type": "deal", "id": claim.id}),
    ):
        await publish(
            kafka_producer,
            INTERACTIONS,
            "crm.interactions.interaction.registered",
            interaction_id,
            {
                "interaction_id": interaction_id,
                "kind": kind,
                "subject": about,
                "partner_id": claim.details.partner_id,
                "responsible_id": "iryna.bondarenko",
                "occurred_at": now(),
            },
        )
    await publish(
        kafka_producer,
        INTERACTIONS,
        "crm.interactions.interaction.processed",
        call,
        {"interaction_id": call, "subject": subject, "processed_at": now()},
    )
    linked = await eventually(
        stub, claim.id, lambda c: len(c.interactions) == 2 and all(i.processed_at.seconds for i in c.interactions[:1])
    )
    assert [i.interaction_id for i in linked.interactions] == [call, letter]
    assert linked.interactions[0].kind == "phone_call_incoming"
    assert linked.interactions[1].processed_at.seconds == 0
