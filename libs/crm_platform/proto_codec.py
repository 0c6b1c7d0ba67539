"""Conversions between protobuf messages and Python values, with field-named errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.errors import InvalidArgument
from crm_platform.money import Money, check_currency, parse_decimal

S = TypeVar("S", bound=StrEnum)


def enum_in(value: int, proto_enum: Any, prefix: str, domain: type[S], field: str) -> S:
    """PARTNER_ROLE_CLIENT (1) → PartnerRole.CLIENT; unknown or UNSPECIFIED is an error."""
    try:
        name = proto_enum.Name(value)
    except ValueError:
        raise InvalidArgument.single(field, f"unknown value {value}") from None
    short = name.removeprefix(prefix).lower()
    try:
        return domain(short)
    except ValueError:
        raise InvalidArgument.single(field, f"{name} is not allowed here") from None


def enum_out(value: StrEnum | str, proto_enum: Any, prefix: str) -> int:
    return int(proto_enum.Value(prefix + str(value).upper()))


def timestamp_out(moment: datetime | None) -> Timestamp:
    stamp = Timestamp()
    if moment is not None:
        stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def timestamp_in(stamp: Timestamp, field: str, *, required: bool = True) -> datetime | None:
    if stamp.seconds == 0 and stamp.nanos == 0:
        if required:
            raise InvalidArgument.single(field, "is required")
        return None
    return stamp.ToDatetime(tzinfo=UTC)


def money_in(message: Any, field: str, *, required: bool = True, allow_negative: bool = False) -> Money | None:
    if not message.amount and not message.currency:
        if required:
            raise InvalidArgument.single(field, "is required")
        return None
    amount = parse_decimal(message.amount, f"{field}.amount", allow_negative=allow_negative)
    return Money(amount, check_currency(message.currency, f"{field}.currency"))


def money_out(cls: Any, money: Money | None) -> Any:
    if money is None:
        return cls()
    return cls(amount=_plain(money.amount), currency=money.currency)


def money_rounded_out(cls: Any, amount: object, currency: str | None) -> Any:
    """A stored amount (Decimal or decimal string) as a Money message rounded to the
    currency's minor unit; an empty message when there is no amount or currency."""
    if amount is None or amount == "" or not currency:
        return cls()
    return money_out(cls, Money(Decimal(str(amount)), currency).rounded())


def _plain(amount: Decimal) -> str:
    return format(amount, "f")
