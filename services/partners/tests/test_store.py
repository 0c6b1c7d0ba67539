"""Against PostgreSQL and Redis: the migrations build the models' tables, pricing's rates are
kept, ABC compares revenue in different currencies after converting it, and GetPartner's
in-memory copies follow changes made by other instances."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from crm.partners.v1 import partners_pb2 as pb
from sqlalchemy import Connection, text

from crm_platform.cache import Cache
from crm_platform.db import Database
from crm_platform.events import Envelope
from crm_platform.testing import Databases
from partners.classification import Rates, month_end, window_months
from partners.events import RateSet, keep_rate
from partners.models import PartnersTable
from partners.partner_cache import PartnerCache
from partners.reclassify import reclassify
from partners.repository import SalesRepository

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture(scope="module")
async def db(databases: Databases) -> AsyncIterator[Database]:
    database = Database(await databases.migrated("partners_store", MIGRATIONS))
    yield database
    await database.dispose()


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, PartnersTable.metadata)

    async with db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    ours = [d for d in differences if "outbox" not in str(d) and "inbox" not in str(d)]
    assert ours == []
    assert differences, "the platform tables, absent from these models, show up: the comparison ran"


def rate_event(pair: str, rate: str, on: date) -> RateSet:
    source, target = pair.split("/")
    return RateSet(from_currency=source, to_currency=target, rate=Decimal(rate), on=on)


async def test_abc_converts_revenue_in_other_currencies_before_comparing(db: Database) -> None:
    now = datetime.now(UTC)
    month = window_months(now.date())[-2]  # last month: complete, inside the window
    at = datetime(month.year, month.month, 10, tzinfo=UTC)
    envelope = Envelope.__new__(Envelope)  # the handler does not read it
    async with db.transaction() as session:
        # 1 USD = 41 UAH from the first day of the window; a newer quote given as UAH/USD.
        await keep_rate(session, rate_event("USD/UAH", "41.00", window_months(now.date())[0]), envelope)
        await keep_rate(session, rate_event("UAH/USD", "0.025", month), envelope)
        await keep_rate(session, rate_event("UAH/USD", "0.025", month), envelope)  # redelivered: no harm
        sales = SalesRepository(session)
        dollars, hryvnias, small = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        # 10,000 USD = 400,000 UAH: more than the 300,000 UAH customer, though fewer units.
        for partner, amount, currency in (
            (dollars, "10000", "USD"),
            (hryvnias, "300000", "UAH"),
            (small, "20000", "UAH"),
        ):
            await sales.add_order(partner, Decimal(amount), currency, at)
            await sales.add_payment(partner, Decimal(amount), currency, at + timedelta(days=1))
        # A currency no rate links to UAH is compared only within itself.
        zloty = uuid.uuid4()
        await sales.add_order(zloty, Decimal("5"), "PLN", at)
        await sales.add_payment(zloty, Decimal("5"), "PLN", at)
    await reclassify(db, now=now)
    async with db.reading() as session:
        sales = SalesRepository(session)
        classes = {p: (await sales.class_of(p)).abc for p in (dollars, hryvnias, small, zloty)}  # type: ignore[union-attr]
    # Shares of 720,000 UAH: 400,000 (0 before it: A), 300,000 (55.6% before: A), 20,000 (97.2%: C).
    assert classes == {dollars: "A", hryvnias: "A", small: "C", zloty: "A"}


def test_rates_convert_at_the_latest_quote_direct_or_inverse() -> None:
    rows = [
        ("USD", "UAH", date(2026, 1, 1), Decimal("40")),
        ("UAH", "EUR", date(2026, 3, 1), Decimal("0.02")),
        ("EUR", "UAH", date(2026, 3, 1), Decimal("45")),
    ]
    rates = Rates("UAH", rows)
    assert rates.convert(Decimal("10"), "USD", date(2025, 12, 31)) == Decimal("400")  # before the first: earliest
    assert rates.convert(Decimal("10"), "USD", month_end(date(2026, 2, 1))) == Decimal("400")
    assert rates.convert(Decimal("2"), "EUR", date(2026, 3, 5)) == Decimal("90")  # direct quote beats inverse
    assert rates.convert(Decimal("2"), "UAH", date(2026, 3, 5)) == Decimal("2")
    assert rates.convert(Decimal("2"), "PLN", date(2026, 3, 5)) is None
    assert month_end(date(2024, 2, 1)) == date(2024, 2, 29)
    assert month_end(date(2026, 12, 1)) == date(2026, 12, 31)


async def test_rates_are_stored_once_per_pair_and_day(db: Database) -> None:
    envelope = Envelope.__new__(Envelope)
    async with db.transaction() as session:
        await keep_rate(session, rate_event("GBP/UAH", "52.10", date(2026, 5, 1)), envelope)
        await keep_rate(session, rate_event("GBP/UAH", "52.30", date(2026, 5, 1)), envelope)
    async with db.reading() as session:
        found = (await session.execute(text("SELECT rate FROM exchange_rate WHERE from_currency = 'GBP'"))).all()
    assert [r.rate for r in found] == [Decimal("52.3000000000")]


async def test_a_change_in_one_instance_drops_the_partner_from_the_others_memory() -> None:
    client = aioredis.from_url(f"redis://127.0.0.1:{os.environ.get('CRM_REDIS_PORT', '56379')}/0")
    namespace = f"test:partners:{uuid.uuid4().hex}"
    first = PartnerCache(Cache(client, namespace), client)
    second = PartnerCache(Cache(client, namespace), client)
    listening = asyncio.create_task(second.listener()())
    try:
        partner_id = uuid.uuid4()
        await first.put(partner_id, pb.Partner(id=str(partner_id), name="ТОВ «Старе»"))
        assert (await second.get(partner_id)).name == "ТОВ «Старе»"  # type: ignore[union-attr]  # now in its memory
        await asyncio.sleep(0.3)  # the listener has subscribed
        await first.invalidate(partner_id)
        for _ in range(50):
            if await second.get(partner_id) is None:
                break
            await asyncio.sleep(0.05)
        assert await second.get(partner_id) is None

        # A value read from the database before an invalidation is not cached after it.
        token = first.token()
        await first.invalidate(uuid.uuid4())
        await first.put(partner_id, pb.Partner(id=str(partner_id), name="ТОВ «Застаріле»"), token)
        assert await first.get(partner_id) is None
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await client.aclose()
