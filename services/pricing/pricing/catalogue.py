"""The catalogue: products with SKU, unit, VAT rate and cost."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from crm_platform.db import Database
from crm_platform.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from crm_platform.money import Money, parse_decimal
from crm_platform.outbox import add_event
from crm_platform.text import fold
from pricing.domain import MAX_SKU, check_amount, clean_text
from pricing.events import SOURCE, ProductUpdated
from pricing.models import ProductRow
from pricing.price_tables import PriceTables
from pricing.repository import ProductRepository

MAX_UNIT = 20


def check_sku(sku: str) -> str:
    return clean_text(sku, "sku", MAX_SKU)


def check_name(name: str) -> str:
    return clean_text(name, "name")


def check_unit(unit: str) -> str:
    return clean_text(unit, "unit", MAX_UNIT)


def parse_vat_rate(text: str) -> Decimal:
    vat_rate = parse_decimal(text or "0", "vat_rate")
    if vat_rate >= 100:
        raise InvalidArgument.single("vat_rate", "must be below 100")
    return check_amount(vat_rate, "vat_rate", places=2)


def check_cost(cost: Money) -> Money:
    if cost.amount < 0:
        raise InvalidArgument.single("cost.amount", "must not be negative")
    check_amount(cost.amount, "cost.amount")
    return cost


def new_product(sku: str, name: str, unit: str, vat_rate_text: str, cost: Money) -> ProductRow:
    name = check_name(name)
    cost = check_cost(cost)
    return ProductRow(
        sku=check_sku(sku),
        name=name,
        name_folded=fold(name),
        unit=check_unit(unit),
        vat_rate=parse_vat_rate(vat_rate_text),
        cost=cost.amount,
        cost_currency=cost.currency,
    )


@dataclass(frozen=True)
class ProductChanges:
    """What UpdateProduct changes; None keeps the value (already validated)."""

    sku: str | None = None
    name: str | None = None
    unit: str | None = None
    vat_rate: Decimal | None = None
    cost: Money | None = None


async def create_product(db: Database, product: ProductRow, request_id: str | None) -> ProductRow:
    product.request_id = request_id
    try:
        async with db.transaction() as session:
            products = ProductRepository(session)
            if request_id and (earlier := await products.by_request_id(request_id)) is not None:
                return earlier
            if await products.by_sku(product.sku) is not None:
                raise AlreadyExists(f"a product with SKU {product.sku!r} exists")
            return await products.add(product)
    except IntegrityError:
        async with db.reading() as session:
            products = ProductRepository(session)
            if request_id and (earlier := await products.by_request_id(request_id)) is not None:
                return earlier
        raise AlreadyExists(f"a product with SKU {product.sku!r} exists") from None


async def update_product(
    db: Database, tables: PriceTables, product_id: uuid.UUID, changes: ProductChanges, expected_version: int
) -> ProductRow:
    try:
        async with db.transaction() as session:
            products = ProductRepository(session)
            row = await products.get(product_id, lock=True)
            if row is None:
                raise NotFound(f"product {product_id} not found")
            if expected_version and expected_version != row.version:
                raise FailedPrecondition(
                    f"the product changed meanwhile (version {row.version}, expected {expected_version})",
                    rule="version",
                )
            changed = False
            if changes.sku is not None and changes.sku != row.sku:
                holder = await products.by_sku(changes.sku)
                if holder is not None:
                    raise AlreadyExists(f"SKU {changes.sku!r} belongs to another product: {holder.id} «{holder.name}»")
                row.sku, changed = changes.sku, True
            if changes.name is not None and changes.name != row.name:
                row.name, row.name_folded, changed = changes.name, fold(changes.name), True
            if changes.unit is not None and changes.unit != row.unit:
                row.unit, changed = changes.unit, True
            if changes.vat_rate is not None and changes.vat_rate != row.vat_rate:
                row.vat_rate, changed = changes.vat_rate, True
            cost = changes.cost
            if cost is not None and (cost.amount != row.cost or cost.currency != row.cost_currency):
                row.cost, row.cost_currency, changed = cost.amount, cost.currency, True
            if not changed:  # a retry, or the values it already has: nothing to announce
                return row
            row.version += 1
            await session.flush()
            add_event(
                session,
                ProductUpdated(
                    product_id=row.id,
                    sku=row.sku,
                    name=row.name,
                    unit=row.unit,
                    vat_rate=row.vat_rate,
                    cost=row.cost,
                    cost_currency=row.cost_currency,
                    version=row.version,
                ),
                source=SOURCE,
            )
    except IntegrityError:  # another product took the SKU between our check and our write
        raise AlreadyExists(f"SKU {changes.sku!r} belongs to another product") from None
    tables.drop_products()
    return row
