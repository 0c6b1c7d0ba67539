"""Changing partners: update (with a version check) and merge; both drop GetPartner's cache."""

from __future__ import annotations

import uuid

from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from crm_platform.outbox import add_event
from partners.domain import PartnerData
from partners.events import PartnerMerged, PartnerUpdated
from partners.partner_cache import PartnerCache
from partners.registration import SOURCE, partner_state
from partners.repository import MergeRepository, PartnerRepository, StoredPartner, lock_keys

MAX_MERGED = 20


async def update_partner(
    db: Database, cache: PartnerCache, partner_id: uuid.UUID, data: PartnerData, *, expected_version: int
) -> StoredPartner:
    async with db.transaction() as session:
        repo = PartnerRepository(session)
        current = await repo.get(partner_id, for_update=True)
        if current is None:
            raise NotFound(f"partner {partner_id} not found")
        if expected_version and current.row.version != expected_version:
            raise FailedPrecondition(
                f"partner {partner_id} is at version {current.row.version}, not {expected_version}; read it again",
                rule="version",
            )
        stored = await repo.update(current.row, data)
        add_event(session, PartnerUpdated(**partner_state(stored), updated_at=stored.row.updated_at), source=SOURCE)  # type: ignore[arg-type]
    await cache.invalidate(partner_id)
    return stored


async def merge_partners(
    db: Database, cache: PartnerCache, survivor_id: uuid.UUID, merged_ids: list[uuid.UUID]
) -> StoredPartner:
    """Repeating a merge that already happened returns the survivor and changes nothing."""
    if not merged_ids:
        raise InvalidArgument.single("merged_ids", "name at least one partner to merge")
    if len(merged_ids) > MAX_MERGED:
        raise InvalidArgument.single("merged_ids", f"at most {MAX_MERGED} at once")
    if survivor_id in merged_ids:
        raise InvalidArgument.single("merged_ids", "must not contain the survivor")
    merged = list(dict.fromkeys(merged_ids))
    async with db.transaction() as session:
        await lock_keys(session, [f"partners:partner:{i}" for i in [survivor_id, *merged]])
        repo = PartnerRepository(session)
        survivor = await repo.get(survivor_id, for_update=True)
        if survivor is None:
            raise NotFound(f"partner {survivor_id} not found")
        missing = []
        for merged_id in merged:
            if await repo.get(merged_id, for_update=True) is None:
                missing.append(merged_id)
        if missing:
            already = [m for m in missing if await repo.survivor_of(m) == survivor_id]
            if len(already) == len(merged):
                return survivor  # the same merge repeated
            gone = [str(m) for m in missing if m not in already]
            raise FailedPrecondition(f"partners {', '.join(gone)} do not exist (merged or never were)", rule="exists")
        await MergeRepository(session).merge(survivor_id, [m for m in merged if m not in missing])
        survivor.row.version += 1
        await session.flush()
        stored = await repo.get(survivor_id)
        assert stored is not None
        add_event(
            session,
            PartnerMerged(partner_id=survivor_id, merged_ids=merged, version=stored.row.version),
            source=SOURCE,
        )
    await cache.invalidate(survivor_id, *merged)
    return stored
