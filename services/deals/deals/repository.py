"""Deals' queries: the only module that writes SQL."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from deals.models import DealRow, KnownPartner


class DealRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, deal_id: uuid.UUID) -> DealRow | None:
        return await self.session.get(DealRow, deal_id)

    async def by_request_id(self, request_id: str) -> DealRow | None:
        query = select(DealRow).where(DealRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def add(self, deal: DealRow) -> DealRow:
        self.session.add(deal)
        await self.session.flush()
        return deal


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
