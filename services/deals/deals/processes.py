"""Sales process templates and the list of lost reasons."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from crm_platform.db import Database
from crm_platform.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, Violations
from deals.domain import Stage, clean_text, validate_process
from deals.models import LostReasonRow, SalesProcessRow
from deals.repository import DealRepository, LostReasonRepository, ProcessRepository


@dataclass(frozen=True)
class ProcessView:
    process: SalesProcessRow
    stages: list[Stage]


async def create_process(db: Database, name: str, stages: list[Stage], request_id: str | None) -> ProcessView:
    clean = validate_process(name, stages)
    try:
        async with db.transaction() as session:
            processes = ProcessRepository(session)
            if request_id and (earlier := await processes.by_request_id(request_id)) is not None:
                return ProcessView(earlier, await processes.stages(earlier.id))
            process = await processes.add(SalesProcessRow(name=clean, request_id=request_id))
            await processes.replace_stages(process.id, stages)
            return ProcessView(process, stages)
    except IntegrityError:
        if not request_id:
            raise
        async with db.reading() as session:
            processes = ProcessRepository(session)
            earlier = await processes.by_request_id(request_id)
            if earlier is None:
                raise
            return ProcessView(earlier, await processes.stages(earlier.id))


async def update_process(
    db: Database, process_id: uuid.UUID, name: str, stages: list[Stage], expected_version: int
) -> ProcessView:
    clean = validate_process(name, stages)
    async with db.transaction() as session:
        processes = ProcessRepository(session)
        process = await processes.get(process_id)
        if process is None:
            raise NotFound(f"sales process {process_id} not found")
        if expected_version and expected_version != process.version:
            raise FailedPrecondition(
                f"the process changed meanwhile (version {process.version}, expected {expected_version})",
                rule="version",
            )
        removed = [s.code for s in await processes.stages(process_id) if s.code not in {n.code for n in stages}]
        if removed and (busy := await DealRepository(session).open_deals_at(process_id, removed)):
            raise FailedPrecondition(
                f"stages with open deals cannot be removed: {', '.join(sorted(busy))}", rule="stage_has_open_deals"
            )
        process.name = clean
        process.version += 1
        await processes.replace_stages(process_id, stages)
        return ProcessView(process, stages)


async def get_process(db: Database, process_id: uuid.UUID) -> ProcessView:
    async with db.reading() as session:
        processes = ProcessRepository(session)
        process = await processes.get(process_id)
        if process is None:
            raise NotFound(f"sales process {process_id} not found")
        return ProcessView(process, await processes.stages(process_id))


async def list_processes(db: Database) -> list[ProcessView]:
    async with db.reading() as session:
        processes = ProcessRepository(session)
        return [ProcessView(p, await processes.stages(p.id)) for p in await processes.all()]


def _reason_name(name: str) -> str:
    v = Violations()
    clean = clean_text(name, "name", v, required=True, limit=200)
    v.raise_if_any()
    return clean


async def create_lost_reason(db: Database, name: str) -> LostReasonRow:
    clean = _reason_name(name)
    async with db.transaction() as session:
        reasons = LostReasonRepository(session)
        if await reasons.by_name(clean) is not None:
            raise AlreadyExists(f"lost reason {clean!r} already exists")
        return await reasons.add(LostReasonRow(name=clean))


async def update_lost_reason(db: Database, reason_id: uuid.UUID, name: str, active: bool) -> LostReasonRow:
    clean = _reason_name(name)
    async with db.transaction() as session:
        reasons = LostReasonRepository(session)
        reason = await reasons.get(reason_id)
        if reason is None:
            raise NotFound(f"lost reason {reason_id} not found")
        other = await reasons.by_name(clean)
        if other is not None and other.id != reason.id:
            raise InvalidArgument.single("name", f"another lost reason is called {clean!r}")
        reason.name, reason.active = clean, active
        await session.flush()
        return reason


async def list_lost_reasons(db: Database, include_inactive: bool) -> list[LostReasonRow]:
    async with db.reading() as session:
        return await LostReasonRepository(session).all(include_inactive)
