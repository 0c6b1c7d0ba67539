"""Setting prices of a base price type (derived prices follow) and exchange rates."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, NotFound
from crm_platform.outbox import add_event
from pricing.events import SOURCE, PriceChanged, RateSet
from pricing.price_tables import PriceTables
from pricing.price_types import recalculate
from pricing.repository import PriceRepository, PriceTypeRepository, RateRepository

MAX_PRICES_PER_CALL = 5000


async def set_prices(
    db: Database, tables: PriceTables, type_id: uuid.UUID, on: date, prices: list[tuple[uuid.UUID, Decimal]]
) -> tuple[int, int]:
    """Returns (prices set, derived prices recalculated)."""
    async with db.transaction() as session:
        types = PriceTypeRepository(session)
        price_type = await types.get(type_id)
        if price_type is None:
            raise NotFound(f"price type {type_id} not found")
        if price_type.base_id is not None:
            raise FailedPrecondition(
                f"price type {price_type.name!r} is derived: its prices follow its base", rule="derived_price_type"
            )
        await PriceRepository(session).upsert(type_id, on, prices)
        for product_id, amount in prices:
            add_event(
                session,
                PriceChanged(
                    price_type_id=type_id,
                    product_id=product_id,
                    price=amount,
                    currency=price_type.currency,
                    effective_from=on,
                ),
                source=SOURCE,
            )
        product_ids = [p for p, _ in prices]
        written = await recalculate(session, {type_id}, product_ids, include_roots=False)
        currencies = {t.id: t.currency for t in await types.all()}
        for derived_id in written:
            for product_id, effective_from, amount in await PriceRepository(session).rows_of(derived_id, product_ids):
                if effective_from == on:
                    add_event(
                        session,
                        PriceChanged(
                            price_type_id=derived_id,
                            product_id=product_id,
                            price=amount,
                            currency=currencies[derived_id],
                            effective_from=on,
                            derived=True,
                        ),
                        source=SOURCE,
                    )
    await tables.invalidate_types([type_id, *written])
    return len(prices), sum(written.values())


async def set_rate(db: Database, tables: PriceTables, source: str, target: str, on: date, rate: Decimal) -> None:
    async with db.transaction() as session:
        await RateRepository(session).set(source, target, on, rate)
        add_event(
            session,
            RateSet(pair=f"{source}/{target}", from_currency=source, to_currency=target, rate=rate, on=on),
            source=SOURCE,
        )
    tables.drop_rates()
