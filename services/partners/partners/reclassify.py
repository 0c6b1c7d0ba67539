"""Recomputing every customer's classification from the sales figures deals' events built.

ABC is relative (a share of everyone's revenue), so the whole set is recomputed at once,
on a schedule and on demand. Only changes are written, to the history and as
crm.partners.partner.classified events. Revenue is converted into the base currency
(CRM_PARTNERS_BASE_CURRENCY, UAH by default) at pricing's exchange rates of each month's
last day before shares are computed; amounts in a currency no rate links to the base are
compared only with amounts in that currency, and a partner gets the best class it earns.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.outbox import add_event
from partners.classification import (
    Classification,
    Rates,
    SalesHistory,
    abc_classes,
    month_end,
    stage_of,
    window_months,
    xyz_class,
)
from partners.events import PartnerClassified
from partners.registration import SOURCE
from partners.repository import RateRepository, SalesRepository

log = logging.getLogger(__name__)


def base_currency() -> str:
    return os.environ.get("CRM_PARTNERS_BASE_CURRENCY", "UAH").strip().upper() or "UAH"


def _classify(rows: list, activity: list, now: datetime, rates: Rates) -> dict[uuid.UUID, Classification]:  # type: ignore[type-arg]
    months = window_months(now.date())
    index = {m: i for i, m in enumerate(months)}
    revenue: dict[str, dict[uuid.UUID, Decimal]] = defaultdict(dict)
    monthly: dict[uuid.UUID, dict[str, list[Decimal]]] = defaultdict(dict)
    for row in rows:
        if row.month not in index:
            continue
        day = month_end(row.month)
        paid = rates.convert(row.paid, row.currency, day)
        ordered = rates.convert(row.ordered, row.currency, day)
        currency = rates.base
        if paid is None or ordered is None:
            currency, paid, ordered = row.currency, row.paid, row.ordered
        by_currency = revenue[currency]
        by_currency[row.partner_id] = by_currency.get(row.partner_id, Decimal(0)) + paid
        series = monthly[row.partner_id].setdefault(currency, [Decimal(0)] * len(months))
        series[index[row.month]] += ordered
    best: dict[uuid.UUID, str] = {}
    for by_currency in revenue.values():
        for partner_id, letter in abc_classes(by_currency).items():
            best[partner_id] = min(letter, best.get(partner_id, "C"))
    result = {}
    for act in activity:
        series = monthly.get(act.partner_id, {})
        main = max(series.values(), key=lambda s: sum(s), default=())
        history = SalesHistory(
            revenue=Decimal(0), monthly=tuple(main), orders=act.orders, last_order_at=act.last_order_at
        )
        result[act.partner_id] = Classification(
            abc=best.get(act.partner_id, "C"), xyz=xyz_class(tuple(main)), stage=stage_of(history, now)
        )
    return result


async def reclassify(db: Database, *, now: datetime | None = None) -> int:
    """Recomputes all classes; returns how many partners changed class."""
    now = now or utcnow()
    async with db.transaction() as session:
        sales = SalesRepository(session)
        start = window_months(now.date())[0]
        rates = Rates(
            base_currency(),
            [(r.from_currency, r.to_currency, r.on, r.rate) for r in await RateRepository(session).all()],
        )
        computed = _classify(await sales.months_since(start), await sales.activity(), now, rates)
        current = await sales.classes()
        changed = 0
        for partner_id, cls in computed.items():
            before = current.get(partner_id)
            if before is not None and (before.abc, before.xyz, before.stage) == (cls.abc, cls.xyz, cls.stage.value):
                continue
            await sales.set_class(partner_id, cls.abc, cls.xyz, cls.stage.value, now)
            add_event(
                session,
                PartnerClassified(
                    partner_id=partner_id, abc=cls.abc, xyz=cls.xyz, stage=cls.stage.value, classified_at=now
                ),
                source=SOURCE,
            )
            changed += 1
    return changed


def schedule(db: Database, every_seconds: float) -> Callable[[], Awaitable[None]]:
    async def classify_periodically() -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                changed = await reclassify(db)
                if changed:
                    log.info("reclassified %d partners", changed)
            except Exception:  # the next round retries; the service keeps serving
                log.exception("classification round failed")

    return classify_periodically
