"""Wiring of the claims service and its entry point: python -m claims [--migrate]."""

from __future__ import annotations

from pathlib import Path

from claims import api
from claims.events import PUBLISHED, consumer
from claims.files import ClaimFiles
from claims.settings import ClaimsSettings
from claims.storage import LocalStorage
from crm_platform.runtime import Components, Runtime, ServiceSpec, main


async def build(runtime: Runtime) -> Components:
    settings = ClaimsSettings()
    files = ClaimFiles(
        runtime.db,
        LocalStorage(settings.files_dir),
        max_bytes=settings.max_file_bytes,
        chunk_bytes=settings.chunk_bytes,
    )
    return Components(grpc=[api.grpc_service(runtime.db, files)])


SPEC = ServiceSpec(
    name="claims",
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    build=build,
    publishes=PUBLISHED,
    consumer=consumer,
)


def run() -> None:
    main(SPEC)
