"""claims' queries: the only module that writes SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from claims.domain import OPEN_STATUSES, ActivityStatus, Progress, progress_of
from claims.models import ActivityRow, ClaimRow, FileRow, InteractionRow, KnownPartner, ReasonRow, StatusChangeRow
from crm_platform.clock import utcnow
from crm_platform.paging import PageToken


class ReasonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self, *, include_archived: bool) -> Sequence[ReasonRow]:
        query = select(ReasonRow).order_by(ReasonRow.name)
        if not include_archived:
            query = query.where(ReasonRow.archived.is_(False))  # type: ignore[attr-defined]
        return (await self.session.execute(query)).scalars().all()

    async def get(self, code: str) -> ReasonRow | None:
        return await self.session.get(ReasonRow, code)

    async def by_codes(self, codes: Sequence[str]) -> dict[str, ReasonRow]:
        rows = (await self.session.execute(select(ReasonRow).where(ReasonRow.code.in_(codes)))).scalars()  # type: ignore[attr-defined]
        return {r.code: r for r in rows}

    async def add(self, reason: ReasonRow) -> ReasonRow:
        self.session.add(reason)
        await self.session.flush()
        return reason


@dataclass(frozen=True)
class ClaimFilter:
    partner_id: uuid.UUID | None = None
    status: str | None = None
    culprit_department: str = ""
    responsible_id: str = ""


class ClaimRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, claim_id: uuid.UUID, *, for_update: bool = False) -> ClaimRow | None:
        query = select(ClaimRow).where(ClaimRow.id == claim_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalars().first()

    async def by_request_id(self, request_id: str) -> ClaimRow | None:
        query = select(ClaimRow).where(ClaimRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def add(self, claim: ClaimRow) -> ClaimRow:
        self.session.add(claim)
        await self.session.flush()
        await self.session.refresh(claim, ["number"])
        return claim

    async def page(self, where: ClaimFilter, size: int, after: PageToken | None) -> tuple[list[ClaimRow], bool]:
        """Newest first, keyed by number; one row more than asked tells whether more follow."""
        query = select(ClaimRow)
        if where.partner_id is not None:
            query = query.where(ClaimRow.partner_id == where.partner_id)
        if where.status:
            query = query.where(ClaimRow.status == where.status)
        if where.culprit_department:
            query = query.where(ClaimRow.culprit_department == where.culprit_department)
        if where.responsible_id:
            query = query.where(ClaimRow.responsible_id == where.responsible_id)
        if after is not None:
            query = query.where(ClaimRow.number < int(after.key))
        rows = list((await self.session.execute(query.order_by(ClaimRow.number.desc()).limit(size + 1))).scalars())  # type: ignore[attr-defined]
        return rows[:size], len(rows) > size

    async def add_change(self, change: StatusChangeRow) -> None:
        self.session.add(change)
        await self.session.flush()

    async def history(self, claim_id: uuid.UUID) -> Sequence[StatusChangeRow]:
        query = select(StatusChangeRow).where(StatusChangeRow.claim_id == claim_id).order_by(StatusChangeRow.changed_at)
        return (await self.session.execute(query)).scalars().all()

    async def bump(self, claim: ClaimRow) -> None:
        claim.version += 1
        await self.session.flush()


class ActivityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_claim(self, claim_id: uuid.UUID) -> Sequence[ActivityRow]:
        query = select(ActivityRow).where(ActivityRow.claim_id == claim_id).order_by(ActivityRow.created_at)
        return (await self.session.execute(query)).scalars().all()

    async def by_request_id(self, claim_id: uuid.UUID, request_id: str) -> ActivityRow | None:
        query = select(ActivityRow).where(ActivityRow.claim_id == claim_id, ActivityRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def get_for_update(self, activity_id: uuid.UUID) -> ActivityRow | None:
        query = select(ActivityRow).where(ActivityRow.id == activity_id).with_for_update()
        return (await self.session.execute(query)).scalars().first()

    async def add(self, activity: ActivityRow) -> ActivityRow:
        self.session.add(activity)
        await self.session.flush()
        return activity

    async def progress(self, claim_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Progress]:
        query = select(ActivityRow.claim_id, ActivityRow.status).where(ActivityRow.claim_id.in_(claim_ids))  # type: ignore[attr-defined]
        statuses: dict[uuid.UUID, list[ActivityStatus]] = {c: [] for c in claim_ids}
        for claim_id, status in await self.session.execute(query):
            statuses[claim_id].append(ActivityStatus(status))
        return {c: progress_of(s) for c, s in statuses.items()}


class FileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_claim(self, claim_id: uuid.UUID) -> Sequence[FileRow]:
        query = select(FileRow).where(FileRow.claim_id == claim_id).order_by(FileRow.uploaded_at)
        return (await self.session.execute(query)).scalars().all()

    async def get(self, claim_id: uuid.UUID, file_id: uuid.UUID) -> FileRow | None:
        query = select(FileRow).where(FileRow.id == file_id, FileRow.claim_id == claim_id)
        return (await self.session.execute(query)).scalars().first()

    async def by_request_id(self, claim_id: uuid.UUID, request_id: str) -> FileRow | None:
        query = select(FileRow).where(FileRow.claim_id == claim_id, FileRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def add(self, row: FileRow) -> FileRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def mark_corrupt(self, file_id: uuid.UUID) -> None:
        await self.session.execute(update(FileRow).where(FileRow.id == file_id).values(corrupt=True))  # type: ignore[arg-type]


class InteractionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_claim(self, claim_id: uuid.UUID) -> Sequence[InteractionRow]:
        query = select(InteractionRow).where(InteractionRow.claim_id == claim_id).order_by(InteractionRow.occurred_at)
        return (await self.session.execute(query)).scalars().all()

    async def remember(self, row: InteractionRow) -> None:
        table = InteractionRow.__table__  # type: ignore[attr-defined]
        values = {c.name: getattr(row, c.name) for c in table.columns}
        statement = insert(table).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.interaction_id],
                set_={k: statement.excluded[k] for k in ("kind", "partner_id", "responsible_id", "occurred_at")},
            )
        )

    async def processed(self, interaction_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(InteractionRow).where(InteractionRow.interaction_id == interaction_id).values(processed_at=at)  # type: ignore[arg-type]
        )


OPEN = tuple(str(s) for s in OPEN_STATUSES)


class AnalyticsRepository:
    """The analytics reports' SQL; every period is [start, end) in UTC."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def registered_by_month(self, start: date, end: date) -> list[tuple[date, str, int, int]]:
        """(month, department at fault, registered, still open) in one pass over the period."""
        rows = await self.session.execute(
            text(
                """
                SELECT date_trunc('month', registered_at, 'UTC') AS month, culprit_department, count(*),
                       count(*) FILTER (WHERE status IN :open)
                FROM claim
                WHERE registered_at >= CAST(:start AS timestamp) AT TIME ZONE 'UTC'
                  AND registered_at < CAST(:end AS timestamp) AT TIME ZONE 'UTC'
                GROUP BY 1, 2
                """
            ).bindparams(bindparam("open", expanding=True)),
            {"start": start, "end": end, "open": OPEN},
        )
        return [(r[0].astimezone(UTC).date(), r[1], int(r[2]), int(r[3])) for r in rows]

    async def closed_by_month(self, start: date, end: date) -> dict[date, int]:
        rows = await self.session.execute(
            text(
                """
                SELECT date_trunc('month', closed_at, 'UTC'), count(*)
                FROM claim
                WHERE closed_at >= CAST(:start AS timestamp) AT TIME ZONE 'UTC'
                  AND closed_at < CAST(:end AS timestamp) AT TIME ZONE 'UTC'
                GROUP BY 1
                """
            ),
            {"start": start, "end": end},
        )
        return {r[0].astimezone(UTC).date(): int(r[1]) for r in rows}

    async def satisfaction(self, start: date, end: date) -> dict[str, tuple[int, int, int, int]]:
        """reason code → (closed with an outcome, satisfied, partly satisfied, rejected)."""
        rows = await self.session.execute(
            text(
                """
                SELECT reason, count(*),
                       count(*) FILTER (WHERE status = 'satisfied'),
                       count(*) FILTER (WHERE status = 'partly_satisfied'),
                       count(*) FILTER (WHERE status = 'rejected')
                FROM claim, unnest(reason_codes) AS reason
                WHERE closed_at >= CAST(:start AS timestamp) AT TIME ZONE 'UTC'
                  AND closed_at < CAST(:end AS timestamp) AT TIME ZONE 'UTC'
                  AND status IN ('satisfied', 'partly_satisfied', 'rejected')
                GROUP BY reason
                """
            ),
            {"start": start, "end": end},
        )
        return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}

    async def structure_counts(self, start: date, end: date) -> tuple[dict[str, int], dict[str, int], int]:
        """Claims registered in the period per department and per employee at fault, and in all,
        in one pass."""
        rows = await self.session.execute(
            text(
                """
                SELECT GROUPING(culprit_department), GROUPING(culprit_employee_id),
                       culprit_department, culprit_employee_id, count(*)
                FROM claim
                WHERE registered_at >= CAST(:start AS timestamp) AT TIME ZONE 'UTC'
                  AND registered_at < CAST(:end AS timestamp) AT TIME ZONE 'UTC'
                GROUP BY GROUPING SETS ((culprit_department), (culprit_employee_id), ())
                """
            ),
            {"start": start, "end": end},
        )
        departments: dict[str, int] = {}
        employees: dict[str, int] = {}
        total = 0
        for no_department, no_employee, department, employee, count in rows:
            if no_department and no_employee:
                total = int(count)
            elif not no_department and department:
                departments[department] = int(count)
            elif not no_employee and employee:
                employees[employee] = int(count)
        return departments, employees, total

    async def reason_counts(self, start: date, end: date) -> dict[str, int]:
        rows = await self.session.execute(
            text(
                """
                SELECT reason, count(*)
                FROM claim, unnest(reason_codes) AS reason
                WHERE registered_at >= CAST(:start AS timestamp) AT TIME ZONE 'UTC'
                  AND registered_at < CAST(:end AS timestamp) AT TIME ZONE 'UTC'
                GROUP BY reason
                """
            ),
            {"start": start, "end": end},
        )
        return {r[0]: int(r[1]) for r in rows}


class KnownPartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, partner_id: uuid.UUID) -> KnownPartner | None:
        return await self.session.get(KnownPartner, partner_id)

    async def names(self, partner_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        query = select(KnownPartner.id, KnownPartner.name).where(KnownPartner.id.in_(partner_ids))  # type: ignore[attr-defined]
        return {row[0]: row[1] for row in await self.session.execute(query)}

    async def upsert(self, partner_id: uuid.UUID, *, name: str, manager_id: str, version: int) -> None:
        """Keeps the newest version: an older event arriving late changes nothing."""
        table = KnownPartner.__table__  # type: ignore[attr-defined]
        statement = insert(table).values(
            id=partner_id, name=name, manager_id=manager_id, version=version, updated_at=utcnow()
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.id],
                set_={
                    "name": statement.excluded.name,
                    "manager_id": statement.excluded.manager_id,
                    "version": statement.excluded.version,
                    "updated_at": utcnow(),
                },
                where=table.c.version < statement.excluded.version,
            )
        )

    async def merge(self, merged: Sequence[uuid.UUID], survivor: uuid.UUID) -> None:
        """Claims of partners merged into another now name the survivor."""
        await self.session.execute(
            update(ClaimRow).where(ClaimRow.partner_id.in_(merged)).values(partner_id=survivor)  # type: ignore[attr-defined,arg-type]
        )
        await self.session.execute(delete(KnownPartner).where(KnownPartner.id.in_(merged)))  # type: ignore[attr-defined]
