"""The claims service's API on a running process: registration by staff and by the
client itself, the status process, reasons, and field-named errors for bad input."""

from __future__ import annotations

import uuid

import grpc
import pytest
from crm.claims.v1 import claims_pb2 as pb
from crm.claims.v1 import claims_pb2_grpc as pb_grpc
from crm.common.v1 import common_pb2

from crm_platform.grpc_errors import field_violations
from crm_platform.testing import KafkaProbe, auth, header
from tests.flows.claims.conftest import draft, register

pytestmark = pytest.mark.flow


async def _complete(call: object) -> None:
    """Awaits a unary call or drains a streaming one."""
    if hasattr(call, "__aiter__"):
        async for _ in call:  # type: ignore[attr-defined]
            pass
    else:
        await call  # type: ignore[misc]


async def test_staff_registers_a_claim_and_it_is_published(stub: pb_grpc.ClaimsServiceStub) -> None:
    partner = str(uuid.uuid4())
    async with KafkaProbe("crm.claims.claim.v1") as probe:
        claim = await register(stub, partner, reason_codes=["late_delivery", "wrong_documents"])
        record = await probe.wait_for(lambda r: header(r, "ce_subject") == claim.id)
    assert claim.status == pb.CLAIM_STATUS_REGISTERED
    assert claim.number > 0
    assert claim.registered_by == "staff"
    assert claim.details.contact_person == "Коваленко Олена Петрівна"
    assert list(claim.details.reason_codes) == ["late_delivery", "wrong_documents"]
    assert [h.to_status for h in claim.history] == [pb.CLAIM_STATUS_REGISTERED]
    assert claim.history[0].changed_by == "test-manager"
    assert header(record, "ce_type") == "crm.claims.claim.registered"
    assert b'"department":"\\u0412' in record.value or "Відділ логістики".encode() in record.value


async def test_repeated_registration_with_one_request_id_registers_once(stub: pb_grpc.ClaimsServiceStub) -> None:
    request = pb.RegisterClaimRequest(request_id=str(uuid.uuid4()), claim=draft(str(uuid.uuid4())))
    first = await stub.RegisterClaim(request, metadata=auth("manager"))
    second = await stub.RegisterClaim(request, metadata=auth("manager"))
    assert first.id == second.id
    assert first.number == second.number


async def test_a_client_registers_its_own_claim_and_sees_only_its_own(stub: pb_grpc.ClaimsServiceStub) -> None:
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    me = auth("client", partner_id=mine)
    own = await stub.RegisterClaim(pb.RegisterClaimRequest(claim=draft("")), metadata=me)
    assert own.details.partner_id == mine
    assert own.registered_by == "client"
    other = await register(stub, theirs)

    assert (await stub.GetClaim(pb.GetClaimRequest(id=own.id), metadata=me)).id == own.id
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetClaim(pb.GetClaimRequest(id=other.id), metadata=me)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    listed = await stub.ListClaims(pb.ListClaimsRequest(), metadata=me)
    assert [c.id for c in listed.claims] == [own.id]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListClaims(pb.ListClaimsRequest(partner_id=theirs), metadata=me)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RegisterClaim(pb.RegisterClaimRequest(claim=draft(theirs)), metadata=me)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ChangeStatus(
            pb.ChangeStatusRequest(claim_id=other.id, to_status=pb.CLAIM_STATUS_WITHDRAWN), metadata=me
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_investigation_needs_someone_responsible(stub: pb_grpc.ClaimsServiceStub) -> None:
    me = auth("client", partner_id=str(uuid.uuid4()))
    own = await stub.RegisterClaim(
        pb.RegisterClaimRequest(claim=draft("", claimant_kind=0, responsible_id="")), metadata=me
    )
    assert own.details.claimant_kind == pb.CLAIMANT_KIND_CLIENT
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ChangeStatus(
            pb.ChangeStatusRequest(claim_id=own.id, to_status=pb.CLAIM_STATUS_UNDER_INVESTIGATION), metadata=auth()
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "responsible_id" in field_violations(caught.value)
    started = await stub.ChangeStatus(
        pb.ChangeStatusRequest(
            claim_id=own.id, to_status=pb.CLAIM_STATUS_UNDER_INVESTIGATION, responsible_id="taras.shevchuk"
        ),
        metadata=auth(),
    )
    assert started.details.responsible_id == "taras.shevchuk"


async def test_a_client_may_withdraw_but_not_decide_its_claim(stub: pb_grpc.ClaimsServiceStub) -> None:
    me = auth("client", partner_id=str(uuid.uuid4()))
    own = await stub.RegisterClaim(pb.RegisterClaimRequest(claim=draft("")), metadata=me)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ChangeStatus(
            pb.ChangeStatusRequest(claim_id=own.id, to_status=pb.CLAIM_STATUS_UNDER_INVESTIGATION), metadata=me
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    withdrawn = await stub.ChangeStatus(
        pb.ChangeStatusRequest(claim_id=own.id, to_status=pb.CLAIM_STATUS_WITHDRAWN, comment="Домовились усно"),
        metadata=me,
    )
    assert withdrawn.status == pb.CLAIM_STATUS_WITHDRAWN
    assert withdrawn.result == "Домовились усно"
    assert withdrawn.history[-1].changed_by == "test-client"


async def test_a_client_token_without_a_partner_is_refused(stub: pb_grpc.ClaimsServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RegisterClaim(pb.RegisterClaimRequest(claim=draft("")), metadata=auth("client"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_status_process_records_who_and_when_and_publishes(stub: pb_grpc.ClaimsServiceStub) -> None:
    claim = await register(stub)
    async with KafkaProbe("crm.claims.claim.v1") as probe:
        investigating = await stub.ChangeStatus(
            pb.ChangeStatusRequest(
                claim_id=claim.id,
                to_status=pb.CLAIM_STATUS_UNDER_INVESTIGATION,
                responsible_id="taras.shevchuk",
                expected_version=claim.version,
            ),
            metadata=auth("head"),
        )
        closed = await stub.ChangeStatus(
            pb.ChangeStatusRequest(
                claim_id=claim.id, to_status=pb.CLAIM_STATUS_PARTLY_SATISFIED, result="Надано знижку 3% замість 5%"
            ),
            metadata=auth("head"),
        )
        done = await probe.wait_for(
            lambda r: header(r, "ce_subject") == claim.id and header(r, "ce_type") == "crm.claims.claim.closed"
        )
    assert investigating.details.responsible_id == "taras.shevchuk"
    assert closed.status == pb.CLAIM_STATUS_PARTLY_SATISFIED
    assert closed.result == "Надано знижку 3% замість 5%"
    assert closed.closed_at.seconds > 0
    assert [(h.from_status, h.to_status, h.changed_by) for h in closed.history[1:]] == [
        (pb.CLAIM_STATUS_REGISTERED, pb.CLAIM_STATUS_UNDER_INVESTIGATION, "test-head"),
        (pb.CLAIM_STATUS_UNDER_INVESTIGATION, pb.CLAIM_STATUS_PARTLY_SATISFIED, "test-head"),
    ]
    assert all(h.changed_at.seconds > 0 for h in closed.history)
    assert b'"status":"partly_satisfied"' in done.value
    types = [header(r, "ce_type") for r in probe.seen if header(r, "ce_subject") == claim.id]
    assert types.count("crm.claims.claim.status_changed") == 2


async def test_only_allowed_transitions(stub: pb_grpc.ClaimsServiceStub) -> None:
    claim = await register(stub)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ChangeStatus(
            pb.ChangeStatusRequest(claim_id=claim.id, to_status=pb.CLAIM_STATUS_SATISFIED, result="Замінено товар"),
            metadata=auth("manager"),
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "registered to satisfied" in (caught.value.details() or "")

    await stub.ChangeStatus(
        pb.ChangeStatusRequest(claim_id=claim.id, to_status=pb.CLAIM_STATUS_UNDER_INVESTIGATION), metadata=auth()
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ChangeStatus(
            pb.ChangeStatusRequest(claim_id=claim.id, to_status=pb.CLAIM_STATUS_REJECTED), metadata=auth()
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "result" in field_violations(caught.value)

    await stub.ChangeStatus(
        pb.ChangeStatusRequest(
            claim_id=claim.id, to_status=pb.CLAIM_STATUS_REJECTED, result="Претензія необґрунтована"
        ),
        metadata=auth(),
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ChangeStatus(
            pb.ChangeStatusRequest(claim_id=claim.id, to_status=pb.CLAIM_STATUS_WITHDRAWN), metadata=auth()
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "closed" in (caught.value.details() or "")


async def test_a_stale_version_is_refused(stub: pb_grpc.ClaimsServiceStub) -> None:
    claim = await register(stub)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ChangeStatus(
            pb.ChangeStatusRequest(
                claim_id=claim.id, to_status=pb.CLAIM_STATUS_UNDER_INVESTIGATION, expected_version=claim.version + 5
            ),
            metadata=auth(),
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_reasons_are_an_editable_list(stub: pb_grpc.ClaimsServiceStub) -> None:
    code = f"packaging_{uuid.uuid4().hex[:6]}"
    created = await stub.CreateReason(
        pb.CreateReasonRequest(code=code, name="Неякісне пакування"), metadata=auth("head")
    )
    assert created.name == "Неякісне пакування"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateReason(pb.CreateReasonRequest(code=code, name="Ще раз"), metadata=auth("head"))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateReason(pb.CreateReasonRequest(code="x_" + code, name="Менеджер"), metadata=auth("manager"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED

    await register(stub, reason_codes=[code])
    await stub.UpdateReason(
        pb.UpdateReasonRequest(code=code, name="Неякісне пакування товару", archived=True), metadata=auth("head")
    )
    listed = await stub.ListReasons(pb.ListReasonsRequest(), metadata=auth("client", partner_id=str(uuid.uuid4())))
    assert code not in [r.code for r in listed.reasons]
    assert "late_delivery" in [r.code for r in listed.reasons]
    everything = await stub.ListReasons(pb.ListReasonsRequest(include_archived=True), metadata=auth())
    assert {r.code: r.name for r in everything.reasons}[code] == "Неякісне пакування товару"

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await register(stub, reason_codes=[code])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "archived" in field_violations(caught.value)["claim.reason_codes[0]"]


async def test_list_pages_through_claims_of_a_partner(stub: pb_grpc.ClaimsServiceStub) -> None:
    partner = str(uuid.uuid4())
    made = [await register(stub, partner) for _ in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListClaims(
            pb.ListClaimsRequest(partner_id=partner, page=common_pb2.PageRequest(page_size=2, page_token=token)),
            metadata=auth(),
        )
        seen += [c.id for c in page.claims]
        token = page.page.next_page_token
        if not token:
            break
    assert seen == [c.id for c in reversed(made)]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"essence": "   "}, "claim.essence"),
        ({"reason_codes": []}, "claim.reason_codes"),
        ({"reason_codes": ["Bad Code!"]}, "claim.reason_codes[0]"),
        ({"reason_codes": ["no_such_reason"]}, "claim.reason_codes[0]"),
        ({"culprit_department": "", "culprit_employee_id": ""}, "claim.culprit_department"),
        ({"deal_id": "not-a-uuid"}, "claim.deal_id"),
        ({"claimant_kind": 0}, "claim.claimant_kind"),
        ({"partner_id": "12"}, "claim.partner_id"),
        ({"contact_person": "Я" * 301}, "claim.contact_person"),
    ],
)
async def test_bad_claims_are_refused_naming_the_field(
    stub: pb_grpc.ClaimsServiceStub, overrides: dict[str, object], field: str
) -> None:
    partner = str(overrides.pop("partner_id", uuid.uuid4()))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RegisterClaim(pb.RegisterClaimRequest(claim=draft(partner, **overrides)), metadata=auth())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


async def test_bad_input_of_every_other_rpc_names_the_field(stub: pb_grpc.ClaimsServiceStub) -> None:
    claim = await register(stub)
    cases = [
        (stub.RegisterClaim, pb.RegisterClaimRequest(), "claim"),
        (stub.RegisterClaim, pb.RegisterClaimRequest(request_id="r" * 121, claim=draft()), "request_id"),
        (stub.GetClaim, pb.GetClaimRequest(id="42"), "id"),
        (stub.ListClaims, pb.ListClaimsRequest(page=common_pb2.PageRequest(page_size=900)), "page.page_size"),
        (stub.ListClaims, pb.ListClaimsRequest(page=common_pb2.PageRequest(page_token="%%")), "page.page_token"),
        (stub.ListClaims, pb.ListClaimsRequest(status=99), "status"),
        (stub.ChangeStatus, pb.ChangeStatusRequest(claim_id="x", to_status=2), "claim_id"),
        (stub.ChangeStatus, pb.ChangeStatusRequest(claim_id=claim.id), "to_status"),
        (stub.ChangeStatus, pb.ChangeStatusRequest(claim_id=claim.id, to_status=1), "to_status"),
        (stub.AddPlanActivity, pb.AddPlanActivityRequest(claim_id=claim.id, performer_id="a"), "name"),
        (stub.AddPlanActivity, pb.AddPlanActivityRequest(claim_id=claim.id, name="Перевірити"), "performer_id"),
        (stub.AddPlanActivity, pb.AddPlanActivityRequest(claim_id=claim.id, name="Н", performer_id="a"), "due_at"),
        (stub.CreateReason, pb.CreateReasonRequest(code="Погано", name="x"), "code"),
        (stub.CreateReason, pb.CreateReasonRequest(code="ok_code", name=" "), "name"),
        (stub.UpdateReason, pb.UpdateReasonRequest(code="", name="x"), "code"),
        (stub.DownloadFile, pb.DownloadFileRequest(claim_id=claim.id, file_id="1"), "file_id"),
        (stub.RegistrationDynamics, pb.RegistrationDynamicsRequest(), "period.from_date"),
        (
            stub.SatisfactionByReason,
            pb.AnalyticsPeriodRequest(period=pb.Period(from_date="2026-05-01", to_date="2026-04-01")),
            "period.to_date",
        ),
        (
            stub.ClaimStructure,
            pb.ClaimStructureRequest(period=pb.Period(from_date="2026-01-01", to_date="2026-12-31"), top=500),
            "top",
        ),
    ]
    for method, request, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _complete(method(request, metadata=auth("head")))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (request, caught.value.details())
        assert field in field_violations(caught.value), (request, field_violations(caught.value))
