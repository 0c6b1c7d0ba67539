"""Quote (the right prices for a partner) and CheckTerms (a document against its agreement).

Both read only the cached price tables (``PriceTables``): no SQL on the warm path.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from pricing.agreements import terms_of
from pricing.domain import (
    CENT,
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
    check_document,
    manual_discount_violations,
    price_lines,
)
from pricing.memo import remember
from pricing.models import AgreementRow, PriceTypeRow
from pricing.price_tables import PriceTable, PriceTables, ProductInfo, missing_rate


@dataclass(slots=True)
class LineRef:
    product_id: uuid.UUID | None
    sku: str
    quantity: Decimal
    discount_percent: Decimal  # manual (Quote) or the document's (CheckTerms)
    unit_price: Decimal | None = None  # CheckTerms only
    quantity_text: str = ""  # the quantity as Quote writes it back, formatted once per distinct text


@dataclass
class Priced:
    agreement: AgreementRow | None
    price_type: PriceTypeRow
    currency: str
    lines: list[LineResult]
    totals: Totals
    violations: list[Violation]
    products: list[ProductInfo]
    costs_known: bool = True  # False: a cost could not be converted (no exchange rate), so no profitability


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
    terms = _terms(agreement) if agreement is not None else None
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


# Terms by agreement id, built once per loaded row: agreements are reloaded as new rows, never
# changed in place, so a row that is still the same object still has the same terms.
_TERMS: dict[uuid.UUID, tuple[AgreementRow, Terms]] = {}
MAX_TERMS = 10_000


def _terms(agreement: AgreementRow) -> Terms:
    found = _TERMS.get(agreement.id)
    if found is None or found[0] is not agreement:
        found = remember(_TERMS, agreement.id, (agreement, terms_of(agreement)), MAX_TERMS)
    return found[1]


async def _products(tables: PriceTables, lines: list[LineRef]) -> list[ProductInfo]:
    ids = [line.product_id for line in lines if line.product_id is not None]
    skus = [line.sku for line in lines if line.product_id is None]
    by_id, by_sku = await tables.products(ids, skus)
    found: list[ProductInfo] = []
    for i, line in enumerate(lines):
        product_id = line.product_id if line.product_id is not None else by_sku.get(line.sku)
        product = by_id.get(product_id.int) if product_id is not None else None
        if product is None:
            field = f"lines[{i}].product_id" if line.product_id is not None else f"lines[{i}].sku"
            raise InvalidArgument.single(field, f"unknown product {line.product_id or line.sku!r}")
        found.append(product)
    return found


class _Pricer:
    """Prices of one document: the price table, rates and markup looked up once, not per line.

    A rate that does not exist is None here (``missing`` names the pairs): Quote refuses the
    call, CheckTerms reports it and checks what it still can."""

    def __init__(
        self, ctx: Context, on: date, table: PriceTable, rate: Decimal | None, cost_rates: dict[str, Decimal | None]
    ) -> None:
        self.ctx, self.on, self.table, self.rate, self.cost_rates = ctx, on, table, rate, cost_rates
        terms = ctx.terms
        self.markup = -terms.discount_percent if terms and terms.discount_percent < 0 else Decimal(0)
        self.no_vat = terms is not None and terms.tax_regime in (TaxRegime.NO_VAT, TaxRegime.EXPORT)
        self.missing: list[tuple[str, str]] = []
        if rate is None:
            self.missing.append((ctx.price_type.currency, ctx.currency))
        for currency, found in cost_rates.items():
            if found is None and (currency, ctx.currency) not in self.missing:
                self.missing.append((currency, ctx.currency))

    @classmethod
    async def of(cls, tables: PriceTables, ctx: Context, on: date) -> _Pricer:
        table = await tables.table(ctx.price_type.id)
        found = await tables.rate_or_none(ctx.price_type.currency, ctx.currency, on)
        cost_rates: dict[str, Decimal | None] = {}
        for currency in {p.cost_currency for p in ctx.products}:
            cost = await tables.rate_or_none(currency, ctx.currency, on)
            cost_rates[currency] = cost[0] if cost else None
        return cls(ctx, on, table, found[0] if found else None, cost_rates)

    def refuse_missing_rates(self) -> None:
        if self.missing:
            source, target = self.missing[0]
            raise missing_rate(source, target, self.on)

    def missing_rate_violations(self) -> list[Violation]:
        found = []
        for source, target in self.missing:
            if source == self.ctx.price_type.currency:
                what = f"prices of «{self.ctx.price_type.name}» in {source} cannot be compared with the document's"
            else:
                what = f"costs in {source} cannot be converted"
            found.append(
                Violation(
                    ViolationCode.CURRENCY_MISMATCH,
                    -1,
                    f"no exchange rate {source}→{target} on or before {self.on}: {what} in {target}",
                )
            )
        return found

    def agreed_price(self, product: ProductInfo, index: int) -> Decimal | None:
        """The price type's price converted and marked up, in cents; None without a rate."""
        rate = self.rate
        if rate is None:
            return None
        found = self.table.price(product.id, self.on)
        if found is None:
            raise FailedPrecondition(
                f"lines[{index}]: no price for {product.sku} «{product.name}» in price type "
                f"«{self.ctx.price_type.name}» on {self.on}",
                rule="price_missing",
            )
        price = found[0]
        if rate != ONE:
            price = price * rate
        if self.markup:
            price = price * (HUNDRED + self.markup) / HUNDRED
        return price.quantize(CENT, ROUND_HALF_UP)

    def line(self, product: ProductInfo, ref: LineRef, price: Decimal, discount: Decimal) -> LineInput:
        rate = self.cost_rates[product.cost_currency]
        return (
            price,
            ref.quantity,
            discount,
            ZERO if self.no_vat else product.vat_rate,
            product.cost * rate if rate is not None else ZERO,
        )


ONE = Decimal(1)
ZERO = Decimal(0)


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
    agreement_discount = max(ctx.terms.discount_percent, ZERO) if ctx.terms else ZERO
    pricer = await _Pricer.of(tables, ctx, on)
    pricer.refuse_missing_rates()
    inputs: list[LineInput] = []
    for i, (ref, product) in enumerate(zip(lines, ctx.products, strict=True)):
        price = pricer.agreed_price(product, i)
        assert price is not None
        inputs.append(pricer.line(product, ref, price, agreement_discount + ref.discount_percent))
    results, totals = price_lines(inputs, ctx.price_type.includes_vat)
    violations = _status_violations(ctx, on)
    if ctx.terms is not None:
        violations += manual_discount_violations(
            [ref.discount_percent for ref in lines], ctx.terms.manual_discount_limit_percent
        )
    return Priced(ctx.agreement, ctx.price_type, ctx.currency, results, totals, violations, ctx.products)


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
    agreed: list[Decimal | None] = []
    inputs: list[LineInput] = []
    for i, (ref, product) in enumerate(zip(lines, ctx.products, strict=True)):
        agreed.append(pricer.agreed_price(product, i))
        assert ref.unit_price is not None
        inputs.append(pricer.line(product, ref, ref.unit_price, ref.discount_percent))
    results, totals = price_lines(inputs, ctx.price_type.includes_vat)
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
    violations = pricer.missing_rate_violations() + check_document(document)
    costs_known = all(rate is not None for rate in pricer.cost_rates.values())
    return Priced(ctx.agreement, ctx.price_type, ctx.currency, results, totals, violations, ctx.products, costs_known)
