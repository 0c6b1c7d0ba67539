"""Pricing rules. Pure Python, no I/O; Decimal throughout."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import lru_cache

from crm_platform.errors import FailedPrecondition, InvalidArgument
from crm_platform.money import parse_decimal

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
MAX_SKU = 64
MAX_NAME = 300


class Rounding(StrEnum):
    HALF_UP = "half_up"
    UP = "up"
    DOWN = "down"
    HALF_EVEN = "half_even"


_DECIMAL_MODE = {
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.UP: ROUND_CEILING,
    Rounding.DOWN: ROUND_DOWN,
    Rounding.HALF_EVEN: ROUND_HALF_EVEN,
}


class AgreementKind(StrEnum):
    TYPICAL = "typical"
    INDIVIDUAL = "individual"


class AgreementStatus(StrEnum):
    DRAFT = "draft"
    AGREED = "agreed"
    CLOSED = "closed"


class PaymentForm(StrEnum):
    CASH = "cash"
    BANK_TRANSFER = "bank_transfer"
    CARD = "card"
    ANY = "any"


class TaxRegime(StrEnum):
    VAT = "vat"
    NO_VAT = "no_vat"
    EXPORT = "export"


class SaleKind(StrEnum):
    WHOLESALE = "wholesale"
    RETAIL = "retail"
    COMMISSION = "commission"


class PriceListKind(StrEnum):
    SUPPLIER = "supplier"
    COMPETITOR = "competitor"


class ViolationCode(StrEnum):
    PRICE_BELOW_AGREED = "price_below_agreed"
    DISCOUNT_OVER_LIMIT = "discount_over_limit"
    PREPAYMENT_MISSING = "prepayment_missing"
    AGREEMENT_EXPIRED = "agreement_expired"
    AGREEMENT_NOT_AGREED = "agreement_not_agreed"
    CURRENCY_MISMATCH = "currency_mismatch"


# ---------------------------------------------------------------- parsing


def parse_day(text: str, field: str, *, default: date | None = None) -> date:
    text = (text or "").strip()
    if not text:
        if default is None:
            raise InvalidArgument.single(field, "is required (YYYY-MM-DD)")
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument.single(field, f"not a date YYYY-MM-DD: {text!r}") from None


def parse_percent(text: str, field: str, *, allow_negative: bool = False, default: Decimal | None = None) -> Decimal:
    if not (text or "").strip() and default is not None:
        return default
    value = parse_decimal(text, field, allow_negative=allow_negative)
    if value > HUNDRED or value < -1000:
        raise InvalidArgument.single(field, "percent out of range")
    return value


MAX_QUANTITY = Decimal(10) ** 9
MAX_AMOUNT = Decimal(10) ** 13  # what numeric(18, 4) columns hold


def parse_quantity(text: str, field: str) -> Decimal:
    value = parse_decimal(text, field)
    if value <= 0:
        raise InvalidArgument.single(field, "must be greater than zero")
    if value > MAX_QUANTITY or value.as_tuple().exponent < -6:  # type: ignore[operator]
        raise InvalidArgument.single(field, "at most 10^9 with at most 6 decimal places")
    return value


def parse_amount(text: str, field: str, places: int = 4) -> Decimal:
    """A price, cost, step or rate: not negative, below 10^13, at most `places` decimal places."""
    return check_amount(parse_decimal(text, field), field, places)


def check_amount(value: Decimal, field: str, places: int = 4) -> Decimal:
    if abs(value) >= MAX_AMOUNT:
        raise InvalidArgument.single(field, "must be below 10^13")
    if value.as_tuple().exponent < -places:  # type: ignore[operator]
        raise InvalidArgument.single(field, f"at most {places} decimal places")
    return value


def clean_text(value: str, field: str, limit: int = MAX_NAME, *, required: bool = True) -> str:
    clean = " ".join((value or "").split())
    if required and not clean:
        raise InvalidArgument.single(field, "must not be empty")
    if len(clean) > limit:
        raise InvalidArgument.single(field, f"longer than {limit} characters")
    return clean


# ---------------------------------------------------------------- derivation


@dataclass(frozen=True, slots=True)
class Rule:
    base_id: uuid.UUID
    markup_percent: Decimal
    step: Decimal = CENT
    rounding: Rounding = Rounding.HALF_UP

    def __post_init__(self) -> None:
        if self.step <= 0:
            raise InvalidArgument.single("rule.rounding_step", "must be greater than zero")
        if self.markup_percent <= -HUNDRED:
            raise InvalidArgument.single("rule.markup_percent", "a discount must be less than 100%")

    def apply(self, base: Decimal) -> Decimal:
        return round_to_step(base * (HUNDRED + self.markup_percent) / HUNDRED, self.step, self.rounding)


def round_to_step(value: Decimal, step: Decimal, mode: Rounding) -> Decimal:
    """12.345 at step 0.01 HALF_UP → 12.35; 123 at step 5 UP → 125; exact Decimal arithmetic."""
    units = (value / step).quantize(_ONE, rounding=_DECIMAL_MODE[mode])
    return (units * step).quantize(_quantum(step))


_ONE = Decimal(1)


@lru_cache(maxsize=64)
def _quantum(step: Decimal) -> Decimal:
    """The places a multiple of step is written with: 0.01 → 0.01, 0.5 → 0.1, 5 → 1."""
    exponent = min(step.normalize().as_tuple().exponent, 0)  # type: ignore[type-var]
    return _ONE.scaleb(exponent)


def check_no_cycle(type_id: uuid.UUID, base_id: uuid.UUID, bases: Mapping[uuid.UUID, uuid.UUID | None]) -> None:
    """Refuses a rule making type_id derive (directly or through a chain) from itself."""
    seen = {type_id}
    current: uuid.UUID | None = base_id
    while current is not None:
        if current in seen:
            raise InvalidArgument.single(
                "rule.base_price_type_id", "derivation cycle: the base is derived from this price type"
            )
        seen.add(current)
        current = bases.get(current)


def derivation_order(roots: set[uuid.UUID], bases: Mapping[uuid.UUID, uuid.UUID | None]) -> list[uuid.UUID]:
    """Every price type derived from any of roots, bases before the types derived from them."""
    children: dict[uuid.UUID, list[uuid.UUID]] = {}
    for child, base in bases.items():
        if base is not None:
            children.setdefault(base, []).append(child)
    order: list[uuid.UUID] = []
    frontier = sorted(roots)
    seen: set[uuid.UUID] = set()
    while frontier:
        nxt: list[uuid.UUID] = []
        for node in frontier:
            for child in children.get(node, []):
                if child not in seen:
                    seen.add(child)
                    order.append(child)
                    nxt.append(child)
        frontier = nxt
    return order


# ---------------------------------------------------------------- money helpers


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def price_plain(amount: Decimal) -> Decimal:
    """A stored price without the storage's trailing zeros beyond cents: 125.0000 → 125.00."""
    return cents(amount) if amount == cents(amount) else amount.normalize()


# ---------------------------------------------------------------- agreements


@dataclass(frozen=True, slots=True)
class Terms:
    price_type_id: uuid.UUID | None = None
    currency: str = ""
    discount_percent: Decimal = Decimal(0)
    manual_discount_limit_percent: Decimal = Decimal(0)
    prepayment_percent: Decimal = Decimal(0)
    credit_days: int = 0
    payment_form: PaymentForm = PaymentForm.ANY
    tax_regime: TaxRegime = TaxRegime.VAT
    delivery_terms: str = ""
    sale_kind: SaleKind = SaleKind.WHOLESALE
    contract_required: bool = False
    returnable_packaging: bool = False

    def overridden(self, overrides: Mapping[str, object]) -> Terms:
        return replace(self, **overrides)  # type: ignore[arg-type]


def check_terms_values(terms: Terms) -> None:
    if terms.credit_days < 0 or terms.credit_days > 3650:
        raise InvalidArgument.single("terms.credit_days", "must be between 0 and 3650")
    if terms.discount_percent >= HUNDRED:
        raise InvalidArgument.single("terms.discount_percent", "must be less than 100")
    if terms.prepayment_percent > HUNDRED:
        raise InvalidArgument.single("terms.prepayment_percent", "must be at most 100")


def check_validity(valid_from: date, valid_to: date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise InvalidArgument.single("valid_to", "is before valid_from")


def overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (a_to is None or b_from <= a_to) and (b_to is None or a_from <= b_to)


def refuse_overlap(
    valid_from: date, valid_to: date | None, others: list[tuple[uuid.UUID, date, date | None]], party: str
) -> None:
    for other_id, other_from, other_to in others:
        if overlaps(valid_from, valid_to, other_from, other_to):
            raise FailedPrecondition(
                f"validity {valid_from}..{valid_to or '∞'} overlaps agreement {other_id} "
                f"({other_from}..{other_to or '∞'}) of the same {party}",
                rule="agreement_overlap",
            )


TRANSITIONS = {
    AgreementStatus.DRAFT: {AgreementStatus.AGREED, AgreementStatus.CLOSED},
    AgreementStatus.AGREED: {AgreementStatus.CLOSED},
    AgreementStatus.CLOSED: set(),
}


def check_transition(current: AgreementStatus, target: AgreementStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise FailedPrecondition(f"an agreement {current} cannot become {target}", rule="agreement_status")


# ---------------------------------------------------------------- quote


LineInput = tuple[Decimal, Decimal, Decimal, Decimal, Decimal]
"""One line to price: (unit price, quantity, discount percent, VAT rate, unit cost), all in the
document's currency. A plain tuple: one is made for every line of every Quote."""


@dataclass(slots=True)
class LineResult:
    price: Decimal  # unit price in the document currency
    quantity: Decimal
    discount_percent: Decimal  # total: agreement + manual
    vat_rate: Decimal
    amount: Decimal
    discount: Decimal
    vat: Decimal
    total: Decimal
    revenue: Decimal  # net of VAT and discount
    cost: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    amount: Decimal = Decimal(0)
    discount: Decimal = Decimal(0)
    vat: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_percent(self) -> Decimal:
        if not self.revenue:
            return Decimal(0)
        return cents(self.margin * HUNDRED / self.revenue)


def price_lines(lines: Iterable[LineInput], includes_vat: bool) -> tuple[list[LineResult], Totals]:
    """Every line's amount, discount, VAT and total, each rounded to cents on the line, and
    their sums. VAT is extracted from prices that include it and added to those that do not."""
    results: list[LineResult] = []
    amounts = discounts = vats = totals = costs = _ZERO
    for price, quantity, discount_percent, vat_rate, unit_cost in lines:
        amount = (price * quantity).quantize(CENT, ROUND_HALF_UP)
        discount = (amount * discount_percent / HUNDRED).quantize(CENT, ROUND_HALF_UP) if discount_percent else _ZERO
        net = amount - discount
        if not vat_rate:
            vat, total = _ZERO, net
        elif includes_vat:
            vat = (net * vat_rate / (HUNDRED + vat_rate)).quantize(CENT, ROUND_HALF_UP)
            total = net
        else:
            vat = (net * vat_rate / HUNDRED).quantize(CENT, ROUND_HALF_UP)
            total = net + vat
        cost = (unit_cost * quantity).quantize(CENT, ROUND_HALF_UP)
        results.append(
            LineResult(price, quantity, discount_percent, vat_rate, amount, discount, vat, total, total - vat, cost)
        )
        amounts += amount
        discounts += discount
        vats += vat
        totals += total
        costs += cost
    return results, Totals(amounts, discounts, vats, totals, totals - vats, costs)


_ZERO = Decimal("0.00")


# ---------------------------------------------------------------- control of terms


@dataclass(frozen=True, slots=True)
class Violation:
    code: ViolationCode
    line_index: int
    message: str


@dataclass(frozen=True, slots=True)
class AgreementView:
    id: uuid.UUID
    status: AgreementStatus
    valid_from: date
    valid_to: date | None
    terms: Terms


@dataclass
class DocumentCheck:
    """What CheckTerms compares: agreed unit prices are in the document's currency."""

    on: date
    currency: str
    unit_prices: list[Decimal]
    discounts: list[Decimal]
    agreed_prices: list[Decimal | None]  # None: not known in the document's currency (no exchange rate)
    total: Decimal
    prepayment: Decimal
    agreement: AgreementView | None = None
    violations: list[Violation] = field(default_factory=list)


def manual_discount_violations(discounts: list[Decimal], limit: Decimal) -> list[Violation]:
    return [
        Violation(ViolationCode.DISCOUNT_OVER_LIMIT, i, f"discount {d}% is over the agreed limit of {limit}%")
        for i, d in enumerate(discounts)
        if d > limit
    ]


def check_document(doc: DocumentCheck) -> list[Violation]:
    found: list[Violation] = []
    agreement = doc.agreement
    if agreement is not None:
        if agreement.status != AgreementStatus.AGREED:
            found.append(
                Violation(ViolationCode.AGREEMENT_NOT_AGREED, -1, f"agreement {agreement.id} is {agreement.status}")
            )
        if doc.on < agreement.valid_from or (agreement.valid_to is not None and doc.on > agreement.valid_to):
            found.append(
                Violation(
                    ViolationCode.AGREEMENT_EXPIRED,
                    -1,
                    f"agreement valid {agreement.valid_from}..{agreement.valid_to or '∞'}, document dated {doc.on}",
                )
            )
        if agreement.terms.currency and agreement.terms.currency != doc.currency:
            found.append(
                Violation(
                    ViolationCode.CURRENCY_MISMATCH,
                    -1,
                    f"agreement requires {agreement.terms.currency}, document is in {doc.currency}",
                )
            )
    for i, (price, agreed) in enumerate(zip(doc.unit_prices, doc.agreed_prices, strict=True)):
        if agreed is not None and price < agreed:
            found.append(Violation(ViolationCode.PRICE_BELOW_AGREED, i, f"price {price} is below the agreed {agreed}"))
    if agreement is not None:
        # A document's discount includes the agreement's own discount; the limit is on the manual part.
        limit = max(agreement.terms.discount_percent, Decimal(0)) + agreement.terms.manual_discount_limit_percent
        found += manual_discount_violations(doc.discounts, limit)
        required = cents(doc.total * agreement.terms.prepayment_percent / HUNDRED)
        if required > 0 and doc.prepayment < required:
            found.append(
                Violation(
                    ViolationCode.PREPAYMENT_MISSING,
                    -1,
                    f"prepayment {doc.prepayment} {doc.currency} is less than the agreed "
                    f"{agreement.terms.prepayment_percent}% = {required} {doc.currency}",
                )
            )
    return found
