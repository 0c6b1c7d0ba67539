"""Redis caches. The database stays the source of truth: a Redis failure is a miss."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class Cache:
    def __init__(self, client: aioredis.Redis, namespace: str, ttl_seconds: int = 300) -> None:
        self._redis = client
        self._ns = namespace
        self._ttl = ttl_seconds

    def _key(self, key: str) -> str:
        return f"crm:{self._ns}:{key}"

    async def get(self, key: str) -> bytes | None:
        try:
            return await self._redis.get(self._key(key))
        except RedisError:
            log.warning("redis unavailable; cache miss for %s", key)
            return None

    async def set(self, key: str, value: bytes) -> None:
        try:
            await self._redis.set(self._key(key), value, ex=self._ttl)
        except RedisError:
            log.warning("redis unavailable; %s not cached", key)

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            await self._redis.delete(*(self._key(k) for k in keys))
        except RedisError:
            # A stale entry would outlive the TTL only if Redis comes back holding it;
            # the TTL bounds how long.
            log.warning("redis unavailable; could not invalidate %s", keys)

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[bytes | None]]) -> bytes | None:
        cached = await self.get(key)
        if cached is not None:
            return cached
        value = await load()
        if value is not None:
            await self.set(key, value)
        return value
