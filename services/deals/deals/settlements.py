"""Invoices, payments and shipments against an order, with its remainders controlled.

No more is invoiced than the order's total, no line ships more than was ordered, and a
payment beyond the total is kept as the partner's advance. Fully paid and shipped, the
order is completed and, when all its deal's orders are, the deal is won.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from crm_platform.money import Money
from crm_platform.outbox import add_event
from deals import dealflow
from deals.domain import (
    CANCELLED,
    CENT,
    COMPLETED,
    check_invoice,
    fully_shipped,
    line_net,
    plan_shipment,
    require_settleable,
)
from deals.events import InvoiceIssued, PaymentReceived, ShipmentMade
from deals.models import DealRow, InvoiceRow, OrderRow, PaymentRow, ShipmentRow
from deals.opening import SOURCE
from deals.orders import OrderView, change_state, locked, view
from deals.pricing_gateway import PricingGateway


async def _complete_if_settled(session: AsyncSession, order: OrderRow) -> None:
    if order.state in (COMPLETED, CANCELLED) or order.paid < order.total or not fully_shipped(order.lines):
        return
    change_state(session, order, COMPLETED)
    await session.flush()
    siblings = (await session.execute(select(OrderRow).where(OrderRow.deal_id == order.deal_id))).scalars().all()
    live = [o for o in siblings if o.state != CANCELLED]
    if all(o.state == COMPLETED for o in live) and len({o.currency for o in live}) == 1:
        deal = await session.get(DealRow, order.deal_id, with_for_update=True)
        assert deal is not None
        amount = Money(sum((o.total for o in live), Decimal(0)), order.currency)
        await dealflow.win_by_orders(session, deal, amount, "all orders paid and shipped")


async def issue_invoice(
    db: Database, order_id: uuid.UUID, amount: Money | None, due_on: date, request_id: str | None
) -> InvoiceRow:
    if request_id:
        async with db.reading() as session:
            earlier = (await session.execute(select(InvoiceRow).where(InvoiceRow.request_id == request_id))).scalars()
            if (found := earlier.first()) is not None:
                return found
    async with db.transaction() as session:
        order = await locked(session, order_id)
        require_settleable(order.state)
        if amount is not None and amount.currency != order.currency:
            raise InvalidArgument.single("amount.currency", f"the order is in {order.currency}")
        value = amount.amount if amount is not None else order.total - order.invoiced
        check_invoice(order.total, order.invoiced, value)
        invoice = InvoiceRow(
            order_id=order.id,
            request_id=request_id,
            amount=value,
            currency=order.currency,
            issued_on=utcnow().date(),
            due_on=due_on,
        )
        session.add(invoice)
        order.invoiced += value
        order.due_on = min(order.due_on, due_on) if order.due_on else due_on
        await session.flush()
        add_event(
            session,
            InvoiceIssued(
                invoice_id=invoice.id,
                order_id=order.id,
                partner_id=order.partner_id,
                manager_id=order.manager_id,
                amount=value,
                currency=order.currency,
                issued_on=invoice.issued_on,
                due_on=due_on,
            ),
            source=SOURCE,
        )
        return invoice


async def register_payment(
    db: Database,
    order_id: uuid.UUID,
    amount: Money,
    *,
    invoice_id: uuid.UUID | None = None,
    request_id: str | None = None,
    shop: tuple[str, str] | None = None,
) -> OrderView:
    """A payment once per request_id (or per shop payment id); repeats return the order."""
    if amount.amount <= 0:
        raise InvalidArgument.single("amount.amount", "must be positive")
    try:
        async with db.transaction() as session:
            order = await locked(session, order_id)
            if await _payment_seen(session, request_id, shop):
                return await view(session, order)
            require_settleable(order.state)
            if amount.currency != order.currency:
                raise InvalidArgument.single("amount.currency", f"the order is in {order.currency}")
            if invoice_id is not None:
                invoice = await session.get(InvoiceRow, invoice_id)
                if invoice is None or invoice.order_id != order.id:
                    raise InvalidArgument.single("invoice_id", "no such invoice of this order")
            payment = PaymentRow(
                order_id=order.id,
                invoice_id=invoice_id,
                request_id=request_id,
                amount=amount.amount,
                currency=amount.currency,
                shop_id=shop[0] if shop else None,
                shop_payment_id=shop[1] if shop else None,
            )
            session.add(payment)
            order.paid += amount.amount
            await session.flush()
            add_event(
                session,
                PaymentReceived(
                    payment_id=payment.id,
                    order_id=order.id,
                    invoice_id=invoice_id,
                    partner_id=order.partner_id,
                    amount=amount.amount,
                    currency=amount.currency,
                    received_at=payment.received_at,
                ),
                source=SOURCE,
            )
            await _complete_if_settled(session, order)
            return await view(session, order)
    except IntegrityError:
        async with db.reading() as session:
            order = await session.get(OrderRow, order_id)
            if order is None or not await _payment_seen(session, request_id, shop):
                raise
            return await view(session, order)


async def _payment_seen(session: AsyncSession, request_id: str | None, shop: tuple[str, str] | None) -> bool:
    if request_id:
        query = select(PaymentRow.id).where(PaymentRow.request_id == request_id)
    elif shop:
        query = select(PaymentRow.id).where(PaymentRow.shop_id == shop[0], PaymentRow.shop_payment_id == shop[1])
    else:
        return False
    return (await session.execute(query)).first() is not None


async def register_shipment(
    db: Database,
    pricing: PricingGateway,
    order_id: uuid.UUID,
    wanted: dict[int, Decimal],
    request_id: str | None,
) -> OrderView:
    if request_id:
        async with db.reading() as session:
            seen = await session.execute(select(ShipmentRow.order_id).where(ShipmentRow.request_id == request_id))
            if seen.first() is not None:
                order = await session.get(OrderRow, order_id)
                if order is None:
                    raise NotFound(f"order {order_id} not found")
                return await view(session, order)
    async with db.reading() as session:
        current = await session.get(OrderRow, order_id)
        if current is None:
            raise NotFound(f"order {order_id} not found")
    require_settleable(current.state)
    plan_shipment(current.lines, wanted)
    if current.agreement_id:
        # Goods leave only once the agreed prepayment has arrived.
        violations = await pricing.check_terms(
            current.lines, currency=current.currency, agreement_id=current.agreement_id, prepayment=current.paid
        )
        missing = [v for v in violations if v["code"] == "PREPAYMENT_MISSING"]
        if missing:
            raise FailedPrecondition(missing[0]["message"], rule="prepayment_missing")
    async with db.transaction() as session:
        order = await locked(session, order_id)
        require_settleable(order.state)
        quantities = plan_shipment(order.lines, wanted)
        lines = [dict(line) for line in order.lines]
        value = Decimal(0)
        for i, quantity in quantities.items():
            lines[i]["shipped"] = format(Decimal(lines[i].get("shipped", "0")) + quantity, "f")
            value += line_net(lines[i]) * quantity
        value = value.quantize(CENT)
        if fully_shipped(lines):  # the last shipment takes the rounding remainder
            value = order.total - order.shipped
        cost = (order.cost * value / order.total).quantize(CENT) if order.total else Decimal(0)
        shipment = ShipmentRow(
            order_id=order.id,
            request_id=request_id,
            amount=value,
            cost=cost,
            lines=[{"line_index": i, "quantity": format(q, "f")} for i, q in quantities.items()],
        )
        session.add(shipment)
        order.lines, order.shipped = lines, order.shipped + value
        await session.flush()
        add_event(
            session,
            ShipmentMade(
                shipment_id=shipment.id,
                order_id=order.id,
                partner_id=order.partner_id,
                amount=value,
                currency=order.currency,
                cost_amount=cost,
                shipped_at=shipment.shipped_at,
            ),
            source=SOURCE,
        )
        await _complete_if_settled(session, order)
        return await view(session, order)
