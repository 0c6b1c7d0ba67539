"""Wiring of the pricing service and its entry point: python -m pricing [--migrate]."""

from __future__ import annotations

from pathlib import Path

from crm_platform.cache import Cache
from crm_platform.runtime import Components, Runtime, ServiceSpec, main
from pricing import api
from pricing.events import PUBLISHED, consumer
from pricing.invalidation import listen_for_invalidation
from pricing.price_tables import PriceTables


async def build(runtime: Runtime) -> Components:
    tables = PriceTables(runtime.db, Cache(runtime.redis, "pricing", ttl_seconds=600))

    async def invalidation() -> None:
        await listen_for_invalidation(runtime.settings.kafka_bootstrap, tables, runtime.stopping)

    return Components(grpc=[api.grpc_service(runtime.db, tables)], background=[invalidation])


SPEC = ServiceSpec(
    name="pricing",
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    build=build,
    publishes=PUBLISHED,
    consumer=consumer,
)


def run() -> None:
    main(SPEC)
