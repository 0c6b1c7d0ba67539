"""Tax ids and bank account numbers of Ukraine and Russia, checked by their checksums.

The checksum rules come from python-stdnum (RU INN, UA EDRPOU, UA RNTRC/IPN, IBAN);
the rest (KPP's format, a Russian settlement account against its bank's BIC) are
written here. Every check returns the compact form or raises InvalidArgument naming
the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

from stdnum import iban as std_iban
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError
from stdnum.ru import inn as ru_inn
from stdnum.ua import edrpou as ua_edrpou
from stdnum.ua import rntrc as ua_rntrc

from crm_platform.errors import InvalidArgument

_SEPARATORS = re.compile(r"[\s\-.]")
_KPP = re.compile(r"^\d{4}[0-9A-Z]{2}\d{3}$")
_BIC = re.compile(r"^04\d{7}$")
_ACCOUNT_WEIGHTS = ((7, 1, 3) * 8)[:23]


class TaxIdKind(StrEnum):
    RU_INN = "ru_inn"  # 10 digits (organisation) or 12 (person, sole trader)
    RU_KPP = "ru_kpp"  # 9 characters, no checksum
    UA_EDRPOU = "ua_edrpou"  # 8 digits, organisations
    UA_IPN = "ua_ipn"  # 10 digits (RNOKPP), persons and sole traders


def compact(value: str) -> str:
    return _SEPARATORS.sub("", value or "").upper()


def _reason(exc: ValidationError) -> str:
    if isinstance(exc, InvalidChecksum):
        return "checksum does not match"
    if isinstance(exc, InvalidLength):
        return "wrong number of digits"
    if isinstance(exc, InvalidFormat):
        return "must be digits only"
    if isinstance(exc, InvalidComponent):
        return "has a part that is not valid"
    return "not valid"


def _std(check: Callable[[str], str], value: str, field: str, what: str) -> str:
    number = compact(value)
    if not number:
        raise InvalidArgument.single(field, f"{what} is empty")
    try:
        return check(number)
    except ValidationError as exc:
        raise InvalidArgument.single(field, f"{what} {_reason(exc)}") from None


def _edrpou(number: str) -> str:
    if len(number) != 8:  # stdnum also accepts shorter numbers padded with zeros; registers print all 8
        raise InvalidLength()
    return ua_edrpou.validate(number)


def _kpp(number: str) -> str:
    if not _KPP.match(number):
        raise InvalidFormat()
    return number


def validate_tax_id(kind: TaxIdKind, value: str, field: str) -> str:
    """The compact tax id, or InvalidArgument saying what is wrong with it."""
    if kind is TaxIdKind.RU_INN:
        return _std(ru_inn.validate, value, field, "INN")
    if kind is TaxIdKind.UA_EDRPOU:
        return _std(_edrpou, value, field, "EDRPOU code")
    if kind is TaxIdKind.UA_IPN:
        return _std(ua_rntrc.validate, value, field, "IPN")
    number = compact(value)
    if not _KPP.match(number):
        raise InvalidArgument.single(field, "KPP must be 4 digits, 2 digits or Latin capitals, 3 digits")
    return number


def validate_iban(value: str, field: str, *, country: str | None = None) -> str:
    """The compact IBAN (ISO 13616: country format and mod-97 check digits)."""
    number = _std(std_iban.validate, value, field, "IBAN")
    if country and not number.startswith(country.upper()):
        raise InvalidArgument.single(field, f"IBAN must be a {country.upper()} one")
    return number


def validate_ru_account(account: str, bic: str, *, account_field: str, bic_field: str) -> tuple[str, str]:
    """A Russian 20-digit settlement account checked against its bank's 9-digit BIC."""
    number, code = compact(account), compact(bic)
    if not _BIC.match(code):
        raise InvalidArgument.single(bic_field, "BIC must be 9 digits starting with 04")
    if not (len(number) == 20 and number.isdigit()):
        raise InvalidArgument.single(account_field, "account must be 20 digits")
    if not ru_account_matches(number, code):
        raise InvalidArgument.single(account_field, "account checksum does not match the BIC")
    return number, code


def ru_account_matches(account: str, bic: str) -> bool:
    """The Bank of Russia's key: weights 7,1,3 over the BIC's last three digits (for a
    cash settlement centre, 0 and the BIC's 5th and 6th) and the account; a multiple of 10."""
    prefix = "0" + bic[4:6] if bic[6:9] in ("000", "001", "002") else bic[6:9]
    digits = prefix + account
    return sum(int(d) * w % 10 for d, w in zip(digits, _ACCOUNT_WEIGHTS, strict=True)) % 10 == 0
