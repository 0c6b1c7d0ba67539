"""Importing supplier/competitor price lists and comparing them with our prices."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from crm_platform.db import Database
from crm_platform.errors import AlreadyExists, NotFound
from crm_platform.text import fold
from pricing.domain import HUNDRED, cents, clean_text
from pricing.models import PriceListItemRow, PriceListRow
from pricing.price_list_files import FileRow
from pricing.price_tables import PriceTables
from pricing.repository import PriceListRepository, ProductRepository


@dataclass(frozen=True)
class Unmatched:
    row: int
    sku: str
    name: str
    reason: str


@dataclass(frozen=True)
class ImportResult:
    price_list_id: uuid.UUID
    rows: int
    matched: int
    unmatched: list[Unmatched]


def match(
    rows: list[FileRow], products: list[tuple[uuid.UUID, str, str]]
) -> tuple[dict[int, uuid.UUID], list[Unmatched]]:
    """By SKU (case-insensitive) first, then by the folded name; ambiguous names are not guessed."""
    by_sku = {sku.casefold(): pid for pid, sku, _ in products}
    by_name: dict[str, list[uuid.UUID]] = {}
    for pid, _, name in products:
        by_name.setdefault(name, []).append(pid)
    matched: dict[int, uuid.UUID] = {}
    unmatched: list[Unmatched] = []
    for row in rows:
        if row.problem:
            unmatched.append(Unmatched(row.row, row.sku, row.name, row.problem))
            continue
        product_id = by_sku.get(row.sku.casefold()) if row.sku else None
        if product_id is None and row.name:
            candidates = by_name.get(fold(row.name), [])
            if len(candidates) == 1:
                product_id = candidates[0]
            elif len(candidates) > 1:
                unmatched.append(Unmatched(row.row, row.sku, row.name, "several products have this name"))
                continue
        if product_id is None:
            unmatched.append(Unmatched(row.row, row.sku, row.name, "no product with this SKU or name"))
        else:
            matched[row.row] = product_id
    return matched, unmatched


async def import_price_list(
    db: Database,
    *,
    name: str,
    kind: str,
    partner_id: uuid.UUID | None,
    currency: str,
    on: date,
    rows: list[FileRow],
    request_id: str | None,
) -> ImportResult:
    name = clean_text(name, "name")
    try:
        async with db.transaction() as session:
            lists = PriceListRepository(session)
            if request_id and (earlier := await lists.by_request_id(request_id)) is not None:
                raise _Repeated(earlier.id)
            products = await ProductRepository(session).all_for_matching()
            matched, unmatched = match(rows, products)
            row = PriceListRow(
                name=name, kind=kind, partner_id=partner_id, currency=currency, on=on, request_id=request_id
            )
            items = [
                PriceListItemRow(
                    price_list_id=row.id,
                    row=r.row,
                    product_id=matched.get(r.row),
                    sku=r.sku[:64],
                    name=r.name[:300],
                    price=r.price,
                )
                for r in rows
                if r.price is not None
            ]
            await lists.add(row, items)
    except _Repeated as repeated:
        return await _result_of(db, repeated.list_id)
    except IntegrityError:
        raise AlreadyExists("price list already imported") from None
    return ImportResult(row.id, len(rows), len(matched), unmatched)


class _Repeated(Exception):
    def __init__(self, list_id: uuid.UUID) -> None:
        self.list_id = list_id


async def _result_of(db: Database, list_id: uuid.UUID) -> ImportResult:
    async with db.reading() as session:
        items = await PriceListRepository(session).items(list_id)
    unmatched = [Unmatched(i.row, i.sku, i.name, "no product with this SKU or name") for i in items if not i.product_id]
    return ImportResult(list_id, len(items), sum(1 for i in items if i.product_id), unmatched)


@dataclass(frozen=True)
class Comparison:
    product_id: uuid.UUID
    sku: str
    name: str
    ours: Decimal | None
    theirs: Decimal
    difference: Decimal | None
    difference_percent: Decimal | None


async def compare(
    db: Database, tables: PriceTables, list_id: uuid.UUID, type_id: uuid.UUID, on: date
) -> tuple[str, list[Comparison]]:
    async with db.reading() as session:
        price_list = await PriceListRepository(session).get(list_id)
        if price_list is None:
            raise NotFound(f"price list {list_id} not found")
        items = [i for i in await PriceListRepository(session).items(list_id) if i.product_id is not None]
    price_type = await tables.price_type(type_id)
    if price_type is None:
        raise NotFound(f"price type {type_id} not found")
    rate, _ = await tables.rate(price_list.currency, price_type.currency, on)
    table = await tables.table(type_id)
    by_id, _ = await tables.products([i.product_id for i in items if i.product_id], [])
    out: list[Comparison] = []
    for item in items:
        assert item.product_id is not None
        product = by_id[item.product_id.int]
        theirs = cents(item.price * rate)
        found = table.price(item.product_id, on)
        ours = found[0] if found else None
        diff = ours - theirs if ours is not None else None
        pct = cents(diff * HUNDRED / theirs) if diff is not None and theirs else None
        out.append(Comparison(product.id, product.sku, product.name, ours, theirs, diff, pct))
    return price_type.currency, out
