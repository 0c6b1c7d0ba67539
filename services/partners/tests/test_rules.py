"""Duplicate matching, counterparty rules and classification, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crm_platform.errors import InvalidArgument
from partners.classification import SalesHistory, Stage, abc_classes, stage_of, window_months, xyz_class
from partners.legal import BankAccountData, LegalForm, validate_counterparty
from partners.matching import NAME_THRESHOLD, Candidate, name_blocks, name_key, name_score, probe_blocks


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ТОВ «Зоря-Агро»", "Zorya Agro LLC"),
        ("ООО «Заря Агро»", "ТОВ «Зоря Агро»"),
        ("Харківхімпром", "Kharkivkhimprom Ltd"),
        ("ПрАТ «Дніпровський металургійний завод»", "Dniprovskyi Metalurhiinyi Zavod"),
        ("Ромашка", "Ромашкка"),
        ("ФОП Бондаренко Ірина", "Бондаренко Ирина"),
    ],
)
def test_same_company_written_differently_matches(a: str, b: str) -> None:
    assert name_score(name_key(a), name_key(b)) >= NAME_THRESHOLD


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ТОВ «Альфа»", "ТОВ «Альфа Плюс Логістик»"),
        ("Агро-1", "Агро-2"),
        ("ТОВ «Світанок»", "ТОВ «Вектор»"),
        ("Будівельна компанія Граніт", "Граніт"),
    ],
)
def test_different_companies_do_not_match(a: str, b: str) -> None:
    assert name_score(name_key(a), name_key(b)) < NAME_THRESHOLD


@given(st.sampled_from(["ТОВ", "ООО", "ПП", "ФОП", "ИП", "LLC", "Ltd"]), st.text("абвгдежзиклмнопрстуф", min_size=3))
def test_legal_form_words_never_change_the_key(form: str, word: str) -> None:
    assert name_key(f"{form} {word}") == name_key(word)


def test_more_reasons_raise_the_score_but_never_past_one() -> None:
    candidate = Candidate(uuid.uuid4(), "x")
    candidate.add("name", 0.9)
    single = candidate.score
    candidate.add("phone", 0.9)
    candidate.add("tax_id", 1.0)
    assert single < candidate.score <= 1.0


def test_counterparty_tax_id_follows_country_and_legal_form() -> None:
    common = {"full_name": "X", "short_name": "", "kpp": "", "legal_address": None, "bank_accounts": [], "prefix": "c"}
    ua = validate_counterparty(legal_form=LegalForm.LEGAL_ENTITY, country="ua", tax_id="14360570", **common)  # type: ignore[arg-type]
    assert (ua.country, ua.tax_id) == ("UA", "14360570")
    with pytest.raises(InvalidArgument) as wrong:
        validate_counterparty(legal_form=LegalForm.SOLE_TRADER, country="UA", tax_id="14360570", **common)  # type: ignore[arg-type]
    assert wrong.value.violations[0].field == "c.tax_id"
    person = validate_counterparty(legal_form=LegalForm.NATURAL_PERSON, country="UA", tax_id="", **common)  # type: ignore[arg-type]
    assert person.tax_id == ""


def test_first_bank_account_becomes_the_main_one() -> None:
    accounts = [
        BankAccountData(iban="UA213223130000026007233566001"),
        BankAccountData(iban="UA213223130000026007233566001"),
    ]
    data = validate_counterparty(
        legal_form=LegalForm.LEGAL_ENTITY,
        country="UA",
        full_name="X",
        short_name="",
        tax_id="14360570",
        kpp="",
        legal_address=None,
        bank_accounts=accounts,
        prefix="c",
    )
    assert [a.main for a in data.bank_accounts] == [True, False]


def test_abc_by_share_of_revenue() -> None:
    ids = [uuid.uuid4() for _ in range(5)]
    revenue = dict(zip(ids, [Decimal(700), Decimal(150), Decimal(100), Decimal(50), Decimal(0)], strict=True))
    assert [abc_classes(revenue)[i] for i in ids] == ["A", "A", "B", "C", "C"]


@pytest.mark.parametrize(
    ("monthly", "expected"),
    [
        ((100, 100, 100, 100), "X"),
        ((0, 0, 100, 120, 90, 110), "Y"),
        ((100, 0, 300, 0), "Z"),
        ((0, 0, 100, 100), "Z"),  # two months of history are too few
    ],
)
def test_xyz_by_variation_of_monthly_demand(monthly: tuple[int, ...], expected: str) -> None:
    assert xyz_class(tuple(Decimal(m) for m in monthly)) == expected


def test_stage_follows_orders_and_silence() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)

    def history(orders: int, days_ago: int) -> SalesHistory:
        return SalesHistory(Decimal(0), (), orders, now - timedelta(days=days_ago) if orders else None)

    assert stage_of(history(0, 0), now) is Stage.PROSPECT
    assert stage_of(history(1, 5), now) is Stage.FIRST_PURCHASE
    assert stage_of(history(4, 5), now) is Stage.REGULAR
    assert stage_of(history(4, 200), now) is Stage.SLEEPING
    assert stage_of(history(4, 400), now) is Stage.LOST


def test_window_is_twelve_calendar_months_ending_now() -> None:
    months = window_months(datetime(2026, 2, 10, tzinfo=UTC).date())
    assert (months[0].isoformat(), months[-1].isoformat(), len(months)) == ("2025-03-01", "2026-02-01", 12)


_LETTERS = "abcdefghiklmnoprstuvz"


def _one_edit(word: str, data: st.DataObject) -> str:
    pos = data.draw(st.integers(0, len(word) - 1))
    kind = data.draw(st.sampled_from(["drop", "insert", "replace", "swap"]))
    letter = data.draw(st.sampled_from(_LETTERS))
    if kind == "drop":
        return word[:pos] + word[pos + 1 :]
    if kind == "insert":
        return word[:pos] + letter + word[pos:]
    if kind == "replace":
        return word[:pos] + letter + word[pos + 1 :]
    return word[: pos - 1] + word[pos] + word[pos - 1] + word[pos + 1 :] if pos else word


@given(st.text(_LETTERS, min_size=4, max_size=12), st.text(_LETTERS, min_size=4, max_size=12), st.data())
def test_a_word_with_one_typo_shares_a_block_with_the_stored_word(word: str, other: str, data: st.DataObject) -> None:
    typo = _one_edit(word, data)
    stored = set(name_blocks(f"{word} {other}"))
    groups = probe_blocks(f"{typo} {other}")
    # Through the other word as it is, and through the misspelt word's own forms.
    assert any(other == g[0] for g in groups)
    assert any(set(g) & stored for g in groups if g[0] == typo)


@given(st.text(_LETTERS, min_size=3, max_size=14), st.data())
def test_a_one_word_name_close_enough_to_match_is_retrieved(word: str, data: st.DataObject) -> None:
    typo = _one_edit(word, data)
    assume(len(typo) >= 3 and name_score(typo, word) >= NAME_THRESHOLD)
    (group,) = probe_blocks(typo)
    assert set(group) & set(name_blocks(word))
