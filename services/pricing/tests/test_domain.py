"""Pricing rules: rounding, derivation chains, cycles, line arithmetic, control of terms, file parsing."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_platform.errors import FailedPrecondition, InvalidArgument
from pricing.domain import (
    AgreementStatus,
    AgreementView,
    DocumentCheck,
    LineInput,
    Rounding,
    Rule,
    Terms,
    ViolationCode,
    check_document,
    check_no_cycle,
    derivation_order,
    parse_day,
    parse_percent,
    parse_quantity,
    price_lines,
    refuse_overlap,
    round_to_step,
)
from pricing.price_list_files import parse_price, read_csv

D = Decimal
prices = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2)
steps = st.sampled_from([D("0.01"), D("0.05"), D("1"), D("5"), D("10")])


@pytest.mark.parametrize(
    ("value", "step", "mode", "expected"),
    [
        (D("12.345"), D("0.01"), Rounding.HALF_UP, D("12.35")),
        (D("12.345"), D("0.01"), Rounding.HALF_EVEN, D("12.34")),
        (D("12.341"), D("0.01"), Rounding.UP, D("12.35")),
        (D("12.349"), D("0.01"), Rounding.DOWN, D("12.34")),
        (D("121"), D("5"), Rounding.UP, D("125")),
        (D("122.5"), D("5"), Rounding.HALF_UP, D("125")),
        (D("122.49"), D("5"), Rounding.HALF_UP, D("120")),
        (D("1249.99875"), D("1"), Rounding.DOWN, D("1249")),
    ],
)
def test_rounding_to_a_step(value: Decimal, step: Decimal, mode: Rounding, expected: Decimal) -> None:
    assert round_to_step(value, step, mode) == expected
    assert str(round_to_step(value, step, mode)) == str(expected)


@given(value=prices, step=steps, mode=st.sampled_from(list(Rounding)))
def test_a_rounded_price_is_a_multiple_of_its_step_within_one_step(
    value: Decimal, step: Decimal, mode: Rounding
) -> None:
    rounded = round_to_step(value, step, mode)
    assert rounded % step == 0
    assert abs(rounded - value) < step
    if mode == Rounding.UP:
        assert rounded >= value
    if mode == Rounding.DOWN:
        assert rounded <= value


@given(base=prices, markup=st.decimals(min_value=D("-50"), max_value=D("200"), places=2))
def test_derivation_is_exact_decimal_arithmetic(base: Decimal, markup: Decimal) -> None:
    rule = Rule(uuid.uuid4(), markup, D("0.01"), Rounding.HALF_UP)
    exact = base * (100 + markup) / 100
    assert abs(rule.apply(base) - exact) <= D("0.005")


def test_derived_twice_rounds_at_each_step() -> None:
    first = Rule(uuid.uuid4(), D("12.5"), D("0.01"), Rounding.HALF_UP)
    second = Rule(uuid.uuid4(), D("-3"), D("5"), Rounding.UP)
    assert first.apply(D("2000.04")) == D("2250.05")
    assert second.apply(first.apply(D("2000.04"))) == D("2185")


def test_a_rule_refuses_a_zero_step_and_a_full_discount() -> None:
    with pytest.raises(InvalidArgument) as caught:
        Rule(uuid.uuid4(), D("10"), D("0"))
    assert caught.value.violations[0].field == "rule.rounding_step"
    with pytest.raises(InvalidArgument):
        Rule(uuid.uuid4(), D("-100"))


def test_cycles_are_found_through_chains() -> None:
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    bases = {a: None, b: a, c: b, d: None}
    check_no_cycle(d, c, bases)  # d derived from c: fine
    with pytest.raises(InvalidArgument) as caught:
        check_no_cycle(a, c, bases)  # a from c, c from b, b from a
    assert caught.value.violations[0].field == "rule.base_price_type_id"
    with pytest.raises(InvalidArgument):
        check_no_cycle(b, b, bases)


def test_derivation_order_puts_bases_first() -> None:
    a, b, c, e = (uuid.uuid4() for _ in range(4))
    order = derivation_order({a}, {a: None, b: a, c: b, e: a})
    assert set(order) == {b, c, e}
    assert order.index(b) < order.index(c)


def line(price: str, qty: str = "1", discount: str = "0", vat: str = "20", cost: str = "0") -> LineInput:
    return (D(price), D(qty), D(discount), D(vat), D(cost))


def test_vat_is_extracted_or_added() -> None:
    (included,), _ = price_lines([line("120", "3")], includes_vat=True)
    assert (included.total, included.vat, included.revenue) == (D("360.00"), D("60.00"), D("300.00"))
    (added,), _ = price_lines([line("100", "3", discount="10")], includes_vat=False)
    assert (added.discount, added.vat, added.total) == (D("30.00"), D("54.00"), D("324.00"))


@given(price=prices, qty=st.integers(min_value=1, max_value=1000), vat=st.sampled_from(["0", "7", "20"]))
def test_line_totals_add_up(price: Decimal, qty: int, vat: str) -> None:
    (result,), _ = price_lines([line(str(price), str(qty), vat=vat)], includes_vat=True)
    assert result.revenue + result.vat == result.total
    assert result.total == result.amount - result.discount


def test_totals_are_the_sums_of_the_rounded_lines() -> None:
    results, totals = price_lines(
        [line("10.005", "3", discount="2.5", cost="4.1"), line("0.333", "7", vat="0", cost="0.1")], includes_vat=True
    )
    assert [r.total for r in results] == [D("29.27"), D("2.33")]
    assert (totals.amount, totals.discount, totals.vat, totals.total) == (D("32.35"), D("0.75"), D("4.88"), D("31.60"))
    assert (totals.revenue, totals.cost, totals.margin) == (D("26.72"), D("13.00"), D("13.72"))


def view(**terms: object) -> AgreementView:
    return AgreementView(uuid.uuid4(), AgreementStatus.AGREED, date(2026, 1, 1), date(2026, 12, 31), Terms(**terms))  # type: ignore[arg-type]


def test_document_checks() -> None:
    agreement = view(
        currency="UAH", discount_percent=D("5"), manual_discount_limit_percent=D("3"), prepayment_percent=D("50")
    )
    doc = DocumentCheck(
        on=date(2026, 5, 1),
        currency="UAH",
        unit_prices=[D("100"), D("90")],
        discounts=[D("8"), D("8.01")],
        agreed_prices=[D("100"), D("95")],
        total=D("1000"),
        prepayment=D("499.99"),
        agreement=agreement,
    )
    found = {(v.code, v.line_index) for v in check_document(doc)}
    assert found == {
        (ViolationCode.PRICE_BELOW_AGREED, 1),
        (ViolationCode.DISCOUNT_OVER_LIMIT, 1),
        (ViolationCode.PREPAYMENT_MISSING, -1),
    }
    doc.prepayment = D("500")
    doc.on = date(2027, 1, 1)
    doc.currency = "USD"
    codes = {v.code for v in check_document(doc)}
    assert {ViolationCode.AGREEMENT_EXPIRED, ViolationCode.CURRENCY_MISMATCH} <= codes
    assert ViolationCode.PREPAYMENT_MISSING not in codes


def test_prices_without_a_known_agreed_price_are_not_compared() -> None:
    doc = DocumentCheck(
        on=date(2026, 5, 1),
        currency="MDL",
        unit_prices=[D("1"), D("90")],
        discounts=[D("0"), D("4")],
        agreed_prices=[None, None],  # no exchange rate to the document's currency
        total=D("91"),
        prepayment=D("0"),
        agreement=view(manual_discount_limit_percent=D("3")),
    )
    assert [(v.code, v.line_index) for v in check_document(doc)] == [(ViolationCode.DISCOUNT_OVER_LIMIT, 1)]


def test_overlapping_validity_is_refused() -> None:
    other = uuid.uuid4()
    refuse_overlap(date(2026, 1, 1), date(2026, 6, 30), [(other, date(2026, 7, 1), None)], "partner")
    with pytest.raises(FailedPrecondition):
        refuse_overlap(date(2026, 1, 1), None, [(other, date(2025, 1, 1), date(2026, 1, 1))], "partner")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,50", D("1234.50")),
        ("99.90 грн", D("99.90")),
        ("12\u00a0000", D("12000")),
        ("уточнюйте", None),
        ("-5", None),
    ],
)
def test_price_cells(text: str, expected: Decimal | None) -> None:
    assert parse_price(text) == expected


def test_a_spreadsheet_float_keeps_what_the_user_typed() -> None:
    assert parse_price(149.9) == D("149.9")


@given(st.text(max_size=40))
def test_any_price_cell_text_parses_or_is_refused_without_crashing(text: str) -> None:
    value = parse_price(text)
    assert value is None or (value.is_finite() and value >= 0)


@given(st.binary(max_size=300))
def test_any_csv_bytes_are_read_or_refused_cleanly(content: bytes) -> None:
    fields: list[str] = []
    rows = []
    try:
        rows = read_csv(content)
    except InvalidArgument as exc:
        fields = [v.field for v in exc.violations]
    assert fields in ([], ["content"])
    assert all(r.row >= 2 for r in rows)


def test_csv_with_cp1251_and_commas() -> None:
    content = "артикул,наименование,цена\nA-1,Гвозди,12.5\n".encode("cp1251")
    (row,) = read_csv(content)
    assert (row.sku, row.name, row.price) == ("A-1", "Гвозди", D("12.5"))


@given(st.text(max_size=20))
def test_quantities_are_positive_decimals_or_a_named_error(text: str) -> None:
    try:
        value = parse_quantity(text, "lines[0].quantity")
    except InvalidArgument as exc:
        assert exc.violations[0].field == "lines[0].quantity"  # noqa: PT017 -- the field named is the behaviour
    else:
        assert value > 0
        assert value.is_finite()


@given(st.text(max_size=12))
def test_percents_are_at_most_a_hundred_or_a_named_error(text: str) -> None:
    try:
        value = parse_percent(text, "terms.prepayment_percent")
    except InvalidArgument as exc:
        assert exc.violations[0].field == "terms.prepayment_percent"  # noqa: PT017
    else:
        assert 0 <= value <= 100


@given(st.dates())
def test_dates_round_trip(day: date) -> None:
    assert parse_day(day.isoformat(), "on") == day
