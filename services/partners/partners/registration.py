"""Registering a partner: validated, stored and announced in one transaction."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.db import Database
from crm_platform.outbox import add_event
from partners.domain import PartnerData
from partners.events import ContactPoint, PartnerRegistered
from partners.repository import PartnerRepository, StoredPartner

SOURCE = "crm/partners"


async def register_partner(db: Database, data: PartnerData, *, request_id: str | None) -> StoredPartner:
    try:
        return await _register(db, data, request_id)
    except IntegrityError:
        # Two calls with one request_id raced; the other one registered the partner.
        if not request_id:
            raise
        async with db.reading() as session:
            earlier = await PartnerRepository(session).by_request_id(request_id)
        if earlier is None:
            raise
        return earlier


async def _register(db: Database, data: PartnerData, request_id: str | None) -> StoredPartner:
    async with db.transaction() as session:
        repo = PartnerRepository(session)
        if request_id:
            earlier = await repo.by_request_id(request_id)
            if earlier is not None:
                return earlier
        stored = await repo.add(data, request_id=request_id)
        announce_registered(session, stored)
        return stored


def announce_registered(session: AsyncSession, stored: StoredPartner) -> None:
    row = stored.row
    add_event(
        session,
        PartnerRegistered(
            partner_id=row.id,
            name=row.name,
            roles=list(row.roles),
            manager_id=row.manager_id,
            segment=row.segment,
            region=row.region,
            tags=list(row.tags),
            source=row.source,
            contacts=[ContactPoint(kind=c.kind, value=c.value, label=c.label) for c in stored.contacts],
            registered_at=row.created_at,
            version=row.version,
        ),
        source=SOURCE,
    )
