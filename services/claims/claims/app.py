"""Wiring of the claims service and its entry point: python -m claims [--migrate]."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from claims import api
from claims.events import PUBLISHED, consumer
from claims.files import ClaimFiles
from claims.s3_storage import S3Storage
from claims.settings import ClaimsSettings
from claims.storage import FileStorage, LocalStorage
from crm_platform.runtime import Components, Runtime, ServiceSpec, main


async def build(runtime: Runtime) -> Components:
    settings = ClaimsSettings()
    storage: FileStorage
    on_stop: list[Callable[[], Awaitable[None]]] = []
    if settings.storage == "s3":
        s3 = await S3Storage(settings.s3_location()).open()  # no bucket: the service does not start
        storage = s3
        on_stop.append(s3.close)
    else:
        storage = LocalStorage(settings.files_dir)
    files = ClaimFiles(runtime.db, storage, max_bytes=settings.max_file_bytes, chunk_bytes=settings.chunk_bytes)
    return Components(grpc=[api.grpc_service(runtime.db, files)], on_stop=on_stop)


SPEC = ServiceSpec(
    name="claims",
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    build=build,
    publishes=PUBLISHED,
    consumer=consumer,
)


def run() -> None:
    main(SPEC)
