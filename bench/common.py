"""Shared benchmark tools: load loops, percentiles, and the bare gRPC echo baseline."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from crm_platform.testing import KAFKA, auth, free_port


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)

    def summary(self) -> str:
        return (
            f"{self.per_second:,.0f} req/s, p50 {self.percentile(50) * 1000:.2f} ms, "
            f"p99 {self.percentile(99) * 1000:.2f} ms"
        )

    @classmethod
    def combined(cls, results: list[LoadResult]) -> LoadResult:
        return cls(
            sum(r.requests for r in results), sum(r.seconds for r in results), [x for r in results for x in r.latencies]
        )


def gateway_metadata(role: str, **claims: str) -> tuple[tuple[str, str], ...]:
    """What a frontend gateway sends with every call: its bearer token and the request id it
    logs the call under. The echo baseline is sent the same headers as the service."""
    return (*auth(role, **claims), ("x-request-id", f"bench-{uuid.uuid4().hex}"))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run_load(call: Callable[[], Awaitable[object]], *, concurrency: int, seconds: float) -> LoadResult:
    """`concurrency` workers calling `call` back to back for `seconds` (bounded in time)."""
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(len(latencies), time.perf_counter() - began, latencies)


async def alternating(
    measured: Callable[[], Awaitable[object]],
    baseline: Callable[[], Awaitable[object]],
    *,
    rounds: int,
    window: float,
    concurrency: int,
) -> list[tuple[LoadResult, LoadResult]]:
    """Short windows of the measured call and the baseline, one after the other: a neighbour's
    burst of CPU on a shared machine then weighs on both sides instead of on whichever happened
    to run during it. Each side goes first in every other round, so that neither always runs
    in the wake of the other's load."""
    results = []
    for round_ in range(rounds):
        if round_ % 2 == 0:
            first = await run_load(measured, concurrency=concurrency, seconds=window)
            second = await run_load(baseline, concurrency=concurrency, seconds=window)
            results.append((first, second))
        else:
            first = await run_load(baseline, concurrency=concurrency, seconds=window)
            second = await run_load(measured, concurrency=concurrency, seconds=window)
            results.append((second, first))
    return results


async def start_group_at_end(group: str, topics: list[str]) -> int:
    """Commits a new consumer group's offsets at the ends of the topics it reads, so a service
    measured under that group serves in a steady state instead of replaying what other runs left
    on the shared broker (a deployed replica joins its group where it left off). Returns how many
    events were skipped."""
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if not topic.get("error_code")
        for partition in topic["partitions"]
    ]
    if not partitions:
        return 0
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        await consumer.commit({p: ends[p] for p in partitions})
    finally:
        await consumer.stop()
    return sum(ends[p] - starts[p] for p in partitions)


async def timed(call: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    """Latency of `repeat` sequential calls."""
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        found.append(time.perf_counter() - started)
    return found


def describe(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50) * 1000:.1f} ms, p99 {percentile(values, 99) * 1000:.1f} ms, "
        f"mean {statistics.fmean(values) * 1000:.1f} ms over {len(values)}"
    )


@asynccontextmanager
async def echo_server(reply_size: int) -> AsyncIterator[str]:
    """A bare grpc.aio server (no interceptors, no I/O) in its own process, answering
    every unary call with `reply_size` bytes: the ceiling a real service is compared
    against, in the same run and under the same conditions (one process per server)."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.echo_server", str(port), str(reply_size)
    )
    address = f"127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                async with grpc.aio.insecure_channel(address) as channel:
                    await channel.unary_unary("/bench.Echo/Echo")(b"", timeout=0.5)
                break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.1)
        yield address
    finally:
        process.terminate()
        await process.wait()


async def echo_baseline(reply_size: int, request: bytes, *, concurrency: int, seconds: float) -> LoadResult:
    async with echo_server(reply_size) as address, grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_unary("/bench.Echo/Echo")
        return await run_load(lambda: call(request), concurrency=concurrency, seconds=seconds)
