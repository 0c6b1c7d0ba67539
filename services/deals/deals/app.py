"""Wiring of the deals service and its entry point: python -m deals [--migrate]."""

from __future__ import annotations

from pathlib import Path

from crm_platform.runtime import Components, Runtime, ServiceSpec, main
from deals import api
from deals.events import PUBLISHED, consumer


async def build(runtime: Runtime) -> Components:
    return Components(grpc=[api.grpc_service(runtime.db)])


SPEC = ServiceSpec(
    name="deals",
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    build=build,
    publishes=PUBLISHED,
    consumer=consumer,
)


def run() -> None:
    main(SPEC)
