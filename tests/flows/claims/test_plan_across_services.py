"""End to end across two service processes over the real broker: an investigation plan
activity becomes a task in interactions, its performer completes it and its checker
accepts it there, and the claim's plan moves; an interaction registered in interactions
about the claim is listed with the claim."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import grpc
import pytest
from crm.claims.v1 import claims_pb2 as pb
from crm.claims.v1 import claims_pb2_grpc as pb_grpc
from crm.interactions.v1 import interactions_pb2 as ipb
from crm.interactions.v1 import interactions_pb2_grpc as ipb_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.auth import issue_token
from crm_platform.localrun import ServiceProcess
from crm_platform.settings import ServiceSettings
from crm_platform.testing import Services, auth
from tests.flows.claims.conftest import register

pytestmark = pytest.mark.flow


@pytest.fixture(scope="session")
async def interactions(services: Services) -> ServiceProcess:
    return await services.start("interactions")


def as_user(subject: str, role: str = "manager") -> tuple[tuple[str, str], ...]:
    settings = ServiceSettings(service="tests")
    token = issue_token(settings.jwt_secret.get_secret_value(), subject, [role], issuer=settings.jwt_issuer)
    return (("authorization", f"Bearer {token}"),)


async def eventually(stub: pb_grpc.ClaimsServiceStub, claim_id: str, check: Callable[[pb.Claim], bool]) -> pb.Claim:
    claim = pb.Claim()
    for _ in range(200):
        claim = await stub.GetClaim(pb.GetClaimRequest(id=claim_id), metadata=auth())
        if check(claim):
            return claim
        await asyncio.sleep(0.2)
    raise AssertionError(f"the claim never reached the expected state: {claim}")


async def test_a_task_done_and_checked_in_interactions_moves_the_claims_plan(
    stub: pb_grpc.ClaimsServiceStub, interactions: ServiceProcess
) -> None:
    performer, checker = f"oksana.tkachenko.{uuid.uuid4().hex[:6]}", f"iryna.bondarenko.{uuid.uuid4().hex[:6]}"
    claim = await register(stub)
    due = Timestamp()
    due.FromJsonString("2026-12-20T12:00:00Z")
    planned = await stub.AddPlanActivity(
        pb.AddPlanActivityRequest(
            claim_id=claim.id,
            name="Звірити накладні з фактичним надходженням",
            performer_id=performer,
            checker_id=checker,
            due_at=due,
        ),
        metadata=auth("head"),
    )
    request_id = f"claims:{claim.id}:{planned.plan[0].id}"

    assigned = await eventually(stub, claim.id, lambda c: c.plan[0].status == pb.ACTIVITY_STATUS_ASSIGNED)
    assert assigned.plan[0].task_id

    async with grpc.aio.insecure_channel(interactions.address) as channel:
        tasks = ipb_grpc.TasksServiceStub(channel)
        listed = await tasks.ListTasks(ipb.ListTasksRequest(), metadata=as_user(performer))
        mine = [t for g in listed.groups for t in g.tasks if t.request_id == request_id]
        assert len(mine) == 1  # one task however often the command is delivered
        task = mine[0]
        assert task.subject.id == claim.id
        assert "Звірити накладні" in task.title
        await tasks.CompleteTask(
            ipb.CompleteTaskRequest(id=task.id, comment="Розбіжність 4 мішки"), metadata=as_user(performer)
        )
        done = await eventually(stub, claim.id, lambda c: c.progress.done == 1)
        assert done.plan[0].status == pb.ACTIVITY_STATUS_DONE
        assert done.progress.percent == 100

        await tasks.CheckTask(ipb.CheckTaskRequest(id=task.id, accepted=True), metadata=as_user(checker, "head"))
    checked = await eventually(stub, claim.id, lambda c: c.progress.checked == 1)
    assert checked.plan[0].status == pb.ACTIVITY_STATUS_CHECKED
    assert checked.plan[0].checked_at.seconds > 0


async def test_an_interaction_about_the_claim_is_listed_with_it(
    stub: pb_grpc.ClaimsServiceStub, interactions: ServiceProcess
) -> None:
    claim = await register(stub)
    subject = ipb.Subject(service="claims", type="claim", id=claim.id)
    async with grpc.aio.insecure_channel(interactions.address) as channel:
        api = ipb_grpc.InteractionsServiceStub(channel)
        for _ in range(150):  # interactions learns of the claim from its registered event
            try:
                registered = await api.RegisterInteraction(
                    ipb.RegisterInteractionRequest(
                        kind=ipb.INTERACTION_KIND_INCOMING_CALL,
                        subject=subject,
                        title="Дзвінок клієнта щодо претензії",
                        description="Клієнт уточнює строки розгляду",
                    ),
                    metadata=auth(),
                )
                break
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
                    raise
                await asyncio.sleep(0.2)
        else:
            raise AssertionError("interactions never learnt of the claim")
    linked = await eventually(stub, claim.id, lambda c: len(c.interactions) == 1)
    assert linked.interactions[0].interaction_id == registered.id
