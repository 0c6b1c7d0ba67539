"""Tax ids and bank accounts: ids built by their own checksum rules pass; a one-digit
change fails, where the rule can tell at all: INN, IPN and EDRPOU fold a remainder of
10 into the digit 0, and EDRPOU switches weights by range and pass, so those collisions
are named and checked to be the only ones. IBAN and a Russian account + BIC catch every
one-digit change."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_platform.errors import InvalidArgument
from crm_platform.taxids import TaxIdKind, validate_iban, validate_ru_account, validate_tax_id

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


def numbers(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=size, max_size=size)


def weighted(body: str, weights: tuple[int, ...]) -> int:
    return sum(w * int(d) for w, d in zip(weights, body, strict=False))


INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
IPN = (-1, 5, 7, 9, 4, 6, 10, 5, 7)


def inn10(body: str) -> str:
    return body + str(weighted(body, INN10) % 11 % 10)


def inn12(body: str) -> str:
    first = body + str(weighted(body, INN11) % 11 % 10)
    return first + str(weighted(first, INN12) % 11 % 10)


def ipn(body: str) -> str:
    return body + str(weighted(body, IPN) % 11 % 10)


def edrpou_remainder(body: str) -> tuple[str, int]:
    """(branch, remainder). The weights depend on the code's range (30000000-59999999 or
    not); a first-pass remainder of 10 sends the code to a second pass with weights + 2."""
    shifted = 30000000 <= int(body + "0") < 60000000
    weights = (7, 1, 2, 3, 4, 5, 6) if shifted else (1, 2, 3, 4, 5, 6, 7)
    first = weighted(body, weights) % 11
    if first < 10:
        return f"{shifted}-1", first
    return f"{shifted}-2", weighted(body, tuple(w + 2 for w in weights)) % 11


def edrpou(body: str) -> str:
    return body + str(edrpou_remainder(body)[1] % 10)


def iban_ua(bank: str, account: str) -> str:
    bban = bank + account
    rearranged = "".join(str(int(c, 36)) for c in bban + "UA00")
    return f"UA{98 - int(rearranged) % 97:02d}{bban}"


def ru_account(bic: str, body: str) -> str:
    """A 20-digit account with its key (9th digit) set so that the BIC check passes."""
    prefix = bic[6:9]
    account = body[:8] + "0" + body[8:]
    total = sum(int(d) * w for d, w in zip(prefix + account, ((7, 1, 3) * 8)[:23], strict=True))
    key = (10 - total % 10) * 7 % 10  # the key's weight is 3, and 3 * 7 = 1 (mod 10)
    return body[:8] + str(key) + body[8:]


def mutate(number: str, position: int, digit: str) -> str:
    position %= len(number)
    if number[position] == digit:
        digit = str((int(digit) + 1) % 10)
    return number[:position] + digit + number[position + 1 :]


def passes(kind: TaxIdKind, number: str) -> bool:
    try:
        validate_tax_id(kind, number, "tax_id")
    except InvalidArgument:
        return False
    return True


@given(numbers(9), st.integers(0, 9), digits)
def test_ru_inn_of_an_organisation(body: str, position: int, digit: str) -> None:
    valid = inn10(body)
    assert validate_tax_id(TaxIdKind.RU_INN, f" {valid[:4]} {valid[4:]} ", "inn") == valid
    changed = mutate(valid, position, digit)
    if passes(TaxIdKind.RU_INN, changed):
        assert position < 9
        assert {weighted(body, INN10) % 11, weighted(changed[:9], INN10) % 11} == {0, 10}


@given(numbers(10), st.integers(0, 11), digits)
def test_ru_inn_of_a_person(body: str, position: int, digit: str) -> None:
    valid = inn12(body)
    assert validate_tax_id(TaxIdKind.RU_INN, valid, "inn") == valid
    changed = mutate(valid, position, digit)
    if passes(TaxIdKind.RU_INN, changed):
        folded = {0, 10}
        assert {weighted(valid, INN11) % 11, weighted(changed, INN11) % 11} <= folded or {
            weighted(valid, INN12) % 11,
            weighted(changed, INN12) % 11,
        } <= folded


@given(numbers(9), st.integers(0, 9), digits)
def test_ua_ipn(body: str, position: int, digit: str) -> None:
    valid = ipn(body)
    assert validate_tax_id(TaxIdKind.UA_IPN, valid, "ipn") == valid
    changed = mutate(valid, position, digit)
    if passes(TaxIdKind.UA_IPN, changed):
        assert position < 9
        assert {weighted(body, IPN) % 11, weighted(changed[:9], IPN) % 11} == {0, 10}


@given(numbers(7), st.integers(0, 7), digits)
def test_ua_edrpou(body: str, position: int, digit: str) -> None:
    valid = edrpou(body)
    assert validate_tax_id(TaxIdKind.UA_EDRPOU, valid, "edrpou") == valid
    changed = mutate(valid, position, digit)
    if passes(TaxIdKind.UA_EDRPOU, changed):
        # Only when the two bodies take different branches of the rule, or a remainder of 10 folds to 0.
        assert position < 7
        before, after = edrpou_remainder(body), edrpou_remainder(changed[:7])
        assert before[0] != after[0] or {before[1], after[1]} == {0, 10}


@given(numbers(6), numbers(19), st.integers(0, 28), digits)
def test_ua_iban_any_one_digit_change_fails(bank: str, account: str, position: int, digit: str) -> None:
    valid = iban_ua(bank, account)
    spaced = " ".join(valid[i : i + 4] for i in range(0, len(valid), 4)).lower()
    assert validate_iban(spaced, "iban", country="UA") == valid
    position = 2 + position % 27  # a digit, not the country code
    changed = valid[:position] + mutate(valid[position:], 0, digit)
    with pytest.raises(InvalidArgument):
        validate_iban(changed, "iban")


@given(numbers(7), numbers(19), st.integers(0, 19), digits)
def test_ru_account_against_its_bic_any_one_digit_change_fails(
    bic_tail: str, body: str, position: int, digit: str
) -> None:
    bic = "04" + bic_tail
    if bic[6:9] in ("000", "001", "002"):
        bic = bic[:6] + "225"
    valid = ru_account(bic, body)
    assert validate_ru_account(valid, bic, account_field="account", bic_field="bic") == (valid, bic)
    with pytest.raises(InvalidArgument) as caught:
        validate_ru_account(mutate(valid, position, digit), bic, account_field="account", bic_field="bic")
    assert caught.value.violations[0].field == "account"


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        (TaxIdKind.RU_INN, "7707083894", "checksum"),
        (TaxIdKind.RU_INN, "77070838", "digits"),
        (TaxIdKind.RU_INN, "77070838A3", "digits"),
        (TaxIdKind.UA_EDRPOU, "1234567", "digits"),
        (TaxIdKind.UA_EDRPOU, "14360571", "checksum"),
        (TaxIdKind.UA_IPN, "", "empty"),
        (TaxIdKind.RU_KPP, "77300100", "KPP"),
        (TaxIdKind.RU_KPP, "7730Ж1001", "KPP"),
    ],
)
def test_bad_ids_name_the_field_and_the_reason(kind: TaxIdKind, value: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_tax_id(kind, value, "counterparty.tax_id")
    assert caught.value.violations[0].field == "counterparty.tax_id"
    assert reason in caught.value.violations[0].description


def test_real_ids_pass() -> None:
    assert validate_tax_id(TaxIdKind.RU_INN, "7707083893", "inn") == "7707083893"  # Sberbank
    assert validate_tax_id(TaxIdKind.UA_EDRPOU, "14360570", "edrpou") == "14360570"  # PrivatBank
    assert validate_tax_id(TaxIdKind.RU_KPP, "773601001", "kpp") == "773601001"
    assert validate_tax_id(TaxIdKind.RU_KPP, "7736AB001", "kpp") == "7736AB001"
    assert validate_iban("UA21 3223 1300 0002 6007 2335 6600 1", "iban") == "UA213223130000026007233566001"
    with pytest.raises(InvalidArgument) as caught:
        validate_iban("DE89370400440532013000", "iban", country="UA")
    assert "UA" in caught.value.violations[0].description
