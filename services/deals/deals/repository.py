"""Deals' queries: the only module that writes SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from deals.domain import Stage, StageCondition
from deals.models import (
    DealHistoryRow,
    DealRow,
    KnownAgreement,
    KnownPartner,
    LostReasonRow,
    ParticipantRow,
    ProcessStageRow,
    SalesProcessRow,
    TaskRow,
)


@dataclass(frozen=True)
class DealFilter:
    process_id: uuid.UUID | None = None
    stage_code: str = ""
    status: str = ""
    manager_id: str = ""
    partner_id: uuid.UUID | None = None
    partner_segment: str = ""
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    lost_reason_id: uuid.UUID | None = None


def _filtered(query: Select[Any], f: DealFilter) -> Select[Any]:
    conditions = []
    if f.process_id is not None:
        conditions.append(DealRow.process_id == f.process_id)
    if f.stage_code:
        conditions.append(DealRow.stage_code == f.stage_code)
    if f.status:
        conditions.append(DealRow.status == f.status)
    if f.manager_id:
        conditions.append(DealRow.manager_id == f.manager_id)
    if f.partner_id is not None:
        conditions.append(DealRow.partner_id == f.partner_id)
    if f.opened_from is not None:
        conditions.append(DealRow.created_at >= f.opened_from)
    if f.opened_to is not None:
        conditions.append(DealRow.created_at < f.opened_to)
    if f.lost_reason_id is not None:
        conditions.append(DealRow.lost_reason_id == f.lost_reason_id)
    if f.partner_segment:
        conditions.append(
            DealRow.partner_id.in_(select(KnownPartner.id).where(KnownPartner.segment == f.partner_segment))
        )
    return query.where(and_(*conditions)) if conditions else query


class DealRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, deal_id: uuid.UUID) -> DealRow | None:
        return await self.session.get(DealRow, deal_id)

    async def lock(self, deal_id: uuid.UUID) -> DealRow | None:
        query = select(DealRow).where(DealRow.id == deal_id).with_for_update()
        return (await self.session.execute(query)).scalars().first()

    async def by_request_id(self, request_id: str) -> DealRow | None:
        query = select(DealRow).where(DealRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def add(self, deal: DealRow) -> DealRow:
        self.session.add(deal)
        await self.session.flush()
        return deal

    async def page(self, f: DealFilter, size: int, after: tuple[datetime, uuid.UUID] | None) -> list[DealRow]:
        query = _filtered(select(DealRow), f)
        if after is not None:
            query = query.where(
                or_(DealRow.created_at < after[0], and_(DealRow.created_at == after[0], DealRow.id < after[1]))
            )
        query = query.order_by(DealRow.created_at.desc(), DealRow.id.desc()).limit(size)
        return list((await self.session.execute(query)).scalars().all())

    async def count(self, f: DealFilter) -> int:
        return int((await self.session.execute(_filtered(select(func.count()).select_from(DealRow), f))).scalar_one())

    async def add_history(self, entry: DealHistoryRow) -> None:
        self.session.add(entry)

    async def history(self, deal_id: uuid.UUID) -> list[DealHistoryRow]:
        query = (
            select(DealHistoryRow)
            .where(DealHistoryRow.deal_id == deal_id)
            .order_by(DealHistoryRow.moved_at, DealHistoryRow.id)
        )
        return list((await self.session.execute(query)).scalars().all())

    async def participants(self, deal_id: uuid.UUID) -> list[tuple[ParticipantRow, str]]:
        query = (
            select(ParticipantRow, KnownPartner.name)
            .join(KnownPartner, KnownPartner.id == ParticipantRow.partner_id, isouter=True)
            .where(ParticipantRow.deal_id == deal_id)
            .order_by(ParticipantRow.role, KnownPartner.name)
        )
        return [(row, name or "") for row, name in (await self.session.execute(query)).all()]

    async def add_participant(self, row: ParticipantRow) -> None:
        statement = insert(ParticipantRow.__table__).values(  # type: ignore[attr-defined]
            deal_id=row.deal_id, partner_id=row.partner_id, role=row.role, note=row.note
        )
        statement = statement.on_conflict_do_update(
            index_elements=["deal_id", "partner_id", "role"], set_={"note": statement.excluded.note}
        )
        await self.session.execute(statement)

    async def remove_participant(self, deal_id: uuid.UUID, partner_id: uuid.UUID, role: str) -> bool:
        result = await self.session.execute(
            delete(ParticipantRow).where(
                ParticipantRow.deal_id == deal_id, ParticipantRow.partner_id == partner_id, ParticipantRow.role == role
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def open_deals_at(self, process_id: uuid.UUID, codes: list[str]) -> list[str]:
        query = (
            select(DealRow.stage_code)
            .where(DealRow.process_id == process_id, DealRow.stage_code.in_(codes), DealRow.status == "in_progress")
            .distinct()
        )
        return [c for c in (await self.session.execute(query)).scalars().all() if c]

    async def repoint_partner(self, merged_ids: list[uuid.UUID], survivor: uuid.UUID) -> None:
        await self.session.execute(
            update(DealRow).where(DealRow.partner_id.in_(merged_ids)).values(partner_id=survivor)
        )
        # A participant already present under the survivor stays once.
        survivor_rows = select(ParticipantRow.deal_id, ParticipantRow.role).where(ParticipantRow.partner_id == survivor)
        moved = await self.session.execute(select(ParticipantRow).where(ParticipantRow.partner_id.in_(merged_ids)))
        taken = {(d, r) for d, r in (await self.session.execute(survivor_rows)).all()}
        for row in moved.scalars().all():
            if (row.deal_id, row.role) in taken:
                await self.session.delete(row)
            else:
                taken.add((row.deal_id, row.role))
                await self.session.execute(
                    update(ParticipantRow)
                    .where(
                        ParticipantRow.deal_id == row.deal_id,
                        ParticipantRow.partner_id == row.partner_id,
                        ParticipantRow.role == row.role,
                    )
                    .values(partner_id=survivor)
                )
        # A deal's own partner is never part of its environment.
        await self.session.execute(
            delete(ParticipantRow).where(
                ParticipantRow.partner_id == survivor,
                ParticipantRow.deal_id.in_(select(DealRow.id).where(DealRow.partner_id == survivor)),
            )
        )


class ProcessRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, process_id: uuid.UUID) -> SalesProcessRow | None:
        return await self.session.get(SalesProcessRow, process_id)

    async def default(self) -> SalesProcessRow | None:
        query = select(SalesProcessRow).where(SalesProcessRow.is_default.is_(True))  # type: ignore[attr-defined]
        return (await self.session.execute(query)).scalars().first()

    async def by_request_id(self, request_id: str) -> SalesProcessRow | None:
        query = select(SalesProcessRow).where(SalesProcessRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def all(self) -> list[SalesProcessRow]:
        query = select(SalesProcessRow).order_by(SalesProcessRow.is_default.desc(), SalesProcessRow.name)  # type: ignore[attr-defined]
        return list((await self.session.execute(query)).scalars().all())

    async def stages(self, process_id: uuid.UUID) -> list[Stage]:
        query = (
            select(ProcessStageRow).where(ProcessStageRow.process_id == process_id).order_by(ProcessStageRow.position)
        )
        rows = (await self.session.execute(query)).scalars().all()
        return [Stage(r.code, r.name, tuple(StageCondition(c) for c in r.exit_conditions)) for r in rows]

    async def add(self, process: SalesProcessRow) -> SalesProcessRow:
        self.session.add(process)
        await self.session.flush()
        return process

    async def replace_stages(self, process_id: uuid.UUID, stages: list[Stage]) -> None:
        await self.session.execute(delete(ProcessStageRow).where(ProcessStageRow.process_id == process_id))
        for position, stage in enumerate(stages):
            self.session.add(
                ProcessStageRow(
                    process_id=process_id,
                    code=stage.code,
                    position=position,
                    name=stage.name,
                    exit_conditions=[c.value for c in stage.exit_conditions],
                )
            )
        await self.session.flush()


class LostReasonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, reason_id: uuid.UUID) -> LostReasonRow | None:
        return await self.session.get(LostReasonRow, reason_id)

    async def by_name(self, name: str) -> LostReasonRow | None:
        query = select(LostReasonRow).where(func.lower(LostReasonRow.name) == name.lower())
        return (await self.session.execute(query)).scalars().first()

    async def all(self, include_inactive: bool) -> list[LostReasonRow]:
        query = select(LostReasonRow).order_by(LostReasonRow.name.collate("uk-UA-x-icu"))
        if not include_inactive:
            query = query.where(LostReasonRow.active.is_(True))  # type: ignore[attr-defined]
        return list((await self.session.execute(query)).scalars().all())

    async def add(self, row: LostReasonRow) -> LostReasonRow:
        self.session.add(row)
        await self.session.flush()
        return row


class TaskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_request_id(self, request_id: str) -> TaskRow | None:
        query = select(TaskRow).where(TaskRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def add(self, task: TaskRow) -> TaskRow:
        self.session.add(task)
        await self.session.flush()
        return task

    async def of_deal(self, deal_id: uuid.UUID) -> list[TaskRow]:
        query = select(TaskRow).where(TaskRow.deal_id == deal_id).order_by(TaskRow.deadline, TaskRow.id)
        return list((await self.session.execute(query)).scalars().all())

    async def set_status(self, command_request_id: str, status: str, interactions_task_id: str | None) -> None:
        values: dict[str, object] = {"status": status}
        if interactions_task_id:
            values["interactions_task_id"] = interactions_task_id
        await self.session.execute(
            update(TaskRow).where(TaskRow.command_request_id == command_request_id).values(**values)
        )


class KnownPartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, partner_id: uuid.UUID) -> KnownPartner | None:
        return await self.session.get(KnownPartner, partner_id)

    async def upsert(self, partner_id: uuid.UUID, *, name: str, manager_id: str, segment: str, version: int) -> None:
        """Keeps the newest version: an older event arriving late changes nothing."""
        table = KnownPartner.__table__  # type: ignore[attr-defined]
        values = {"id": partner_id, "name": name, "manager_id": manager_id, "segment": segment, "version": version}
        statement = insert(table).values(**values, updated_at=utcnow())
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={
                **{k: statement.excluded[k] for k in ("name", "manager_id", "segment", "version")},
                "updated_at": utcnow(),
            },
            where=table.c.version <= statement.excluded.version,
        )
        await self.session.execute(statement)

    async def classify(self, partner_id: uuid.UUID, abc: str, xyz: str) -> None:
        await self.session.execute(
            update(KnownPartner).where(KnownPartner.id == partner_id).values(abc_class=abc, xyz_class=xyz)
        )

    async def mark_merged(self, merged_ids: list[uuid.UUID], survivor: uuid.UUID, version: int) -> None:
        await self.session.execute(
            update(KnownPartner).where(KnownPartner.id.in_(merged_ids)).values(merged_into=survivor)
        )
        await self.session.execute(
            update(KnownPartner)
            .where(KnownPartner.id == survivor, KnownPartner.version < version)
            .values(version=version, updated_at=utcnow())
        )


class AgreementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(
        self,
        agreement_id: uuid.UUID,
        partner_id: uuid.UUID | None,
        segment: str,
        valid_from: date | None,
        valid_to: date | None,
    ) -> None:
        statement = insert(KnownAgreement.__table__).values(  # type: ignore[attr-defined]
            id=agreement_id,
            partner_id=partner_id,
            segment=segment,
            valid_from=valid_from,
            valid_to=valid_to,
            closed=False,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["id"],
            set_={k: statement.excluded[k] for k in ("partner_id", "segment", "valid_from", "valid_to")},
        )
        await self.session.execute(statement)

    async def close(self, agreement_id: uuid.UUID) -> None:
        statement = insert(KnownAgreement.__table__).values(id=agreement_id, segment="", closed=True)  # type: ignore[attr-defined]
        statement = statement.on_conflict_do_update(index_elements=["id"], set_={"closed": True})
        await self.session.execute(statement)

    async def in_force(self, partner: KnownPartner, on: date) -> bool:
        matches = KnownAgreement.partner_id == partner.id
        if partner.segment:
            matches = or_(matches, and_(KnownAgreement.partner_id.is_(None), KnownAgreement.segment == partner.segment))
        query = select(
            exists().where(
                matches,
                KnownAgreement.closed.is_(False),  # type: ignore[attr-defined]
                or_(KnownAgreement.valid_from.is_(None), KnownAgreement.valid_from <= on),
                or_(KnownAgreement.valid_to.is_(None), KnownAgreement.valid_to >= on),
            )
        )
        return bool((await self.session.execute(query)).scalar_one())


@dataclass(frozen=True)
class FunnelRow:
    reached_position: int
    status: str
    stage_code: str
    currency: str
    lost_reason_id: uuid.UUID | None
    deals: int
    expected: Decimal
    won: Decimal


async def funnel_rows(session: AsyncSession, f: DealFilter) -> list[FunnelRow]:
    query = _filtered(
        select(
            DealRow.reached_position,
            DealRow.status,
            DealRow.stage_code,
            DealRow.currency,
            DealRow.lost_reason_id,
            func.count(),
            func.coalesce(func.sum(DealRow.expected_amount), 0),
            func.coalesce(func.sum(DealRow.won_amount), 0),
        ),
        f,
    ).group_by(DealRow.reached_position, DealRow.status, DealRow.stage_code, DealRow.currency, DealRow.lost_reason_id)
    return [
        FunnelRow(pos, status, code or "", currency or "", reason, int(n), Decimal(expected), Decimal(won))
        for pos, status, code, currency, reason, n, expected, won in (await session.execute(query)).all()
    ]
