"""The token bucket in Redis holds every replica to one shared rate."""

from __future__ import annotations

import asyncio
import time
import uuid

import redis.asyncio as aioredis

from notifications.throttle import TokenBucket


async def test_two_replicas_share_one_rate(redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    key = f"test:{uuid.uuid4().hex}"
    try:
        replicas = [TokenBucket(redis, key, rate_per_second=40, burst=10) for _ in range(2)]
        started = time.perf_counter()
        await asyncio.gather(*(bucket.take(1) for bucket in replicas for _ in range(25)))
        elapsed = time.perf_counter() - started
    finally:
        await redis.aclose()
    # 50 tokens: 10 from the burst, 40 more at 40/s: about a second, whichever replica asks.
    assert 0.9 <= elapsed < 3.0


async def test_a_full_bucket_gives_its_burst_at_once(redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    try:
        bucket = TokenBucket(redis, f"test:{uuid.uuid4().hex}", rate_per_second=1, burst=20)
        assert await bucket.try_take(20) == 0
        wait = await bucket.try_take(1)
    finally:
        await redis.aclose()
    assert 0.9 < wait <= 1.0
