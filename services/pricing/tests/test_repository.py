"""Handlers and queries against PostgreSQL: partner segments by version, derived recalculation."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from crm_platform.db import Database
from crm_platform.events import Envelope
from crm_platform.testing import Databases
from pricing.domain import Rounding, Rule
from pricing.events import (
    PartnerMerged,
    PartnerRegistered,
    PartnerUpdated,
    partner_registered,
    partner_updated,
    partners_merged,
)
from pricing.models import AgreementRow, PriceTypeRow, ProductRow
from pricing.price_types import recalculate
from pricing.repository import KnownPartnerRepository, PriceRepository

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture
async def db(databases: Databases) -> AsyncIterator[Database]:
    database = Database(await databases.migrated("pricing_repo", MIGRATIONS))
    yield database
    await database.dispose()


async def test_an_older_partner_event_does_not_overwrite_a_newer_segment(db: Database) -> None:
    partner_id = uuid.uuid4()
    newer = PartnerUpdated(partner_id=partner_id, segment="Дилери", version=3)
    older = PartnerRegistered(partner_id=partner_id, segment="Роздріб", version=1)
    async with db.transaction() as session:
        await partner_updated(session, newer, Envelope.wrap(newer, source="crm/partners"))
    async with db.transaction() as session:
        await partner_registered(session, older, Envelope.wrap(older, source="crm/partners"))
    async with db.reading() as session:
        assert await KnownPartnerRepository(session).segment_of(partner_id) == "Дилери"


async def test_recalculation_follows_a_chain_for_every_date(db: Database) -> None:
    async with db.transaction() as session:
        item = ProductRow(
            sku=f"T-{uuid.uuid4().hex[:6]}",
            name="Тест",
            name_folded="тест",
            unit="шт",
            vat_rate=Decimal(20),
            cost=Decimal(1),
            cost_currency="UAH",
        )
        base = PriceTypeRow(name="База", currency="UAH")
        session.add_all([item, base])
        await session.flush()
        first = PriceTypeRow(
            name="Перша",
            currency="UAH",
            base_id=base.id,
            markup_percent=Decimal(10),
            rounding_step=Decimal(1),
            rounding_mode="up",
        )
        session.add(first)
        await session.flush()
        second = PriceTypeRow(
            name="Друга",
            currency="UAH",
            base_id=first.id,
            markup_percent=Decimal(-50),
            rounding_step=Decimal("0.01"),
            rounding_mode="half_up",
        )
        session.add(second)
        await session.flush()
        prices = PriceRepository(session)
        await prices.upsert(base.id, date(2026, 1, 1), [(item.id, Decimal("10.01"))])
        await prices.upsert(base.id, date(2026, 2, 1), [(item.id, Decimal("20"))])
        written = await recalculate(session, {base.id}, None, include_roots=False)
    assert list(written) == [first.id, second.id]
    async with db.reading() as session:
        rows = sorted((on, amount) for _, on, amount in await PriceRepository(session).rows_of(second.id, None))
    assert rows == [(date(2026, 1, 1), Decimal("6.0000")), (date(2026, 2, 1), Decimal("11.0000"))]


@pytest.mark.parametrize("mode", list(Rounding))
async def test_recalculation_in_postgresql_rounds_exactly_as_the_rule(db: Database, mode: Rounding) -> None:
    """The SQL of a rule and ``Rule.apply`` agree on thousands of prices, halves included."""
    rng = random.Random(mode.value)
    amounts = [Decimal(rng.randrange(1, 10_000_000)) / 100 for _ in range(1500)]
    amounts += [Decimal("2000.04"), Decimal("1111.11"), Decimal("0.10"), Decimal("12.50"), Decimal("2.5")]
    async with db.transaction() as session:
        base = PriceTypeRow(name="База", currency="UAH")
        session.add(base)
        await session.flush()
        prices = PriceRepository(session)
        products = [uuid.uuid4() for _ in amounts]
        await prices.upsert(base.id, date(2026, 1, 1), list(zip(products, amounts, strict=True)))
        for markup, step in [
            (Decimal("12.5"), Decimal("0.01")),
            (Decimal("-3"), Decimal("5")),
            (Decimal("0"), Decimal("1")),
            (Decimal("7.77"), Decimal("0.05")),
        ]:
            rule = Rule(base.id, markup, step, mode)
            derived = uuid.uuid4()
            assert await prices.derive(derived, rule, None) == len(amounts)
            got = {p: a for p, _, a in await prices.rows_of(derived, None)}
            expected = {p: rule.apply(a) for p, a in zip(products, amounts, strict=True)}
            assert got == expected, (markup, step)


async def test_agreements_of_merged_partners_move_to_the_survivor(db: Database) -> None:
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    async with db.transaction() as session:
        row = AgreementRow(
            name="Угода з дублікатом",
            kind="individual",
            partner_id=merged,
            discount_percent=Decimal(0),
            manual_discount_limit_percent=Decimal(0),
            prepayment_percent=Decimal(0),
            payment_form="any",
            tax_regime="vat",
            sale_kind="wholesale",
            valid_from=date(2026, 1, 1),
            status="agreed",
        )
        session.add(row)
    event = PartnerMerged(partner_id=survivor, merged_ids=[merged])
    async with db.transaction() as session:
        await partners_merged(session, event, Envelope.wrap(event, source="crm/partners"))
    async with db.reading() as session:
        assert (await session.get(AgreementRow, row.id)).partner_id == survivor  # type: ignore[union-attr]


async def test_calls_in_flight_when_a_segment_expires_ask_the_database_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from pricing import price_tables

    partner_id = uuid.uuid4()
    registered = PartnerRegistered(partner_id=partner_id, segment="Дилери", version=1)
    async with db.transaction() as session:
        await partner_registered(session, registered, Envelope.wrap(registered, source="crm/partners"))
    asked = 0
    real = KnownPartnerRepository.segment_of

    async def counted(self: KnownPartnerRepository, wanted: uuid.UUID) -> str | None:
        nonlocal asked
        asked += 1
        await asyncio.sleep(0.05)  # the database is slower than the calls arriving
        return await real(self, wanted)

    monkeypatch.setattr(KnownPartnerRepository, "segment_of", counted)
    monkeypatch.setattr(price_tables, "SEGMENT_TTL_SECONDS", 0.0)
    tables = price_tables.PriceTables(db, None)
    assert await tables.segment_of(partner_id) == "Дилери"
    assert asked == 1
    found = await asyncio.gather(*(tables.segment_of(partner_id) for _ in range(16)))
    assert found == ["Дилери"] * 16
    assert asked == 2  # one refresh for all sixteen, the others answered from the entry
