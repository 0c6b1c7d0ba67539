"""Classification of customers: ABC by revenue share, XYZ by the variation of monthly
demand, and the stage of the relationship. Pure rules, no I/O."""

from __future__ import annotations

import bisect
import statistics
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

A_SHARE = Decimal("0.80")  # partners making the first 80% of revenue are A
B_SHARE = Decimal("0.95")  # the next 15% are B, the rest C
X_VARIATION = 0.10  # coefficient of variation of monthly demand
Y_VARIATION = 0.25
WINDOW_MONTHS = 12
SLEEPING_AFTER = timedelta(days=180)
LOST_AFTER = timedelta(days=365)


class Stage(StrEnum):
    PROSPECT = "prospect"  # no orders yet
    FIRST_PURCHASE = "first_purchase"
    REGULAR = "regular"
    SLEEPING = "sleeping"  # no order for half a year
    LOST = "lost"  # no order for a year


@dataclass(frozen=True)
class SalesHistory:
    """One partner's demand within the window: ordered amount per month (oldest first)."""

    revenue: Decimal
    monthly: tuple[Decimal, ...]
    orders: int
    last_order_at: datetime | None


@dataclass(frozen=True)
class Classification:
    abc: str
    xyz: str
    stage: Stage


def month_start(moment: datetime | date) -> date:
    return date(moment.year, moment.month, 1)


def window_months(today: date, months: int = WINDOW_MONTHS) -> list[date]:
    """The first days of the last `months` months, oldest first, ending with today's."""
    result = []
    year, month = today.year, today.month
    for _ in range(months):
        result.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return result[::-1]


def abc_classes(revenue: dict[uuid.UUID, Decimal]) -> dict[uuid.UUID, str]:
    total = sum((r for r in revenue.values() if r > 0), Decimal(0))
    classes: dict[uuid.UUID, str] = {}
    running = Decimal(0)
    for partner_id, amount in sorted(revenue.items(), key=lambda item: (-item[1], str(item[0]))):
        if amount <= 0 or total == 0:
            classes[partner_id] = "C"
            continue
        share_before = running / total
        running += amount
        # A partner belongs to the class in which its share starts.
        classes[partner_id] = "A" if share_before < A_SHARE else "B" if share_before < B_SHARE else "C"
    return classes


def xyz_class(monthly: tuple[Decimal, ...]) -> str:
    """Monthly demand since the first order: steady (X), fluctuating (Y) or irregular (Z)."""
    values = list(monthly)
    while values and values[0] == 0:
        values.pop(0)
    if len(values) < 3:
        return "Z"  # too short a history to call demand stable
    mean = statistics.fmean(float(v) for v in values)
    if mean == 0:
        return "Z"
    variation = statistics.pstdev(float(v) for v in values) / mean
    return "X" if variation <= X_VARIATION else "Y" if variation <= Y_VARIATION else "Z"


def stage_of(history: SalesHistory, now: datetime) -> Stage:
    if history.orders == 0 or history.last_order_at is None:
        return Stage.PROSPECT
    idle = now - history.last_order_at
    if idle > LOST_AFTER:
        return Stage.LOST
    if idle > SLEEPING_AFTER:
        return Stage.SLEEPING
    return Stage.FIRST_PURCHASE if history.orders == 1 else Stage.REGULAR


def classify(histories: dict[uuid.UUID, SalesHistory], now: datetime) -> dict[uuid.UUID, Classification]:
    abc = abc_classes({p: h.revenue for p, h in histories.items()})
    return {
        p: Classification(abc=abc[p], xyz=xyz_class(h.monthly), stage=stage_of(h, now)) for p, h in histories.items()
    }


class Rates:
    """Exchange rates by date, from pricing's events: converts an amount into the base
    currency at the latest rate known on a day (or, before the first rate, the earliest),
    through the direct pair or its inverse. None when no rate links the two currencies."""

    def __init__(self, base: str, rates: Iterable[tuple[str, str, date, Decimal]]) -> None:
        self.base = base
        series: dict[str, list[tuple[date, int, Decimal]]] = {}
        for from_currency, to_currency, on, rate in rates:
            if rate <= 0:
                continue
            if to_currency == base and from_currency != base:
                series.setdefault(from_currency, []).append((on, 1, rate))
            elif from_currency == base and to_currency != base:
                series.setdefault(to_currency, []).append((on, 0, Decimal(1) / rate))
        # A direct quote and an inverse one on the same day: the direct one wins (sorted last).
        self._series = {c: sorted(s, key=lambda item: item[:2]) for c, s in series.items()}
        self._days = {c: [item[0] for item in s] for c, s in self._series.items()}

    def convert(self, amount: Decimal, currency: str, on: date) -> Decimal | None:
        if currency == self.base:
            return amount
        series = self._series.get(currency)
        if not series:
            return None
        index = bisect.bisect_right(self._days[currency], on) - 1
        return amount * series[max(index, 0)][2]


def month_end(month: date) -> date:
    year, next_month = (month.year, month.month + 1) if month.month < 12 else (month.year + 1, 1)
    return date(year, next_month, 1) - timedelta(days=1)
