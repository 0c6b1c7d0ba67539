"""The grpc.aio server every service runs: health, reflection, the platform interceptor."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from crm_platform.auth import TokenVerifier
from crm_platform.grpc_interceptor import AccessPolicy, PlatformInterceptor


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
        interceptors=[PlatformInterceptor(verifier, policy)],
        options=[
            ("grpc.max_receive_message_length", 8 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
        ],
    )
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    for service in services:
        service.add_to_server(service.servicer, server)
        await health.set(service.full_name, health_pb2.HealthCheckResponse.NOT_SERVING)
    await health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    reflection.enable_server_reflection(
        [s.full_name for s in services]
        + [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
        server,
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
