"""Duplicate control: candidates by tax id, phone, e-mail (exact) and name (fuzzy)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from partners.domain import ContactKind, PartnerData
from partners.legal import CounterpartyData
from partners.matching import (
    NAME_THRESHOLD,
    REASON_SCORES,
    Candidate,
    Reason,
    name_key,
    name_score,
    probe_blocks,
    rank,
)
from partners.repository import DuplicateRepository, NamedId, StoredPartner

DEFAULT_LIMIT = 10
MAX_LIMIT = 50


@dataclass(frozen=True)
class Probe:
    """What a partner is recognised by."""

    name: str
    tax_ids: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    @classmethod
    def of_draft(cls, data: PartnerData, counterparties: tuple[CounterpartyData, ...] = ()) -> Probe:
        return cls(
            name=data.name,
            tax_ids=tuple(c.tax_id for c in counterparties if c.tax_id),
            phones=tuple(c.value for c in data.contacts if c.kind is ContactKind.PHONE),
            emails=tuple(c.value for c in data.contacts if c.kind is ContactKind.EMAIL),
        )

    @classmethod
    def of_stored(cls, stored: StoredPartner) -> Probe:
        return cls(
            name=stored.row.name,
            tax_ids=tuple(c.row.tax_id for c in stored.counterparties if c.row.tax_id),
            phones=tuple(c.value for c in stored.contacts if c.kind == ContactKind.PHONE.value),
            emails=tuple(c.value for c in stored.contacts if c.kind == ContactKind.EMAIL.value),
        )


async def find_candidates(
    session: AsyncSession, probe: Probe, *, exclude: uuid.UUID | None = None, limit: int = DEFAULT_LIMIT
) -> list[Candidate]:
    repo = DuplicateRepository(session)
    found: dict[uuid.UUID, Candidate] = {}

    def note(hit: NamedId, reason: str, score: float) -> None:
        if hit.id == exclude:
            return
        found.setdefault(hit.id, Candidate(hit.id, hit.name)).add(reason, score)

    for reason, hit in await repo.exact(list(probe.tax_ids), list(probe.phones), list(probe.emails)):
        note(hit, reason, REASON_SCORES[reason])
    key = name_key(probe.name)
    for name_hit in await repo.by_name(key, probe_blocks(key)):
        score = name_score(key, name_hit.name_key)
        if score >= NAME_THRESHOLD:
            note(NamedId(name_hit.id, name_hit.name), Reason.NAME, score)
    return rank(list(found.values()), limit=limit)
