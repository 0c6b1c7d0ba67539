"""Registering a partner (the wizard): partner, contacts, counterparties with bank
accounts and contact persons, validated, stored and announced in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.db import Database
from crm_platform.outbox import add_event
from partners.domain import PartnerData, PersonData
from partners.duplicates import Probe, find_candidates
from partners.events import ContactPoint, PartnerRegistered
from partners.legal import CounterpartyData
from partners.matching import Candidate
from partners.repository import (
    CounterpartyRepository,
    PartnerRepository,
    PersonRepository,
    StoredPartner,
    StoredPerson,
)

SOURCE = "crm/partners"


@dataclass(frozen=True)
class Registration:
    partner: PartnerData
    counterparties: tuple[CounterpartyData, ...] = ()
    persons: tuple[PersonData, ...] = ()


@dataclass(frozen=True)
class Registered:
    partner: StoredPartner | None
    persons: list[StoredPerson] = field(default_factory=list)
    duplicates: list[Candidate] = field(default_factory=list)


async def register_partner(
    db: Database, data: PartnerData | Registration, *, request_id: str | None, confirm_duplicates: bool = True
) -> Registered:
    registration = data if isinstance(data, Registration) else Registration(data)
    try:
        return await _register(db, registration, request_id, confirm_duplicates)
    except IntegrityError:
        # Two calls with one request_id raced; the other one registered the partner.
        if not request_id:
            raise
        async with db.reading() as session:
            earlier = await _earlier(session, request_id)
        if earlier is None:
            raise
        return earlier


async def _earlier(session: AsyncSession, request_id: str) -> Registered | None:
    stored = await PartnerRepository(session).by_request_id(request_id)
    if stored is None:
        return None
    full = await PartnerRepository(session).get(stored.row.id)
    return Registered(full, await PersonRepository(session).of_partner(stored.row.id))


async def _register(db: Database, data: Registration, request_id: str | None, confirm: bool) -> Registered:
    async with db.transaction() as session:
        if request_id:
            earlier = await _earlier(session, request_id)
            if earlier is not None:
                return earlier
        if not confirm:
            candidates = await find_candidates(session, Probe.of_draft(data.partner, data.counterparties))
            if candidates:
                return Registered(None, duplicates=candidates)
        repo = PartnerRepository(session)
        stored = await repo.add(data.partner, request_id=request_id)
        counterparties = CounterpartyRepository(session)
        for counterparty in data.counterparties:
            await counterparties.add(stored.row.id, counterparty)
        persons = PersonRepository(session)
        for person in data.persons:
            row = await persons.add(person)
            await persons.link(row.id, stored.row.id, person.position, person.decision_role.value)
        full = await repo.get(stored.row.id)
        assert full is not None
        announce_registered(session, full)
        return Registered(full, await persons.of_partner(stored.row.id))


def partner_state(stored: StoredPartner) -> dict[str, object]:
    """The partner's whole state as registered/updated events carry it."""
    row = stored.row
    return {
        "partner_id": row.id,
        "name": row.name,
        "roles": list(row.roles),
        "manager_id": row.manager_id,
        "segment": row.segment,
        "region": row.region,
        "tags": list(row.tags),
        "source": row.source,
        "contacts": [ContactPoint(kind=c.kind, value=c.value, label=c.label) for c in stored.contacts],
        "tax_ids": [c.row.tax_id for c in stored.counterparties if c.row.tax_id],
        "lead_id": row.lead_id,
        "version": row.version,
    }


def announce_registered(session: AsyncSession, stored: StoredPartner) -> None:
    add_event(
        session,
        PartnerRegistered(**partner_state(stored), registered_at=stored.row.created_at),  # type: ignore[arg-type]
        source=SOURCE,
    )
