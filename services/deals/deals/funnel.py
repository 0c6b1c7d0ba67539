"""The sales funnel of a process: open deals per stage, conversion, losses, potential revenue.

One grouped query over the deals (by furthest stage reached, status, stage, currency and
lost reason); everything else is arithmetic on its few hundred rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from crm_platform.db import Database
from crm_platform.errors import NotFound
from deals.domain import DealStatus, Stage
from deals.repository import DealFilter, FunnelRow, LostReasonRepository, ProcessRepository, funnel_rows

SHARE = Decimal("0.0001")
CENTS = Decimal("0.01")


@dataclass
class StageFigures:
    stage: Stage
    open_deals: int = 0
    open_amount: dict[str, Decimal] = field(default_factory=dict)
    reached: int = 0
    went_on: int = 0
    conversion: Decimal | None = None
    lost_deals: int = 0
    lost_by_reason: dict[str, int] = field(default_factory=dict)  # reason id -> deals


@dataclass
class FunnelFigures:
    process_id: str
    stages: list[StageFigures]
    won_deals: int
    won_amount: dict[str, Decimal]
    potential_revenue: dict[str, Decimal]
    reason_names: dict[str, str]


def compute(stages: list[Stage], rows: list[FunnelRow]) -> tuple[list[StageFigures], int, dict[str, Decimal], dict]:
    figures = [StageFigures(s) for s in stages]
    index = {s.code: i for i, s in enumerate(stages)}
    won_deals = 0
    won_amount: dict[str, Decimal] = defaultdict(Decimal)
    won_from = [0] * len(stages)
    closed_from = [0] * len(stages)
    for row in rows:
        top = min(row.reached_position, len(stages) - 1)
        for i in range(top + 1):
            figures[i].reached += row.deals
            if i < top:
                figures[i].went_on += row.deals
        if row.status == DealStatus.WON:
            won_deals += row.deals
            if row.currency:
                won_amount[row.currency] += row.won
            figures[top].went_on += row.deals if top == len(stages) - 1 else 0
        if row.status in (DealStatus.WON, DealStatus.LOST):
            for i in range(top + 1):
                closed_from[i] += row.deals
                won_from[i] += row.deals if row.status == DealStatus.WON else 0
        here = index.get(row.stage_code)
        if here is None:
            continue
        stage = figures[here]
        if row.status == DealStatus.IN_PROGRESS:
            stage.open_deals += row.deals
            if row.currency:
                stage.open_amount[row.currency] = stage.open_amount.get(row.currency, Decimal(0)) + row.expected
        elif row.status == DealStatus.LOST:
            stage.lost_deals += row.deals
            key = str(row.lost_reason_id) if row.lost_reason_id else ""
            stage.lost_by_reason[key] = stage.lost_by_reason.get(key, 0) + row.deals
    potential: dict[str, Decimal] = defaultdict(Decimal)
    for i, stage in enumerate(figures):
        if stage.reached:
            stage.conversion = (Decimal(stage.went_on) / stage.reached).quantize(SHARE, ROUND_HALF_UP)
        share = Decimal(won_from[i]) / closed_from[i] if closed_from[i] else Decimal(0)
        for currency, amount in stage.open_amount.items():
            potential[currency] += amount * share
    rounded = {c: a.quantize(CENTS, ROUND_HALF_UP) for c, a in potential.items()}
    return figures, won_deals, dict(won_amount), rounded


async def funnel(db: Database, f: DealFilter) -> FunnelFigures:
    async with db.reading() as session:
        processes = ProcessRepository(session)
        process = await (processes.get(f.process_id) if f.process_id else processes.default())
        if process is None:
            raise NotFound(f"sales process {f.process_id} not found")
        stages = await processes.stages(process.id)
        rows = await funnel_rows(session, DealFilter(**{**f.__dict__, "process_id": process.id}))
        names = {str(r.id): r.name for r in await LostReasonRepository(session).all(include_inactive=True)}
    figures, won_deals, won_amount, potential = compute(stages, rows)
    return FunnelFigures(str(process.id), figures, won_deals, won_amount, potential, names)
