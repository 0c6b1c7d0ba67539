"""The grpc.aio server every service runs: health, reflection, the platform's services
behind the platform's checks (crm_platform.grpc_interceptor)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from crm_platform.auth import TokenVerifier
from crm_platform.grpc_interceptor import AccessPolicy, PlatformHandlers


class _GenericHandlersOnly:
    """The server as the generated ``add_*_to_server`` functions see it: their handlers are
    taken as generic ones only.

    grpc.aio 1.85 keeps one pending request per *registered* method and, for every incoming
    call, waits on all of them at once (grpc/grpc#41796; the fix, grpc/grpc#43461, is not
    released). A service of 25 methods paid that wait on every call: about a tenth of a
    Quote's time. Generic handlers are one pending request, as in a bare server."""

    def __init__(self, add: Callable[[Sequence[grpc.GenericRpcHandler]], None]) -> None:
        self._add = add

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._add(handlers)

    def add_registered_method_handlers(self, service_name: str, handlers: Mapping[str, Any]) -> None:
        """Left out on purpose: the same handlers came in through add_generic_rpc_handlers."""


@dataclass
class GrpcService:
    """One gRPC service implementation and who may call its methods."""

    full_name: str
    servicer: Any
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    access: Mapping[str, frozenset[str]] = field(default_factory=dict)


async def build_server(
    services: list[GrpcService], verifier: TokenVerifier, address: str
) -> tuple[grpc.aio.Server, HealthServicer, int]:
    policy = AccessPolicy()
    for service in services:
        policy.allow(service.full_name, service.access)
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", 8 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
        ],
    )
    platform = PlatformHandlers(verifier, policy)
    server.add_generic_rpc_handlers((platform,))  # asked first: it answers for the busy methods
    public = _GenericHandlersOnly(server.add_generic_rpc_handlers)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, public)
    for service in services:
        service.add_to_server(service.servicer, _GenericHandlersOnly(platform.add))
        await health.set(service.full_name, health_pb2.HealthCheckResponse.NOT_SERVING)
    await health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    # What reflection.enable_server_reflection does for an aio server, with generic handlers only.
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
        reflection.aio.ReflectionServicer(
            [s.full_name for s in services]
            + [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
        ),
        public,
    )
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"cannot listen on {address}")
    return server, health, port


async def set_serving(health: HealthServicer, services: list[GrpcService], serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for service in services:
        await health.set(service.full_name, status)
    await health.set("", status)
