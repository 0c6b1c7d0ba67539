"""What every caller and ops team can rely on, checked on a running service process:
authentication, field-named errors, health, metrics, graceful shutdown."""

from __future__ import annotations

import asyncio
import signal
import uuid

import grpc
import httpx
import pytest
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crm_platform.grpc_errors import field_violations
from crm_platform.localrun import ServiceProcess
from crm_platform.testing import Services, auth

pytestmark = pytest.mark.flow


async def call_register(
    address: str, request: pb.RegisterPartnerRequest, metadata: tuple[tuple[str, str], ...] | None
) -> pb.RegisterPartnerResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        return await pb_grpc.PartnersServiceStub(channel).RegisterPartner(request, metadata=metadata, timeout=10)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (None, "missing authorization"),
        ((("authorization", "Bearer not.a.jwt"),), "invalid token"),
        ((("authorization", "Basic dXNlcjpwYXNz"),), "Bearer"),
    ],
)
async def test_call_without_a_valid_token_is_unauthenticated(
    partners: ServiceProcess, metadata: tuple[tuple[str, str], ...] | None, message: str
) -> None:
    request = pb.RegisterPartnerRequest(partner=pb.PartnerDraft(name="ТОВ «Альфа»"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call_register(partners.address, request, metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert message in (caught.value.details() or "")


async def test_token_signed_with_another_secret_is_unauthenticated(partners: ServiceProcess) -> None:
    from crm_platform.auth import issue_token

    forged = issue_token("some-other-secret-of-at-least-32-bytes!", "intruder", ["head"])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call_register(partners.address, pb.RegisterPartnerRequest(), (("authorization", f"Bearer {forged}"),))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_shop_may_not_register_partners_by_hand(partners: ServiceProcess) -> None:
    request = pb.RegisterPartnerRequest(partner=pb.PartnerDraft(name="ТОВ «Альфа»"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call_register(partners.address, request, auth("shop", shop_id="shop-1"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("draft", "field", "reason"),
    [
        (pb.PartnerDraft(name="   "), "partner.name", "empty"),
        (pb.PartnerDraft(name="Я" * 301), "partner.name", "longer than 300"),
        (pb.PartnerDraft(name="ТОВ «Бета»", roles=[42]), "partner.roles[0]", "unknown value"),
        (
            pb.PartnerDraft(name="ТОВ «Бета»", contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_PHONE, value="12-34")]),
            "partner.contacts[0].value",
            "phone",
        ),
        (
            pb.PartnerDraft(name="ТОВ «Бета»", contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_EMAIL, value="sales@")]),
            "partner.contacts[0].value",
            "e-mail",
        ),
        (
            pb.PartnerDraft(name="ТОВ «Бета»", contacts=[pb.ContactInfo(value="x")]),
            "partner.contacts[0].kind",
            "CONTACT_KIND_UNSPECIFIED",
        ),
    ],
)
async def test_bad_input_is_invalid_argument_naming_the_field(
    partners: ServiceProcess, draft: pb.PartnerDraft, field: str, reason: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call_register(partners.address, pb.RegisterPartnerRequest(partner=draft), auth("manager"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(caught.value)
    assert field in violations, violations
    assert reason in violations[field]


async def test_every_bad_field_is_reported_at_once(partners: ServiceProcess) -> None:
    draft = pb.PartnerDraft(name="", contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_EMAIL, value="@@")])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call_register(partners.address, pb.RegisterPartnerRequest(partner=draft), auth("manager"))
    assert set(field_violations(caught.value)) == {"partner.name", "partner.contacts[0].value"}


async def test_get_partner_with_a_malformed_or_unknown_id(partners: ServiceProcess) -> None:
    async with grpc.aio.insecure_channel(partners.address) as channel:
        stub = pb_grpc.PartnersServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await stub.GetPartner(pb.GetPartnerRequest(id="42"), metadata=auth())
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetPartner(pb.GetPartnerRequest(id=str(uuid.uuid4())), metadata=auth())
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(bad.value) == {"id": "must be a UUID"}
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_health_and_metrics_are_exposed(partners: ServiceProcess) -> None:
    async with grpc.aio.insecure_channel(partners.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        overall = await health.Check(health_pb2.HealthCheckRequest(service=""))
        named = await health.Check(health_pb2.HealthCheckRequest(service="crm.partners.v1.PartnersService"))
        with pytest.raises(grpc.aio.AioRpcError):
            await pb_grpc.PartnersServiceStub(channel).GetPartner(pb.GetPartnerRequest(id="nope"), metadata=auth())
    assert overall.status == health_pb2.HealthCheckResponse.SERVING
    assert named.status == health_pb2.HealthCheckResponse.SERVING

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{partners.http_port}") as http:
        metrics = (await http.get("/metrics")).text
        ready = await http.get("/readyz")
        alive = await http.get("/healthz")
    assert (
        'grpc_server_handled_total{grpc_code="INVALID_ARGUMENT",grpc_method="GetPartner",'
        'grpc_service="crm.partners.v1.PartnersService",grpc_type="unary"}' in metrics
    )
    assert "grpc_server_handling_seconds_bucket" in metrics
    assert "crm_outbox_backlog" in metrics
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "kafka": True, "accepting": True}
    assert alive.status_code == 200


async def test_sigterm_stops_the_service_cleanly(services: Services) -> None:
    process = await services.start("partners", instance="-shutdown")
    assert process.process is not None
    process.process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(process.process.wait, 30)
    assert code == 0
    assert "partners stopped" in process.log_tail()
