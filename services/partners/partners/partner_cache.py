"""GetPartner answers from Redis when it can; every change to a partner drops its entry."""

from __future__ import annotations

import uuid

from crm.partners.v1 import partners_pb2 as pb

from crm_platform.cache import Cache


class PartnerCache:
    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    async def get(self, partner_id: uuid.UUID) -> pb.Partner | None:
        raw = await self._cache.get(str(partner_id))
        return None if raw is None else pb.Partner.FromString(raw)

    async def put(self, partner_id: uuid.UUID, message: pb.Partner) -> None:
        await self._cache.set(str(partner_id), message.SerializeToString())

    async def invalidate(self, *partner_ids: uuid.UUID) -> None:
        await self._cache.delete(*(str(p) for p in partner_ids))
