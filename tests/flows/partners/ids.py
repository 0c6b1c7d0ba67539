"""Valid tax ids and accounts for tests, made fresh so runs never collide."""

from __future__ import annotations

import random

from stdnum import iban
from stdnum.ru import inn
from stdnum.ua import edrpou as ua_edrpou
from stdnum.ua import rntrc


def _digits(n: int) -> str:
    return "".join(random.choice("0123456789") for _ in range(n))


def edrpou() -> str:
    body = random.choice("12") + _digits(6)
    return body + ua_edrpou.calc_check_digit(body)


def ipn() -> str:
    body = _digits(9)
    return body + rntrc.calc_check_digit(body)


def inn10() -> str:
    body = _digits(9)
    return body + inn.calc_company_check_digit(body)


def ua_iban() -> str:
    bban = "305299" + _digits(19)
    return "UA" + iban.calc_check_digits("UA00" + bban) + bban


def phone() -> str:
    return f"+38067{_digits(7)}"
