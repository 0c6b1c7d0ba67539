"""Quote (the right prices for a partner) and CheckTerms (a document against its agreement).

Both read only the cached price tables (``PriceTables``): no SQL on the warm path.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from pricing.agreements import terms_of
from pricing.domain import (
    HUNDRED,
    AgreementStatus,
    AgreementView,
    DocumentCheck,
    LineInput,
    LineResult,
    TaxRegime,
    Terms,
    Totals,
    Violation,
    ViolationCode,
    cents,
    check_document,
    manual_discount_violations,
    price_line,
    totals_of,
)
from pricing.models import AgreementRow, PriceTypeRow
from pricing.price_tables import PriceTable, PriceTables, ProductInfo


@dataclass(frozen=True)
class LineRef:
    product_id: uuid.UUID | None
    sku: str
    quantity: Decimal
    discount_percent: Decimal  # manual (Quote) or the document's (CheckTerms)
    unit_price: Decimal | None = None  # CheckTerms only


@dataclass
class Priced:
    agreement: AgreementRow | None
    price_type: PriceTypeRow
    currency: str
    lines: list[LineResult]
    totals: Totals
    violations: list[Violation]


@dataclass
class Context:
    agreement: AgreementRow | None
    terms: Terms | None
    price_type: PriceTypeRow
    currency: str
    products: list[ProductInfo]


async def _context(
    tables: PriceTables,
    *,
    partner_id: uuid.UUID | None,
    agreement_id: uuid.UUID | None,
    on: date,
    currency: str,
    lines: list[LineRef],
    include_expired: bool,
) -> Context:
    agreement: AgreementRow | None = None
    if agreement_id is not None:
        agreement = await tables.agreement(agreement_id)
        if agreement is None:
            raise NotFound(f"agreement {agreement_id} not found")
    elif partner_id is not None:
        agreement = await tables.agreement_for(partner_id, on)
        if agreement is None and include_expired:
            agreement = await tables.lapsed_agreement_for(partner_id, on)
    terms = terms_of(agreement) if agreement is not None else None
    price_type = None
    if terms is not None and terms.price_type_id is not None:
        price_type = await tables.price_type(terms.price_type_id)
    if price_type is None:
        price_type = await tables.default_type()
    if price_type is None:
        raise FailedPrecondition("no agreement applies and no default price type is set", rule="default_price_type")
    if not currency:
        currency = (terms.currency if terms else "") or price_type.currency
    products = await _products(tables, lines)
    return Context(agreement, terms, price_type, currency, products)


async def _products(tables: PriceTables, lines: list[LineRef]) -> list[ProductInfo]:
    ids = [line.product_id for line in lines if line.product_id is not None]
    skus = [line.sku for line in lines if line.product_id is None]
    by_id, by_sku = await tables.products(ids, skus)
    found: list[ProductInfo] = []
    for i, line in enumerate(lines):
        product_id = line.product_id if line.product_id is not None else by_sku.get(line.sku)
        product = by_id.get(product_id) if product_id is not None else None
        if product is None:
            field = f"lines[{i}].product_id" if line.product_id is not None else f"lines[{i}].sku"
            raise InvalidArgument.single(field, f"unknown product {line.product_id or line.sku!r}")
        found.append(product)
    return found


class _Pricer:
    """Prices of one document: the price table, rates and markup looked up once, not per line."""

    def __init__(self, tables: PriceTables, ctx: Context, on: date, table: PriceTable, rate: Decimal) -> None:
        self.tables, self.ctx, self.on, self.table, self.rate = tables, ctx, on, table, rate
        terms = ctx.terms
        self.markup = -terms.discount_percent if terms and terms.discount_percent < 0 else Decimal(0)
        self.no_vat = terms is not None and terms.tax_regime in (TaxRegime.NO_VAT, TaxRegime.EXPORT)
        self.cost_rates: dict[str, Decimal] = {}

    @classmethod
    async def of(cls, tables: PriceTables, ctx: Context, on: date) -> _Pricer:
        table = await tables.table(ctx.price_type.id)
        rate, _ = await tables.rate(ctx.price_type.currency, ctx.currency, on)
        return cls(tables, ctx, on, table, rate)

    def agreed_price(self, product: ProductInfo, index: int) -> Decimal:
        found = self.table.price(product.id, self.on)
        if found is None:
            raise FailedPrecondition(
                f"lines[{index}]: no price for {product.sku} «{product.name}» in price type "
                f"«{self.ctx.price_type.name}» on {self.on}",
                rule="price_missing",
            )
        price = found[0] * self.rate
        if self.markup:
            price = price * (HUNDRED + self.markup) / HUNDRED
        return cents(price)

    async def line(self, product: ProductInfo, ref: LineRef, price: Decimal, discount: Decimal) -> LineInput:
        rate = self.cost_rates.get(product.cost_currency)
        if rate is None:
            rate, _ = await self.tables.rate(product.cost_currency, self.ctx.currency, self.on)
            self.cost_rates[product.cost_currency] = rate
        return LineInput(
            product_id=product.id,
            sku=product.sku,
            name=product.name,
            quantity=ref.quantity,
            price=price,
            discount_percent=discount,
            vat_rate=Decimal(0) if self.no_vat else product.vat_rate,
            unit_cost=product.cost * rate,
        )


def _status_violations(ctx: Context, on: date) -> list[Violation]:
    if ctx.agreement is None or ctx.terms is None:
        return []
    view = _view(ctx)
    return [
        v
        for v in check_document(DocumentCheck(on, ctx.currency, [], [], [], Decimal(0), Decimal(0), view))
        if v.code in (ViolationCode.AGREEMENT_NOT_AGREED, ViolationCode.AGREEMENT_EXPIRED)
    ]


def _view(ctx: Context) -> AgreementView:
    assert ctx.agreement is not None
    assert ctx.terms is not None
    return AgreementView(
        ctx.agreement.id,
        AgreementStatus(ctx.agreement.status),
        ctx.agreement.valid_from,
        ctx.agreement.valid_to,
        ctx.terms,
    )


async def quote(
    tables: PriceTables,
    *,
    partner_id: uuid.UUID | None,
    agreement_id: uuid.UUID | None,
    on: date,
    currency: str,
    lines: list[LineRef],
) -> Priced:
    ctx = await _context(
        tables,
        partner_id=partner_id,
        agreement_id=agreement_id,
        on=on,
        currency=currency,
        lines=lines,
        include_expired=False,
    )
    agreement_discount = max(ctx.terms.discount_percent, Decimal(0)) if ctx.terms else Decimal(0)
    pricer = await _Pricer.of(tables, ctx, on)
    results: list[LineResult] = []
    for i, (ref, product) in enumerate(zip(lines, ctx.products, strict=True)):
        price = pricer.agreed_price(product, i)
        line = await pricer.line(product, ref, price, agreement_discount + ref.discount_percent)
        results.append(price_line(line, ctx.price_type.includes_vat))
    violations = _status_violations(ctx, on)
    if ctx.terms is not None:
        violations += manual_discount_violations(
            [ref.discount_percent for ref in lines], ctx.terms.manual_discount_limit_percent
        )
    return Priced(ctx.agreement, ctx.price_type, ctx.currency, results, totals_of(results), violations)


async def check_terms(
    tables: PriceTables,
    *,
    partner_id: uuid.UUID | None,
    agreement_id: uuid.UUID | None,
    on: date,
    currency: str,
    lines: list[LineRef],
    prepayment: Decimal,
) -> Priced:
    ctx = await _context(
        tables,
        partner_id=partner_id,
        agreement_id=agreement_id,
        on=on,
        currency=currency,
        lines=lines,
        include_expired=True,
    )
    pricer = await _Pricer.of(tables, ctx, on)
    agreed: list[Decimal] = []
    results: list[LineResult] = []
    for i, (ref, product) in enumerate(zip(lines, ctx.products, strict=True)):
        agreed.append(pricer.agreed_price(product, i))
        assert ref.unit_price is not None
        line = await pricer.line(product, ref, ref.unit_price, ref.discount_percent)
        results.append(price_line(line, ctx.price_type.includes_vat))
    totals = totals_of(results)
    document = DocumentCheck(
        on=on,
        currency=ctx.currency,
        unit_prices=[ref.unit_price or Decimal(0) for ref in lines],
        discounts=[ref.discount_percent for ref in lines],
        agreed_prices=agreed,
        total=totals.total,
        prepayment=prepayment,
        agreement=_view(ctx) if ctx.agreement is not None else None,
    )
    return Priced(ctx.agreement, ctx.price_type, ctx.currency, results, totals, check_document(document))
