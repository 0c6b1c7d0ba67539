"""The claims analytics: registration dynamics, satisfaction per reason, structure; each
for a period and the same period a year before."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from claims.domain import share, year_before
from claims.repository import AnalyticsRepository, ReasonRepository
from crm_platform.db import Database


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


def _bounds(start: date, end: date) -> tuple[date, date]:
    """Inclusive dates → [start, end + 1 day)."""
    return start, end + timedelta(days=1)


def _previous(start: date, end: date) -> tuple[date, date]:
    return _bounds(year_before(start), year_before(end))


class Analytics:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def dynamics(self, start: date, end: date) -> tuple[Dynamics, Dynamics]:
        return await self._dynamics(*_bounds(start, end)), await self._dynamics(*_previous(start, end))

    async def _dynamics(self, start: date, end: date) -> Dynamics:
        async with self.db.reading() as session:
            repo = AnalyticsRepository(session)
            months = await repo.monthly(start, end)
            departments = await repo.monthly_by_department(start, end)
        result = Dynamics(months, departments)
        peak = max(months, key=lambda m: (m[1], m[0]), default=None)
        if peak is not None and peak[1] > 0:
            result.peak_month, result.peak_registered = peak[0], peak[1]
        result.totals = (sum(m[1] for m in months), sum(m[2] for m in months), sum(m[3] for m in months))
        return result

    async def satisfaction(self, start: date, end: date) -> list[Satisfaction]:
        async with self.db.reading() as session:
            repo = AnalyticsRepository(session)
            current = await repo.satisfaction(*_bounds(start, end))
            previous = await repo.satisfaction(*_previous(start, end))
            names = await ReasonRepository(session).by_codes(sorted(set(current) | set(previous)))
        out = []
        for code in set(current) | set(previous):
            closed, satisfied, partly, rejected = current.get(code, (0, 0, 0, 0))
            p_closed, p_satisfied, _, _ = previous.get(code, (0, 0, 0, 0))
            name = names[code].name if code in names else code
            out.append(Satisfaction(code, name, closed, satisfied, partly, rejected, p_closed, p_satisfied))
        return sorted(out, key=lambda s: (-s.closed, s.code))

    async def structure(self, start: date, end: date, top: int) -> Structure:
        result = Structure()
        async with self.db.reading() as session:
            repo = AnalyticsRepository(session)
            for kind, target in (
                ("department", result.departments),
                ("employee", result.employees),
                ("reason", result.reasons),
            ):
                current = await repo.counts_by(kind, *_bounds(start, end))
                previous = await repo.counts_by(kind, *_previous(start, end))
                best = sorted(current.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
                target.extend(Entry(k, k, n, previous.get(k, 0)) for k, n in best)
            names = await ReasonRepository(session).by_codes([e.key for e in result.reasons])
            result.reasons = [
                Entry(e.key, names[e.key].name if e.key in names else e.key, e.claims, e.previous)
                for e in result.reasons
            ]
            result.total = await repo.total(*_bounds(start, end))
            result.previous_total = await repo.total(*_previous(start, end))
        return result
