"""Who owes what, from invoices and payments arriving in any order."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from crm_platform.db import Database
from notifications.repository import LedgerOfDebts

AS_OF = date(2026, 11, 23)


async def add_invoice(db: Database, partner: uuid.UUID, amount: str, due: date, manager: str) -> uuid.UUID:
    invoice_id = uuid.uuid4()
    async with db.transaction() as session:
        await LedgerOfDebts(session).add_invoice(
            {
                "id": invoice_id,
                "order_id": None,
                "partner_id": partner,
                "manager_id": manager,
                "region": "Львівська область",
                "amount": Decimal(amount),
                "currency": "UAH",
                "issued_on": date(2026, 9, 1),
                "due_on": due,
            }
        )
    return invoice_id


async def pay(db: Database, partner: uuid.UUID, amount: str, invoice: uuid.UUID | None) -> None:
    async with db.transaction() as session:
        await LedgerOfDebts(session).add_payment(
            {
                "id": uuid.uuid4(),
                "invoice_id": invoice,
                "partner_id": partner,
                "amount": Decimal(amount),
                "currency": "UAH",
                "received_at": datetime.now(UTC),
            }
        )


async def debtors(db: Database, manager: str, min_days: int = 1) -> list[tuple[Decimal, int, int]]:
    async with db.reading() as session:
        rows = await LedgerOfDebts(session).debtors(
            as_of=AS_OF, min_overdue_days=min_days, manager_ids=[manager], regions=[], min_amount=None, currency=None
        )
    return [(r.overdue, r.overdue_days, r.invoices) for r in rows]


async def test_a_payment_without_an_invoice_pays_the_oldest_first(db: Database) -> None:
    manager, partner = f"m-{uuid.uuid4().hex[:6]}", uuid.uuid4()
    await add_invoice(db, partner, "1000.00", date(2026, 10, 1), manager)
    await add_invoice(db, partner, "500.00", date(2026, 11, 1), manager)
    await pay(db, partner, "1200.00", None)
    assert await debtors(db, manager) == [(Decimal("300.0000"), 22, 1)]


async def test_a_payment_arriving_before_its_invoice_is_applied_when_the_invoice_comes(db: Database) -> None:
    manager, partner = f"m-{uuid.uuid4().hex[:6]}", uuid.uuid4()
    invoice_id = uuid.uuid4()
    await pay(db, partner, "700.00", invoice_id)
    async with db.transaction() as session:
        await LedgerOfDebts(session).add_invoice(
            {
                "id": invoice_id,
                "partner_id": partner,
                "manager_id": manager,
                "region": "",
                "amount": Decimal("1000.00"),
                "currency": "UAH",
                "issued_on": date(2026, 9, 1),
                "due_on": date(2026, 10, 1),
            }
        )
    assert await debtors(db, manager) == [(Decimal("300.0000"), 53, 1)]
    assert await debtors(db, manager, min_days=60) == []
