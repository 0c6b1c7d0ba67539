"""A token bucket in Redis, shared by every replica: one bucket per channel and provider."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

# KEYS[1]: the bucket; ARGV: rate per second, burst, tokens wanted. Time is Redis's own clock,
# so replicas with drifting clocks share one bucket fairly.
# Returns 0 when the tokens were taken, else the seconds to wait before trying again.
TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= want then
  tokens = tokens - want
else
  wait = (want - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


class TokenBucket:
    def __init__(self, redis: Redis, key: str, *, rate_per_second: float, burst: int) -> None:
        self.key = f"notifications:bucket:{key}"
        self.rate = rate_per_second
        self.burst = max(1, burst)
        self._script = redis.register_script(TAKE)

    async def try_take(self, tokens: int = 1) -> float:
        """0 when taken; else how long to wait (nothing is taken then)."""
        wait = await self._script(keys=[self.key], args=[self.rate, self.burst, min(tokens, self.burst)])
        return float(wait)

    async def take(self, tokens: int = 1) -> None:
        """Waits until `tokens` are taken; more than the burst are taken a burst at a time."""
        left = tokens
        while left > 0:
            chunk = min(left, self.burst)
            await self._take_chunk(chunk)
            left -= chunk

    async def _take_chunk(self, tokens: int) -> None:
        while True:
            wait = await self.try_take(tokens)
            if wait <= 0:
                return
            await asyncio.sleep(wait)
