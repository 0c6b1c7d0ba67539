"""deals: shop orders accepted per second end to end (pushed → partner found or created by
partners → priced by pricing → order committed → its crm.deals.order.placed consumed),
beside this machine's limit for one order row plus one outbox row in PostgreSQL; and
the sales funnel's response time over 1,000,000 deals loaded with COPY."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import grpc
from crm.common.v1 import common_pb2
from crm.deals.v1 import deals_pb2 as pb
from crm.deals.v1 import deals_pb2_grpc as pb_grpc
from crm.pricing.v1 import pricing_pb2 as ppb
from crm.pricing.v1 import pricing_pb2_grpc as ppb_grpc

from bench.common import LoadResult, describe, run_load, timed
from crm_platform.db import Database
from crm_platform.ids import new_id
from crm_platform.migrations import upgrade
from crm_platform.outbox import add_event
from crm_platform.testing import PG_PORT, Databases, KafkaProbe, Services, auth, db_url, header
from deals.events import OrderPlaced
from deals.funnel import funnel
from deals.models import OrderRow
from deals.repository import DealFilter

LOAD_SECONDS = 60
CONCURRENCY = 24
FUNNEL_DEALS = 1_000_000
MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "deals" / "migrations"
DEFAULT_PROCESS = uuid.UUID("0193b1a0-0000-7000-8000-000000000001")
STAGES = [
    "new",
    "first_contact",
    "qualification",
    "presentation",
    "proposal",
    "terms",
    "preparing_fulfilment",
    "fulfilment",
]
REASONS = [uuid.UUID(f"0193b1a0-0000-7000-8000-00000000010{i}") for i in range(1, 6)]


async def main() -> None:
    run_id = uuid.uuid4().hex[:6]
    databases = Databases(f"bench{run_id}")
    services = Services(f"bench{run_id}", databases, [], {})
    try:
        await shop_orders_end_to_end(services)
        for process in services.started:
            await asyncio.to_thread(process.stop, 15.0)
        await order_row_limit(databases)
        await funnel_over_a_million(databases)
    finally:
        for process in services.started:
            await asyncio.to_thread(process.stop, 15.0)
        await databases.drop_all()


async def catalogue(address: str) -> list[str]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = ppb_grpc.PricingServiceStub(channel)
        price_type = await stub.CreatePriceType(
            ppb.CreatePriceTypeRequest(name="Роздрібна", currency="UAH", includes_vat=True, is_default=True),
            metadata=auth("head"),
        )
        skus = [f"SKU-{i:03d}" for i in range(20)]
        for sku in skus:
            await stub.CreateProduct(
                ppb.CreateProductRequest(
                    sku=sku,
                    name=f"Товар {sku}",
                    unit="шт",
                    vat_rate="20",
                    cost=common_pb2.Money(amount="100.00", currency="UAH"),
                ),
                metadata=auth("head"),
            )
        await stub.SetPrices(
            ppb.SetPricesRequest(
                price_type_id=price_type.id,
                effective_from="2020-01-01",
                prices=[ppb.PriceInput(sku=sku, price="149.90") for sku in skus],
            ),
            metadata=auth("head"),
        )
    return [price_type.id, *skus]


async def placed_consumed_by_partners(database: str, event_ids: list[str]) -> int:
    """How many of these order.placed events partners recorded in its inbox (i.e. handled)."""
    conn = await asyncpg.connect(f"postgresql://crm:crm@127.0.0.1:{PG_PORT}/{database}")
    try:
        return int(await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = ANY($1::text[])", event_ids))
    finally:
        await conn.close()


async def shop_orders_end_to_end(services: Services) -> None:
    partners = await services.start("partners")
    pricing = await services.start("pricing")
    deals = await services.start("deals", env={"CRM_DATABASE_POOL_SIZE": "20"})
    price_type_id, *skus = await catalogue(pricing.address)
    async with grpc.aio.insecure_channel(deals.address) as channel:
        shops = pb_grpc.ShopServiceStub(channel)
        await shops.RegisterShop(
            pb.RegisterShopRequest(shop_id="bench-shop", name="Магазин", price_type_id=price_type_id, currency="UAH"),
            metadata=auth("head"),
        )
        metadata = auth("shop", shop_id="bench-shop")
        counter = itertools.count()

        async def push() -> None:
            n = next(counter)
            await shops.PushOrder(
                pb.PushOrderRequest(
                    shop_order_id=f"o-{n}",
                    customer=pb.ShopCustomer(id=f"c-{n}", name=f"Покупець {n}", phone=f"+38050{n % 10**7:07d}"),
                    lines=[pb.ShopLine(sku=random.choice(skus), quantity="2"), pb.ShopLine(sku=skus[0], quantity="1")],
                ),
                metadata=metadata,
                timeout=30,
            )

        for _ in range(20):  # warm-up: connections, caches
            await push()
        async with KafkaProbe("crm.deals.order.v1") as probe:
            result = await run_load(push, concurrency=CONCURRENCY, seconds=LOAD_SECONDS)
            drain_started = time.perf_counter()
            mine: list[str] = []
            while len(mine) < result.requests and time.perf_counter() - drain_started < 120:
                await probe.collect(0.5)
                mine = [
                    str(header(r, "ce_id"))
                    for r in probe.seen
                    if header(r, "ce_type") == "crm.deals.order.placed" and b'"bench-shop"' in (r.value or b"")
                ]
            published, published_after = len(mine), time.perf_counter() - drain_started
        consumed = 0
        deadline = time.perf_counter() + 20
        while time.perf_counter() < deadline:
            consumed = await placed_consumed_by_partners(partners.database, mine)
            if consumed >= result.requests:
                break
            await asyncio.sleep(0.5)
    print(
        f"shop orders end to end: {result.per_second:,.1f} orders/s accepted over {result.seconds:.0f} s "
        f"({result.requests} orders, {CONCURRENCY} shops' connections at once; partner found/created by partners, "
        f"priced + CheckTerms by pricing, deal + order + outbox committed); {result.summary()}"
    )
    print(f"  order.placed of {published}/{result.requests} orders on Kafka {published_after:.1f} s after the load")
    if consumed >= result.requests:
        print(
            f"  partners consumed all {consumed} of them (its inbox), {time.perf_counter() - drain_started:.1f} s after"
        )
    else:
        print(f"  partners consumed {consumed} of {result.requests} order.placed events (it does not subscribe yet)")


async def order_row_limit(databases: Databases) -> None:
    url = await databases.migrated("deals_rowlimit", MIGRATIONS)
    db = Database(url, pool_size=16)
    partner = uuid.uuid4()
    lines = [{"sku": "SKU-001", "quantity": "2", "price": "149.90", "total": "299.80", "shipped": "0"}]

    async def write() -> None:
        async with db.transaction() as session:
            order = OrderRow(
                id=new_id(),
                deal_id=uuid.uuid4(),
                partner_id=partner,
                kind="shop",
                state="new",
                currency="UAH",
                total=Decimal("299.80"),
                lines=lines,
                totals={"total": "299.80"},
                shop_id="bench",
                shop_order_id=uuid.uuid4().hex,
            )
            session.add(order)
            add_event(
                session,
                OrderPlaced(
                    order_id=order.id,
                    deal_id=order.deal_id,
                    partner_id=partner,
                    manager_id="",
                    shop_id="bench",
                    amount=order.total,
                    currency="UAH",
                    placed_at=datetime.now(UTC),
                ),
                source="bench",
            )

    for _ in range(50):
        await write()
    result = await run_load(write, concurrency=16, seconds=10)
    await db.dispose()
    print(
        f"one order row + one outbox row per transaction through the service's own code (SQLAlchemy ORM, "
        f"the kit's outbox): {result.per_second:,.0f} tx/s (16 at once, same run); {result.summary()}"
    )
    raw = await raw_row_limit(url)
    print(
        f"PostgreSQL limit, the same two rows per transaction with plain asyncpg: {raw.per_second:,.0f} tx/s "
        f"(16 connections, same run); {raw.summary()}"
    )


async def raw_row_limit(url: str) -> LoadResult:
    """The database's own ceiling for the same write, without the ORM's Python cost."""
    pool = await asyncpg.create_pool(url.replace("postgresql+asyncpg://", "postgresql://"), min_size=16, max_size=16)
    lines = '[{"sku": "SKU-001", "quantity": "2", "price": "149.90", "total": "299.80", "shipped": "0"}]'
    payload = b"x" * 300

    async def write() -> None:
        order_id = new_id()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO customer_order (id, deal_id, partner_id, manager_id, kind, state, shop_id, shop_order_id,"
                " currency, total, cost, invoiced, paid, shipped, agreement_id, lines, totals, violations, created_at)"
                " VALUES ($1, $2, $3, '', 'shop', 'new', 'bench', $4, 'UAH', 299.80, 0, 0, 0, 0, '',"
                " $5::jsonb, '{}'::jsonb, '[]'::jsonb, now())",
                order_id,
                uuid.uuid4(),
                uuid.uuid4(),
                uuid.uuid4().hex,
                lines,
            )
            await conn.execute(
                "INSERT INTO outbox (event_id, topic, key, event_type, headers, payload, created_at, attempts)"
                " VALUES ($1, 'crm.deals.order.v1', $2, 'crm.deals.order.placed', '{}'::jsonb, $3, now(), 0)",
                uuid.uuid4(),
                str(order_id),
                payload,
            )

    try:
        return await run_load(write, concurrency=16, seconds=10)
    finally:
        await pool.close()


async def funnel_over_a_million(databases: Databases) -> None:
    name = await databases.ensure("deals_funnel")
    url = db_url(name)
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    conn = await asyncpg.connect(f"postgresql://crm:crm@127.0.0.1:{PG_PORT}/{name}")
    managers = [f"manager-{i}" for i in range(40)]
    partners = [uuid.uuid4() for i in range(5000)]
    segments = ["Опт", "Роздріб", "Дилери", "Бюджетні установи"]
    started = time.perf_counter()
    await conn.copy_records_to_table(
        "known_partner",
        records=[
            (p, f"Партнер {i}", managers[i % 40], segments[i % 4], 1, datetime.now(UTC)) for i, p in enumerate(partners)
        ],
        columns=["id", "name", "manager_id", "segment", "version", "updated_at"],
    )
    now = datetime.now(UTC)
    rng = random.Random(7)

    def rows(count: int):
        for _ in range(count):
            reached = min(7, int(rng.expovariate(0.45)))
            stage = rng.randint(0, reached)
            status = rng.choices(["in_progress", "won", "lost"], [6, 2, 2])[0]
            if status == "won":
                stage = reached
            yield (
                uuid.uuid4(),
                "Угода",
                rng.choice(partners),
                rng.choice(managers),
                status,
                Decimal(rng.randint(1_000, 900_000)),
                "UAH",
                now - timedelta(days=rng.randint(0, 720)),
                "manual_stages",
                DEFAULT_PROCESS,
                STAGES[stage],
                reached,
                rng.choice(REASONS) if status == "lost" else None,
                Decimal(rng.randint(1_000, 900_000)) if status == "won" else None,
            )

    columns = [
        "id",
        "title",
        "partner_id",
        "manager_id",
        "status",
        "expected_amount",
        "currency",
        "created_at",
        "kind",
        "process_id",
        "stage_code",
        "reached_position",
        "lost_reason_id",
        "won_amount",
    ]
    for _ in range(FUNNEL_DEALS // 100_000):
        await conn.copy_records_to_table("deal", records=rows(100_000), columns=columns)
    await conn.execute("ANALYZE deal; ANALYZE known_partner")
    loaded = time.perf_counter() - started
    await conn.close()
    db = Database(url, pool_size=2)
    whole = await timed(lambda: funnel(db, DealFilter()), 3)
    by_manager = await timed(lambda: funnel(db, DealFilter(manager_id="manager-7")), 3)
    by_segment_period = await timed(
        lambda: funnel(db, DealFilter(partner_segment="Опт", opened_from=now - timedelta(days=90))), 3
    )
    await db.dispose()
    print(f"funnel over {FUNNEL_DEALS:,} deals (loaded with COPY in {loaded:.0f} s):")
    print(f"  whole default process: {describe(whole)}")
    print(f"  one manager: {describe(by_manager)}")
    print(f"  one partner segment, last 90 days: {describe(by_segment_period)}")
