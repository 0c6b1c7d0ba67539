"""Leads: kept apart from partners until converted."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.db import Database
from crm_platform.outbox import add_event
from partners.domain import LeadData
from partners.events import LeadCreated
from partners.models import LeadRow
from partners.repository import LeadRepository

SOURCE = "crm/partners"


async def create_lead(db: Database, data: LeadData, *, request_id: str) -> LeadRow:
    try:
        async with db.transaction() as session:
            repo = LeadRepository(session)
            earlier = await repo.by_request_id(request_id)
            if earlier is not None:
                return earlier
            row = await repo.add(data, request_id=request_id)
            _announce_created(session, row)
            return row
    except IntegrityError:
        # A concurrent call with the same request_id created it first.
        async with db.reading() as session:
            earlier = await LeadRepository(session).by_request_id(request_id)
        if earlier is None:
            raise
        return earlier


def _announce_created(session: AsyncSession, row: LeadRow) -> None:
    add_event(
        session,
        LeadCreated(
            lead_id=row.id,
            name=row.name,
            company=row.company,
            phone=row.phone,
            email=row.email,
            source=row.source,
            responsible_id=row.responsible_id,
            created_at=row.created_at,
        ),
        source=SOURCE,
    )
