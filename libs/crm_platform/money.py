"""Money: a Decimal amount with an ISO 4217 currency. Never float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

from crm_platform.errors import InvalidArgument


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: str, field: str = "currency") -> str:
    code = (code or "").strip().upper()
    if code not in _known_currencies():
        raise InvalidArgument.single(field, f"unknown ISO 4217 currency {code!r}")
    return code


def parse_decimal(text: str, field: str, *, allow_negative: bool = False) -> Decimal:
    """Decimal from its wire form (a string such as "1234.50")."""
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        raise InvalidArgument.single(field, f"not a decimal number: {text!r}") from None
    if not value.is_finite():
        raise InvalidArgument.single(field, "must be a finite number")
    if value < 0 and not allow_negative:
        raise InvalidArgument.single(field, "must not be negative")
    return value


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("Money amount must be Decimal, not float")

    @classmethod
    def of(cls, amount: str | Decimal | int, currency: str, field: str = "amount") -> Money:
        value = amount if isinstance(amount, Decimal) else parse_decimal(str(amount), field, allow_negative=True)
        return cls(value, check_currency(currency, f"{field}.currency" if field else "currency"))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, factor: Decimal) -> Money:
        return Money(self.amount * factor, self.currency)

    def rounded(self, rounding: str = ROUND_HALF_UP) -> Money:
        """Rounded to the currency's minor unit (2 for UAH, 0 for JPY)."""
        exponent = Decimal(1).scaleb(-get_currency_precision(self.currency))
        return Money(self.amount.quantize(exponent, rounding=rounding), self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
