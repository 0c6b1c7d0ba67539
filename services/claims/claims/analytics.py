"""The claims analytics: registration dynamics, satisfaction per reason, structure; each
for a period and the same period a year before."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

from claims.domain import share, year_before
from claims.repository import AnalyticsRepository, ReasonRepository
from crm_platform.db import Database

T = TypeVar("T")


@dataclass
class Dynamics:
    months: list[tuple[str, int, int, int]]
    by_department: list[tuple[str, str, int]]
    peak_month: str = ""
    peak_registered: int = 0
    totals: tuple[int, int, int] = (0, 0, 0)


@dataclass(frozen=True)
class Satisfaction:
    code: str
    name: str
    closed: int
    satisfied: int
    partly: int
    rejected: int
    previous_closed: int
    previous_satisfied: int

    def shares(self) -> tuple[str, str, str]:
        return share(self.satisfied, self.closed), share(self.partly, self.closed), share(self.rejected, self.closed)

    @property
    def previous_share(self) -> str:
        return share(self.previous_satisfied, self.previous_closed)


@dataclass(frozen=True)
class Entry:
    key: str
    label: str
    claims: int
    previous: int


@dataclass
class Structure:
    departments: list[Entry] = field(default_factory=list)
    employees: list[Entry] = field(default_factory=list)
    reasons: list[Entry] = field(default_factory=list)
    total: int = 0
    previous_total: int = 0


def months_between(start: date, end: date) -> list[date]:
    """First days of the months that [start, end) touches."""
    months, month = [], start.replace(day=1)
    while month < end:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _bounds(start: date, end: date) -> tuple[date, date]:
    """Inclusive dates → [start, end + 1 day)."""
    return start, end + timedelta(days=1)


def _previous(start: date, end: date) -> tuple[date, date]:
    return _bounds(year_before(start), year_before(end))


class Analytics:
    """Each report's queries run at once, each on its own connection."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _read(self, query: Callable[[AnalyticsRepository], Awaitable[T]]) -> T:
        async with self.db.reading() as session:
            return await query(AnalyticsRepository(session))

    async def _reason_names(self, codes: list[str]) -> dict[str, str]:
        async with self.db.reading() as session:
            return {code: row.name for code, row in (await ReasonRepository(session).by_codes(codes)).items()}

    async def dynamics(self, start: date, end: date) -> tuple[Dynamics, Dynamics]:
        return await asyncio.gather(self._dynamics(*_bounds(start, end)), self._dynamics(*_previous(start, end)))

    async def _dynamics(self, start: date, end: date) -> Dynamics:
        registered, closed = await asyncio.gather(
            self._read(lambda r: r.registered_by_month(start, end)), self._read(lambda r: r.closed_by_month(start, end))
        )
        totals: dict[date, tuple[int, int]] = {}
        for month, _, count, still_open in registered:
            before = totals.get(month, (0, 0))
            totals[month] = (before[0] + count, before[1] + still_open)
        months = []
        for month in months_between(start, end):
            count, still_open = totals.get(month, (0, 0))
            months.append((f"{month:%Y-%m}", count, closed.get(month, 0), still_open))
        departments = sorted(
            ((f"{month:%Y-%m}", department, count) for month, department, count, _ in registered),
            key=lambda d: (d[0], -d[2], d[1]),
        )
        result = Dynamics(months, departments)
        peak = max(months, key=lambda m: (m[1], m[0]), default=None)
        if peak is not None and peak[1] > 0:
            result.peak_month, result.peak_registered = peak[0], peak[1]
        result.totals = (sum(m[1] for m in months), sum(m[2] for m in months), sum(m[3] for m in months))
        return result

    async def satisfaction(self, start: date, end: date) -> list[Satisfaction]:
        current, previous = await asyncio.gather(
            self._read(lambda r: r.satisfaction(*_bounds(start, end))),
            self._read(lambda r: r.satisfaction(*_previous(start, end))),
        )
        names = await self._reason_names(sorted(set(current) | set(previous)))
        out = []
        for code in set(current) | set(previous):
            closed, satisfied, partly, rejected = current.get(code, (0, 0, 0, 0))
            p_closed, p_satisfied, _, _ = previous.get(code, (0, 0, 0, 0))
            out.append(
                Satisfaction(code, names.get(code, code), closed, satisfied, partly, rejected, p_closed, p_satisfied)
            )
        return sorted(out, key=lambda s: (-s.closed, s.code))

    async def structure(self, start: date, end: date, top: int) -> Structure:
        now, before = _bounds(start, end), _previous(start, end)
        (
            (departments, employees, total),
            (p_departments, p_employees, p_total),
            reasons,
            p_reasons,
        ) = await asyncio.gather(
            self._read(lambda r: r.structure_counts(*now)),
            self._read(lambda r: r.structure_counts(*before)),
            self._read(lambda r: r.reason_counts(*now)),
            self._read(lambda r: r.reason_counts(*before)),
        )
        names = await self._reason_names(list(reasons))

        def ranked(current: dict[str, int], previous: dict[str, int], label: Callable[[str], str]) -> list[Entry]:
            best = sorted(current.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
            return [Entry(key, label(key), count, previous.get(key, 0)) for key, count in best]

        return Structure(
            departments=ranked(departments, p_departments, str),
            employees=ranked(employees, p_employees, str),
            reasons=ranked(reasons, p_reasons, lambda code: names.get(code, code)),
            total=total,
            previous_total=p_total,
        )
