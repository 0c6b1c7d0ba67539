"""Wiring of the pricing service and its entry point: python -m pricing [--migrate]."""

from __future__ import annotations

from pathlib import Path

from crm_platform.runtime import Components, Runtime, ServiceSpec, main


async def build(runtime: Runtime) -> Components:
    return Components(grpc=[])


SPEC = ServiceSpec(
    name="pricing",
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    build=build,
)


def run() -> None:
    main(SPEC)
