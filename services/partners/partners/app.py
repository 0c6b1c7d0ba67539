"""Wiring of the partners service and its entry point: python -m partners [--migrate]."""

from __future__ import annotations

import os
from pathlib import Path

from crm_platform.cache import Cache
from crm_platform.runtime import Components, Runtime, ServiceSpec, main
from partners import api, reclassify
from partners.events import PUBLISHED, consumer
from partners.partner_cache import PartnerCache
from partners.register import LocalRegisterFile


async def build(runtime: Runtime) -> Components:
    cache = PartnerCache(Cache(runtime.redis, "partners:partner", ttl_seconds=600), runtime.redis)
    register_file = os.environ.get("CRM_PARTNERS_REGISTER_FILE")
    register = LocalRegisterFile(Path(register_file)) if register_file else LocalRegisterFile()
    every = float(os.environ.get("CRM_PARTNERS_CLASSIFY_SECONDS", "300"))
    return Components(
        grpc=[api.grpc_service(runtime.db, cache, register)],
        background=[reclassify.schedule(runtime.db, every), cache.listener()],
    )


SPEC = ServiceSpec(
    name="partners",
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    build=build,
    publishes=PUBLISHED,
    consumer=consumer,
)


def run() -> None:
    main(SPEC)
