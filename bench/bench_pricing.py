"""pricing: Quote throughput for a 10-line quote against the bare echo server (same reply
size, same run), and the time to recalculate derived prices of 100,000 products across
5 derived price types (two of them chained).

A scratch database is loaded with COPY; Quote is measured through the gRPC API of the
service running as its own process (python -m pricing), in short windows alternating with
the echo server's so that the ratio compares like with like on a shared machine. The
service's consumer group starts at the end of the topics it reads, as a deployed replica
rejoining its group would: replaying other runs' history is not what is measured.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import grpc
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc

from bench.common import LoadResult, alternating, echo_server, gateway_metadata, start_group_at_end
from crm_platform.db import Database
from crm_platform.localrun import ServiceProcess
from crm_platform.migrations import upgrade
from crm_platform.testing import ADMIN_DSN, STATE, db_url, free_port
from pricing.app import SPEC
from pricing.price_types import recalculate

PRODUCTS = 100_000
LINES = 10
CONCURRENCY = 16
ROUNDS = 5
WINDOW = 3.0
NAMES = ["Насіння", "Добриво", "Олія", "Борошно", "Цукор", "Фарба", "Цемент", "Лопата", "Насос", "Дриль"]
# (name, base index, markup %, step, mode): index 0 is the base price type
DERIVED = [
    ("Оптова", 0, Decimal("12.5"), Decimal("0.01"), "half_up"),
    ("Дрібнооптова", 0, Decimal("20"), Decimal("1"), "up"),
    ("Роздрібна", 0, Decimal("35"), Decimal("5"), "half_up"),
    ("Дилерська", 1, Decimal("-4"), Decimal("0.01"), "half_even"),
    ("Акційна", 3, Decimal("-10"), Decimal("1"), "down"),
]


async def main() -> None:
    name = f"bench_pricing_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(upgrade, SPEC.migrations_dir, db_url(name))
        base_id, type_ids, product_ids = await load(name)
        await recalculation(name, base_id, type_ids)
        await quote_throughput(name, product_ids)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def load(name: str) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    conn = await asyncpg.connect(db_url(name).replace("postgresql+asyncpg", "postgresql"))
    rng = random.Random(7)
    now = datetime.now(UTC)
    product_ids = [uuid.uuid4() for _ in range(PRODUCTS)]
    await conn.copy_records_to_table(
        "product",
        records=[
            (
                pid,
                f"SKU-{i:06d}",
                f"{NAMES[i % len(NAMES)]} {i}",
                f"{NAMES[i % len(NAMES)].lower()} {i}",
                "шт",
                Decimal(20),
                Decimal(rng.randrange(100, 100_000)) / 100,
                "UAH",
                None,
                now,
            )
            for i, pid in enumerate(product_ids)
        ],
        columns=[
            "id",
            "sku",
            "name",
            "name_folded",
            "unit",
            "vat_rate",
            "cost",
            "cost_currency",
            "request_id",
            "created_at",
        ],
    )
    type_ids = [uuid.uuid4() for _ in range(len(DERIVED) + 1)]
    await conn.execute(
        "INSERT INTO price_type (id, name, currency, includes_vat, is_default, updated_at) "
        "VALUES ($1, 'Базова', 'UAH', true, true, now())",
        type_ids[0],
    )
    for i, (title, base, markup, step, mode) in enumerate(DERIVED, start=1):
        await conn.execute(
            "INSERT INTO price_type (id, name, currency, includes_vat, base_id, markup_percent, rounding_step, "
            "rounding_mode, is_default, updated_at) VALUES ($1, $2, 'UAH', true, $3, $4, $5, $6, false, now())",
            type_ids[i],
            title,
            type_ids[base],
            markup,
            step,
            mode,
        )
    await conn.copy_records_to_table(
        "price",
        records=[
            (type_ids[0], pid, date(2026, 1, 1), Decimal(rng.randrange(1000, 1_000_000)) / 100, False)
            for pid in product_ids
        ],
        columns=["price_type_id", "product_id", "effective_from", "amount", "derived"],
    )
    await conn.close()
    return type_ids[0], type_ids[1:], product_ids


async def recalculation(name: str, base_id: uuid.UUID, type_ids: list[uuid.UUID]) -> None:
    db = Database(db_url(name), pool_size=2)
    try:
        started = time.perf_counter()
        async with db.transaction() as session:
            written = await recalculate(session, {base_id}, None, include_roots=False)
        elapsed = time.perf_counter() - started
    finally:
        await db.dispose()
    rows = sum(written.values())
    assert set(written) == set(type_ids)
    print(
        f"derived prices recalculated: {PRODUCTS:,} products x {len(written)} derived price types "
        f"({rows:,} prices, exact numeric rules in PostgreSQL, chains of 3) in {elapsed:.2f} s "
        f"({rows / elapsed:,.0f} prices/s)"
    )


async def quote_throughput(name: str, product_ids: list[uuid.UUID]) -> None:
    skipped = await start_group_at_end(name, SPEC.consumer.topics if SPEC.consumer else [])
    print(f"consumer group starts at the end of its topics ({skipped:,} earlier events not replayed)")
    process = ServiceProcess(
        name="pricing",
        grpc_port=free_port(),
        http_port=free_port(),
        database=name,
        log_path=STATE / "logs" / "bench" / f"{name}.log",
        env_overrides={"CRM_LOG_LEVEL": "WARNING", "CRM_KAFKA_GROUP_ID": name},
    )
    process.start()
    try:
        await asyncio.to_thread(process.wait_serving, 90.0)
        request = pb.QuoteRequest(
            partner_id=str(uuid.uuid4()),
            on="2026-03-01",
            lines=[
                pb.QuoteLine(product_id=str(pid), quantity=str(i + 1), manual_discount_percent="2")
                for i, pid in enumerate(random.Random(3).sample(product_ids, LINES))
            ],
        )
        metadata = gateway_metadata("service")
        async with grpc.aio.insecure_channel(process.address) as channel:
            stub = pb_grpc.PricingServiceStub(channel)
            started = time.perf_counter()
            reply = await stub.Quote(request, metadata=metadata)
            print(
                f"first Quote (loads the price table of {PRODUCTS:,} products): {time.perf_counter() - started:.2f} s"
            )
            for _ in range(200):
                await stub.Quote(request, metadata=metadata)
            reply_size = len(reply.SerializeToString())
            raw = request.SerializeToString()
            # The same client on both sides: serialized bytes in and out (the echo's client does
            # not parse its reply either), so the client's own cost does not weigh on one side only.
            quote_call = channel.unary_unary("/crm.pricing.v1.PricingService/Quote")
            assert pb.QuoteResponse.FromString(await quote_call(raw, metadata=metadata)) == reply
            async with echo_server(reply_size) as echo_address, grpc.aio.insecure_channel(echo_address) as echo_channel:
                echo_call = echo_channel.unary_unary("/bench.Echo/Echo")
                rounds = await alternating(
                    lambda: quote_call(raw, metadata=metadata),
                    lambda: echo_call(raw, metadata=metadata),
                    rounds=ROUNDS,
                    window=WINDOW,
                    concurrency=CONCURRENCY,
                )
    finally:
        await asyncio.to_thread(process.stop, 15.0)
    measured, echo = LoadResult.combined([q for q, _ in rounds]), LoadResult.combined([e for _, e in rounds])
    ratios = sorted(q.per_second / e.per_second for q, e in rounds)
    print(
        f"{ROUNDS} alternating rounds of {WINDOW:.0f} s each; per-round ratios " + ", ".join(f"{r:.2f}" for r in ratios)
    )
    print(f"Quote ({LINES} lines, {reply_size} B reply): {measured.summary()}")
    print(f"echo baseline ({reply_size} B reply):      {echo.summary()}")
    print(f"Quote / echo throughput ratio: {measured.per_second / echo.per_second:.2f} (all rounds together)")
