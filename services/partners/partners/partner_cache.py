"""GetPartner answers from memory, else from Redis, else from the database.

Every change to a partner drops its entry everywhere: in this process at once, in Redis,
and in every other instance of the service through a Redis pub/sub message. The memory
entries also expire after a few seconds, which bounds staleness should an invalidation
message be lost (Redis down, a listener reconnecting).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from crm.partners.v1 import partners_pb2 as pb
from redis.exceptions import RedisError

from crm_platform.cache import Cache

log = logging.getLogger(__name__)

CHANNEL = "crm:partners:partner:invalidated"


class LocalPartners:
    """A bounded LRU of messages with a short time to live."""

    def __init__(self, max_entries: int = 20_000, ttl_seconds: float = 5.0) -> None:
        self._entries: OrderedDict[uuid.UUID, tuple[float, pb.Partner]] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl_seconds

    def get(self, partner_id: uuid.UUID) -> pb.Partner | None:
        found = self._entries.get(partner_id)
        if found is None:
            return None
        if found[0] < time.monotonic():
            self._entries.pop(partner_id, None)
            return None
        self._entries.move_to_end(partner_id)
        return found[1]

    def put(self, partner_id: uuid.UUID, message: pb.Partner) -> None:
        self._entries[partner_id] = (time.monotonic() + self._ttl, message)
        self._entries.move_to_end(partner_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def drop(self, *partner_ids: uuid.UUID) -> None:
        for partner_id in partner_ids:
            self._entries.pop(partner_id, None)

    def clear(self) -> None:
        self._entries.clear()


class PartnerCache:
    def __init__(self, cache: Cache, redis: aioredis.Redis | None = None, local: LocalPartners | None = None) -> None:
        self._cache = cache
        self._redis = redis
        self._local = local or LocalPartners()
        # Bumped by every invalidation: a value read before one must not be cached after it.
        self._generation = 0

    async def get(self, partner_id: uuid.UUID) -> pb.Partner | None:
        message = self._local.get(partner_id)
        if message is not None:
            return message
        generation = self._generation
        raw = await self._cache.get(str(partner_id))
        if raw is None:
            return None
        message = pb.Partner.FromString(raw)
        if generation == self._generation:
            self._local.put(partner_id, message)
        return message

    def token(self) -> int:
        """Taken before reading a partner from the database, handed back to put()."""
        return self._generation

    async def put(self, partner_id: uuid.UUID, message: pb.Partner, token: int | None = None) -> None:
        if token is not None and token != self._generation:
            return  # the partner may have changed since it was read
        self._local.put(partner_id, message)
        await self._cache.set(str(partner_id), message.SerializeToString())

    async def invalidate(self, *partner_ids: uuid.UUID) -> None:
        self._generation += 1
        self._local.drop(*partner_ids)
        await self._cache.delete(*(str(p) for p in partner_ids))
        if self._redis is not None and partner_ids:
            try:
                await self._redis.publish(CHANNEL, ",".join(str(p) for p in partner_ids))
            except RedisError:
                log.warning("redis unavailable; other instances keep %s for at most a few seconds", partner_ids)

    def dropped_elsewhere(self, payload: bytes | str) -> None:
        """Another instance changed these partners."""
        text = payload.decode() if isinstance(payload, bytes) else payload
        self._generation += 1
        try:
            self._local.drop(*(uuid.UUID(p) for p in text.split(",") if p))
        except ValueError:
            self._local.clear()

    def listener(self) -> Callable[[], Awaitable[None]]:
        """The background job keeping this instance's memory in step with the others' changes."""

        async def listen_for_invalidations() -> None:
            assert self._redis is not None
            while True:
                try:
                    async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                        await pubsub.subscribe(CHANNEL)
                        self._local.clear()  # anything may have changed while not listening
                        async for message in pubsub.listen():
                            if message.get("type") == "message":
                                self.dropped_elsewhere(message["data"])
                except asyncio.CancelledError:
                    raise
                except (RedisError, OSError):
                    self._local.clear()
                    log.warning("partner invalidation listener lost Redis; retrying", exc_info=True)
                    await asyncio.sleep(1.0)

        return listen_for_invalidations
