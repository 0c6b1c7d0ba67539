"""Leads: kept apart from partners until converted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, NotFound
from crm_platform.outbox import add_event
from partners.domain import LeadData, LeadState, PartnerData, check_lead_transition, lead_partner
from partners.duplicates import Probe, find_candidates
from partners.events import LeadConverted, LeadCreated, LeadLost, PartnerUpdated
from partners.matching import Candidate
from partners.models import LeadRow
from partners.partner_cache import PartnerCache
from partners.registration import announce_registered, partner_state
from partners.repository import LeadRepository, PartnerRepository, StoredPartner

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


def lead_data(row: LeadRow) -> LeadData:
    return LeadData(
        name=row.name,
        company=row.company,
        phone=row.phone,
        email=row.email,
        source=row.source,
        subject=row.subject,
        tags=tuple(row.tags),
        responsible_id=row.responsible_id,
    )


async def _locked(session: AsyncSession, lead_id: uuid.UUID, expected_version: int) -> LeadRow:
    row = await LeadRepository(session).get(lead_id, for_update=True)
    if row is None:
        raise NotFound(f"lead {lead_id} not found")
    if expected_version and row.version != expected_version:
        raise FailedPrecondition(f"lead {lead_id} is at version {row.version}, not {expected_version}", rule="version")
    return row


def _move(row: LeadRow, target: LeadState) -> None:
    check_lead_transition(LeadState(row.state), target)
    row.state = target.value
    row.version += 1
    row.updated_at = utcnow()


async def take_in_work(db: Database, lead_id: uuid.UUID, *, responsible_id: str, expected_version: int) -> LeadRow:
    async with db.transaction() as session:
        row = await _locked(session, lead_id, expected_version)
        if row.state != LeadState.IN_WORK.value:
            _move(row, LeadState.IN_WORK)
        elif responsible_id and responsible_id != row.responsible_id:
            row.version += 1  # reassigned while in work
            row.updated_at = utcnow()
        if responsible_id:
            row.responsible_id = responsible_id
        return row


async def lose(db: Database, lead_id: uuid.UUID, *, reason: str, comment: str, expected_version: int) -> LeadRow:
    async with db.transaction() as session:
        row = await _locked(session, lead_id, expected_version)
        if row.state == LeadState.LOST.value:
            return row
        _move(row, LeadState.LOST)
        row.lost_reason, row.lost_comment = reason, comment
        add_event(
            session,
            LeadLost(lead_id=row.id, reason=reason, comment=comment, lost_at=row.updated_at),
            source=SOURCE,
        )
        return row


@dataclass(frozen=True)
class Conversion:
    lead: LeadRow
    partner: StoredPartner | None
    duplicates: list[Candidate]


async def convert(
    db: Database,
    cache: PartnerCache,
    lead_id: uuid.UUID,
    *,
    draft: PartnerData | None,
    existing_partner_id: uuid.UUID | None,
    open_deal: bool,
    deal_title: str,
    confirm_duplicates: bool,
) -> Conversion:
    """The lead becomes a new partner (or joins an existing one); the partner keeps the lead's id."""
    async with db.transaction() as session:
        row = await _locked(session, lead_id, 0)
        partners = PartnerRepository(session)
        if row.state == LeadState.CONVERTED.value and row.partner_id is not None:
            return Conversion(row, await partners.get(row.partner_id), [])  # a repeated call
        check_lead_transition(LeadState(row.state), LeadState.CONVERTED)
        if existing_partner_id is not None:
            stored = await partners.get(existing_partner_id, for_update=True)
            if stored is None:
                raise NotFound(f"partner {existing_partner_id} not found")
            if stored.row.lead_id is None:
                stored.row.lead_id = row.id
                stored.row.version += 1
                stored.row.updated_at = utcnow()
                await session.flush()
                add_event(
                    session,
                    PartnerUpdated(**partner_state(stored), updated_at=stored.row.updated_at),  # type: ignore[arg-type]
                    source=SOURCE,
                )
        else:
            data = draft or lead_partner(lead_data(row))
            if not confirm_duplicates:
                candidates = await find_candidates(session, Probe.of_draft(data))
                if candidates:
                    return Conversion(row, None, candidates)
            stored = await partners.add(data, request_id=None, lead_id=row.id)
            stored = await partners.get(stored.row.id)  # type: ignore[assignment]
            assert stored is not None
            announce_registered(session, stored)
        _move(row, LeadState.CONVERTED)
        row.partner_id = stored.row.id
        add_event(
            session,
            LeadConverted(
                lead_id=row.id,
                partner_id=stored.row.id,
                deal_requested=open_deal,
                deal_title=deal_title if open_deal else "",
                responsible_id=row.responsible_id,
                converted_at=row.updated_at,
            ),
            source=SOURCE,
        )
    await cache.invalidate(stored.row.id)
    return Conversion(row, stored, [])
