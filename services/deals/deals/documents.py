"""Every document of a deal in one list: proposals, orders, invoices, payments, shipments, tasks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from crm_platform.db import Database
from crm_platform.errors import NotFound
from deals.models import DealRow, InvoiceRow, OrderRow, PaymentRow, ProposalRow, ShipmentRow, TaskRow


@dataclass(frozen=True)
class Document:
    kind: str
    id: uuid.UUID
    at: datetime
    status: str = ""
    amount: Decimal | None = None
    currency: str = ""
    order_id: uuid.UUID | None = None
    title: str = ""


async def of_deal(db: Database, deal_id: uuid.UUID) -> list[Document]:
    async with db.reading() as session:
        if await session.get(DealRow, deal_id) is None:
            raise NotFound(f"deal {deal_id} not found")
        found: list[Document] = []
        proposals = await session.execute(select(ProposalRow).where(ProposalRow.deal_id == deal_id))
        for p in proposals.scalars():
            total = Decimal(p.totals.get("total", "0"))
            title = f"версія {p.version}, дійсна до {p.valid_until.isoformat()}"
            found.append(Document("proposal", p.id, p.created_at, p.status, total, p.currency, title=title))
        orders = list((await session.execute(select(OrderRow).where(OrderRow.deal_id == deal_id))).scalars())
        currency = {o.id: o.currency for o in orders}
        for o in orders:
            found.append(
                Document("order", o.id, o.created_at, o.state, o.total, o.currency, o.id, o.shop_order_id or "")
            )
        if orders:
            ids = list(currency)
            for i in (await session.execute(select(InvoiceRow).where(InvoiceRow.order_id.in_(ids)))).scalars():
                title = f"від {i.issued_on}, сплатити до {i.due_on}"
                found.append(Document("invoice", i.id, i.issued_at, "", i.amount, i.currency, i.order_id, title))
            for p in (await session.execute(select(PaymentRow).where(PaymentRow.order_id.in_(ids)))).scalars():
                found.append(Document("payment", p.id, p.received_at, "", p.amount, p.currency, p.order_id))
            for s in (await session.execute(select(ShipmentRow).where(ShipmentRow.order_id.in_(ids)))).scalars():
                found.append(Document("shipment", s.id, s.shipped_at, "", s.amount, currency[s.order_id], s.order_id))
        for t in (await session.execute(select(TaskRow).where(TaskRow.deal_id == deal_id))).scalars():
            found.append(Document("task", t.id, t.created_at, t.status, title=t.title))
    return sorted(found, key=lambda d: (d.at, str(d.id)))
