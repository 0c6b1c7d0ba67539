"""The catalogue: products with SKU, unit, VAT rate and cost."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from crm_platform.db import Database
from crm_platform.errors import AlreadyExists, InvalidArgument
from crm_platform.money import Money
from crm_platform.text import fold
from pricing.domain import MAX_SKU, check_amount, clean_text
from pricing.models import ProductRow
from pricing.repository import ProductRepository


def new_product(sku: str, name: str, unit: str, vat_rate_text: str, cost: Money) -> ProductRow:
    from crm_platform.money import parse_decimal

    sku = clean_text(sku, "sku", MAX_SKU)
    name = clean_text(name, "name")
    unit = clean_text(unit, "unit", 20)
    vat_rate = parse_decimal(vat_rate_text or "0", "vat_rate")
    if vat_rate >= 100:
        raise InvalidArgument.single("vat_rate", "must be below 100")
    if cost.amount < 0:
        raise InvalidArgument.single("cost.amount", "must not be negative")
    check_amount(cost.amount, "cost.amount")
    return ProductRow(
        sku=sku,
        name=name,
        name_folded=fold(name),
        unit=unit,
        vat_rate=vat_rate,
        cost=cost.amount,
        cost_currency=cost.currency,
    )


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
