"""The kit's gRPC server as a caller meets it: request ids, deadlines handed on, refusals
named and counted, health and reflection. A real grpc.aio server on a loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from prometheus_client import REGISTRY

from crm_platform.auth import Role, TokenVerifier, current_principal
from crm_platform.grpc_server import GrpcService, build_server
from crm_platform.request_context import remaining_seconds, request_id_var
from crm_platform.settings import ServiceSettings
from crm_platform.testing import auth

SERVICE = "kit.test.Probe"
METHOD = f"/{SERVICE}/Who"


class Probe:
    """Answers with what the handler saw: the caller, the request id, the time left."""

    async def Who(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        left = remaining_seconds()
        return f"{current_principal().subject}|{request_id_var.get()}|{left}".encode()


def add_probe(servicer: Probe, server: Any) -> None:
    # As generated code does it: the same handlers as generic and as registered ones.
    handlers = {"Who": grpc.unary_unary_rpc_method_handler(servicer.Who)}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)


@pytest.fixture
async def address() -> AsyncIterator[str]:
    settings = ServiceSettings(service="tests")
    verifier = TokenVerifier(settings.jwt_secret.get_secret_value(), settings.jwt_issuer)
    probe = GrpcService(SERVICE, Probe(), add_probe, access={"Who": frozenset({Role.MANAGER})})
    server, health, port = await build_server([probe], verifier, "127.0.0.1:0")
    await server.start()
    await health.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


def reflected_services(address: str) -> list[str]:
    # The reflection client is synchronous: it runs in a thread while the loop serves it.
    with grpc.insecure_channel(address) as channel:
        return list(ProtoReflectionDescriptorDatabase(channel).get_services())


async def call(address: str, metadata: tuple[tuple[str, str], ...], timeout: float | None = None) -> tuple[str, Any]:
    async with grpc.aio.insecure_channel(address) as channel:
        made = channel.unary_unary(METHOD)(b"", metadata=metadata, timeout=timeout)
        reply = await made
        return reply.decode(), await made.trailing_metadata()


async def test_the_callers_request_id_is_the_calls_own(address: str) -> None:
    answer, trailers = await call(address, (*auth("manager"), ("x-request-id", "gw-42")), timeout=30)
    subject, request_id, left = answer.split("|")
    assert subject == "test-manager"
    assert request_id == "gw-42"
    assert 0 < float(left) <= 30
    assert "x-request-id" not in dict(trailers or ())


async def test_a_call_without_a_request_id_learns_the_one_it_was_given(address: str) -> None:
    answer, trailers = await call(address, auth("manager"))
    _, request_id, left = answer.split("|")
    assert dict(trailers)["x-request-id"] == request_id != "-"
    assert left == "None"  # no deadline: none is handed on


@pytest.mark.parametrize(
    ("metadata", "code", "message"),
    [
        ((), grpc.StatusCode.UNAUTHENTICATED, "missing authorization"),
        ((("authorization", "Bearer nonsense"),), grpc.StatusCode.UNAUTHENTICATED, "invalid token"),
        (auth("shop", shop_id="shop-1"), grpc.StatusCode.PERMISSION_DENIED, "manager"),
    ],
)
async def test_refusals_are_named_and_counted(
    address: str, metadata: tuple[tuple[str, str], ...], code: grpc.StatusCode, message: str
) -> None:
    labels = {"grpc_type": "unary", "grpc_service": SERVICE, "grpc_method": "Who", "grpc_code": code.name}
    before = REGISTRY.get_sample_value("grpc_server_handled_total", labels) or 0
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call(address, metadata)
    assert refused.value.code() == code
    assert message in (refused.value.details() or "")
    assert REGISTRY.get_sample_value("grpc_server_handled_total", labels) == before + 1


async def test_health_and_reflection_answer_without_a_token(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        status = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=SERVICE))
    assert status.status == health_pb2.HealthCheckResponse.SERVING
    services = await asyncio.to_thread(reflected_services, address)
    assert SERVICE in services
    assert "grpc.health.v1.Health" in services


async def test_an_unknown_method_is_unimplemented(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await channel.unary_unary(f"/{SERVICE}/Nope")(b"", metadata=auth("manager"))
    assert unknown.value.code() == grpc.StatusCode.UNIMPLEMENTED
