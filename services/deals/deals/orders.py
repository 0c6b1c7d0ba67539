"""Customer orders: placed from an agreed proposal (or by a shop, see shop_orders), their
configurable states, approval of broken terms, and how they move the deal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from crm_platform.outbox import add_event
from deals import dealflow
from deals.domain import (
    AWAITING_APPROVAL,
    CANCELLED,
    COMPLETED,
    FIXED_ORDER_STATES,
    STAGE_CODE,
    DealStatus,
    OrderKind,
    ProposalStatus,
    Stage,
    fully_shipped,
)
from deals.events import OrderPlaced, OrderStateChanged
from deals.models import DealRow, OrderRow, OrderStateRow, ProposalRow
from deals.opening import SOURCE
from deals.pricing_gateway import PricingGateway

# Checked when goods leave (see settlements), not when the order is placed.
PLACEMENT_IGNORES = {"PREPAYMENT_MISSING"}


@dataclass(frozen=True)
class OrderView:
    order: OrderRow
    state_name: str


async def states_of(session: AsyncSession, kind: str) -> list[OrderStateRow]:
    query = select(OrderStateRow).where(OrderStateRow.kind == kind).order_by(OrderStateRow.position)
    return list((await session.execute(query)).scalars().all())


async def view(session: AsyncSession, order: OrderRow, states: list[OrderStateRow] | None = None) -> OrderView:
    """states: the order kind's states when the caller has already read them."""
    names = {s.code: s.name for s in (states if states is not None else await states_of(session, order.kind))}
    return OrderView(order, names.get(order.state, order.state))


def first_working_state(states: list[OrderStateRow]) -> str:
    return next(s.code for s in states if s.code not in FIXED_ORDER_STATES)


async def insert_order(
    session: AsyncSession,
    deal: DealRow,
    *,
    kind: OrderKind,
    currency: str,
    lines: list[dict[str, str]],
    totals: dict[str, str],
    agreement_id: str,
    violations: list[dict[str, Any]],
    request_id: str | None = None,
    proposal_id: uuid.UUID | None = None,
    shop_id: str | None = None,
    shop_order_id: str | None = None,
    due_on: date | None = None,
    states: list[OrderStateRow] | None = None,
    stages: list[Stage] | None = None,
) -> OrderRow:
    """Adds the order with its events and moves the deal; the caller's transaction commits.
    states and stages: the order kind's states and the deal's stages when the caller has them."""
    if states is None:
        states = await states_of(session, kind.value)
    order = OrderRow(
        deal_id=deal.id,
        partner_id=deal.partner_id,
        manager_id=deal.manager_id,
        kind=kind.value,
        state=AWAITING_APPROVAL if violations else first_working_state(states),
        request_id=request_id,
        proposal_id=proposal_id,
        shop_id=shop_id,
        shop_order_id=shop_order_id,
        currency=currency,
        total=Decimal(totals["total"]),
        cost=Decimal(totals.get("cost") or 0),
        agreement_id=agreement_id,
        lines=[{**line, "shipped": "0"} for line in lines],
        totals=totals,
        violations=violations,
        due_on=due_on,
    )
    session.add(order)
    await session.flush()
    add_event(
        session,
        OrderPlaced(
            order_id=order.id,
            deal_id=deal.id,
            partner_id=deal.partner_id,
            manager_id=deal.manager_id,
            shop_id=shop_id,
            amount=order.total,
            currency=currency,
            placed_at=order.created_at,
            state=order.state,
            shop_order_id=shop_order_id,
            cost_amount=order.cost,
        ),
        source=SOURCE,
    )
    await dealflow.follow_order(session, deal, "order placed", stages=stages)
    return order


async def create_from_proposal(
    db: Database,
    pricing: PricingGateway,
    proposal_id: uuid.UUID,
    *,
    due_on: date | None,
    refuse_on_violation: bool,
    request_id: str | None,
) -> OrderView:
    if request_id and (earlier := await _by_request(db, request_id)) is not None:
        return earlier
    async with db.reading() as session:
        proposal = await session.get(ProposalRow, proposal_id)
        if proposal is None:
            raise NotFound(f"proposal {proposal_id} not found")
        deal = await session.get(DealRow, proposal.deal_id)
    assert deal is not None
    if proposal.status != ProposalStatus.AGREED:
        raise FailedPrecondition(
            f"an order needs an agreed proposal; this one is {proposal.status}", rule="proposal_agreed"
        )
    if deal.status != DealStatus.IN_PROGRESS:
        raise FailedPrecondition(f"the deal is {deal.status}", rule="deal_closed")
    violations = await pricing.check_terms(
        proposal.lines, currency=proposal.currency, partner_id=str(deal.partner_id), agreement_id=proposal.agreement_id
    )
    violations = [v for v in violations if v["code"] not in PLACEMENT_IGNORES]
    if violations and refuse_on_violation:
        raise FailedPrecondition(
            "the order breaks its agreement: " + "; ".join(v["message"] for v in violations),
            rule=violations[0]["code"].lower(),
        )
    try:
        async with db.transaction() as session:
            deal_row = await session.get(DealRow, deal.id, with_for_update=True)
            assert deal_row is not None
            order = await insert_order(
                session,
                deal_row,
                kind=OrderKind.CUSTOMER,
                currency=proposal.currency,
                lines=proposal.lines,
                totals=proposal.totals,
                agreement_id=proposal.agreement_id,
                violations=violations,
                request_id=request_id,
                proposal_id=proposal.id,
                due_on=due_on,
            )
            return await view(session, order)
    except IntegrityError:
        if request_id and (earlier := await _by_request(db, request_id)) is not None:
            return earlier
        raise


async def _by_request(db: Database, request_id: str) -> OrderView | None:
    async with db.reading() as session:
        query = select(OrderRow).where(OrderRow.request_id == request_id)
        order = (await session.execute(query)).scalars().first()
        return await view(session, order) if order is not None else None


async def locked(session: AsyncSession, order_id: uuid.UUID) -> OrderRow:
    order = (await session.execute(select(OrderRow).where(OrderRow.id == order_id).with_for_update())).scalars().first()
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


def change_state(session: AsyncSession, order: OrderRow, to_state: str) -> None:
    add_event(
        session,
        OrderStateChanged(
            order_id=order.id,
            partner_id=order.partner_id,
            from_state=order.state,
            to_state=to_state,
            changed_at=utcnow(),
        ),
        source=SOURCE,
    )
    order.state = to_state


async def approve(db: Database, order_id: uuid.UUID) -> OrderView:
    async with db.transaction() as session:
        order = await locked(session, order_id)
        if order.state != AWAITING_APPROVAL:
            raise FailedPrecondition(f"the order is {order.state}, not awaiting approval", rule="order_state")
        change_state(session, order, first_working_state(await states_of(session, order.kind)))
        await session.flush()
        return await view(session, order)


async def set_state(db: Database, order_id: uuid.UUID, to_state: str) -> OrderView:
    async with db.transaction() as session:
        order = await locked(session, order_id)
        states = {s.code: s for s in await states_of(session, order.kind)}
        if to_state not in states:
            raise InvalidArgument.single("state", f"no state {to_state!r} for {order.kind} orders")
        if states[order.state].final:
            raise FailedPrecondition(f"the order is {order.state}: a final state", rule="order_final")
        if order.state == AWAITING_APPROVAL and to_state != CANCELLED:
            raise FailedPrecondition("the order's terms must be approved first", rule="order_awaiting_approval")
        if to_state == AWAITING_APPROVAL:
            raise FailedPrecondition("only broken terms send an order to approval", rule="order_state")
        if to_state == COMPLETED and (order.paid < order.total or not fully_shipped(order.lines)):
            raise FailedPrecondition("an order is completed when fully paid and shipped", rule="order_not_settled")
        if to_state == order.state:
            raise FailedPrecondition(f"the order is already {to_state}", rule="same_state")
        change_state(session, order, to_state)
        await session.flush()
        return await view(session, order)


async def get(db: Database, order_id: uuid.UUID) -> OrderView:
    async with db.reading() as session:
        order = await session.get(OrderRow, order_id)
        if order is None:
            raise NotFound(f"order {order_id} not found")
        return await view(session, order)


async def listing(
    db: Database, deal_id: uuid.UUID | None, partner_id: uuid.UUID | None, overdue_only: bool
) -> list[OrderView]:
    query = select(OrderRow).order_by(OrderRow.created_at.desc()).limit(500)
    if deal_id:
        query = query.where(OrderRow.deal_id == deal_id)
    if partner_id:
        query = query.where(OrderRow.partner_id == partner_id)
    if overdue_only:
        query = query.where(
            OrderRow.due_on < utcnow().date(),
            OrderRow.paid < OrderRow.total,
            OrderRow.state.notin_([COMPLETED, CANCELLED]),
        )
    async with db.reading() as session:
        return [await view(session, o) for o in (await session.execute(query)).scalars().all()]


async def list_states(db: Database, kind: OrderKind) -> list[OrderStateRow]:
    async with db.reading() as session:
        return await states_of(session, kind.value)


async def set_states(db: Database, kind: OrderKind, working: list[tuple[str, str]]) -> list[OrderStateRow]:
    if not working:
        raise InvalidArgument.single("states", "at least one working state")
    seen: set[str] = set()
    for i, (code, name) in enumerate(working):
        if not STAGE_CODE.match(code):
            raise InvalidArgument.single(f"states[{i}].code", "must be 1-40 of a-z, 0-9, _")
        if code in FIXED_ORDER_STATES:
            raise InvalidArgument.single(f"states[{i}].code", f"{code} always exists")
        if code in seen:
            raise InvalidArgument.single(f"states[{i}].code", f"duplicate state {code!r}")
        if not name.strip():
            raise InvalidArgument.single(f"states[{i}].name", "must not be empty")
        seen.add(code)
    async with db.transaction() as session:
        current = await states_of(session, kind.value)
        removed = [s.code for s in current if s.code not in FIXED_ORDER_STATES and s.code not in seen]
        if removed:
            used = select(OrderRow.state).where(OrderRow.kind == kind.value, OrderRow.state.in_(removed)).distinct()
            busy = list((await session.execute(used)).scalars().all())
            if busy:
                raise FailedPrecondition(
                    f"states used by orders cannot be removed: {', '.join(busy)}", rule="state_in_use"
                )
        fixed = {s.code: s for s in current if s.code in FIXED_ORDER_STATES}
        await session.execute(delete(OrderStateRow).where(OrderStateRow.kind == kind.value))
        ordered = [(AWAITING_APPROVAL, fixed[AWAITING_APPROVAL].name, False)]
        ordered += [(code, name.strip(), False) for code, name in working]
        ordered += [(COMPLETED, fixed[COMPLETED].name, True), (CANCELLED, fixed[CANCELLED].name, True)]
        for position, (code, name, final) in enumerate(ordered):
            session.add(OrderStateRow(kind=kind.value, code=code, name=name, position=position, final=final))
        await session.flush()
        return await states_of(session, kind.value)
