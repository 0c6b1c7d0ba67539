"""The kit's pure helpers: money, text folding, paging, envelopes, proto codecs."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from typing import ClassVar

import pytest
from crm.common.v1 import common_pb2
from crm.partners.v1 import partners_pb2
from hypothesis import given
from hypothesis import strategies as st

from crm_platform.errors import InvalidArgument
from crm_platform.events import DomainEvent, Envelope, PoisonMessage
from crm_platform.money import Money, check_currency, parse_decimal
from crm_platform.paging import PageToken, page_size
from crm_platform.proto_codec import enum_in, enum_out, money_in, money_out
from crm_platform.text import fold, latin
from partners.domain import PartnerRole


def test_money_refuses_float_and_rounds_per_currency() -> None:
    with pytest.raises(TypeError):
        Money(0.1, "UAH")  # type: ignore[arg-type]
    assert Money(Decimal("10.005"), "UAH").rounded().amount == Decimal("10.01")
    assert Money(Decimal("10.5"), "JPY").rounded().amount == Decimal("11")
    with pytest.raises(ValueError, match="currency mismatch"):
        Money(Decimal(1), "UAH") + Money(Decimal(1), "USD")


@pytest.mark.parametrize("code", ["", "XYZ", "гривня", "US"])
def test_unknown_currency_is_refused(code: str) -> None:
    with pytest.raises(InvalidArgument):
        check_currency(code)


@pytest.mark.parametrize("text", ["1,5", "NaN", "Infinity", "abc", "-1"])
def test_bad_decimal_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_decimal(text, "amount")


@given(st.decimals(min_value=0, max_value=10**12, places=4, allow_nan=False, allow_infinity=False))
def test_money_survives_the_wire_exactly(amount: Decimal) -> None:
    message = money_out(common_pb2.Money, Money(amount, "UAH"))
    back = money_in(message, "price")
    assert back is not None
    assert back.amount == amount


def test_fold_and_latin_match_ukrainian_and_russian_spellings() -> None:
    assert fold("ТОВ  «Зоря»") == fold("тов «ЗОРЯ»")
    assert fold("Ёлка") == fold("елка")
    assert fold("Мар'янівка") == fold("Марʼянівка")
    assert "zorya" in latin("Зоря")
    assert "severnyi" in latin("Северный") or "severnyy" in latin("Северный")


def test_page_token_round_trip_and_tampering() -> None:
    token = PageToken("ТОВ «Зоря»", uuid.uuid4())
    assert PageToken.decode(token.encode()) == token
    with pytest.raises(InvalidArgument):
        PageToken.decode("garbage!!")
    with pytest.raises(InvalidArgument):
        page_size(501)
    assert page_size(0) == 50


def test_proto_enums_map_both_ways_and_refuse_unknown_values() -> None:
    assert (
        enum_in(partners_pb2.PARTNER_ROLE_DEALER, partners_pb2.PartnerRole, "PARTNER_ROLE_", PartnerRole, "r")
        is PartnerRole.DEALER
    )
    assert enum_out(PartnerRole.CARRIER, partners_pb2.PartnerRole, "PARTNER_ROLE_") == partners_pb2.PARTNER_ROLE_CARRIER
    for bad in (0, 99):
        with pytest.raises(InvalidArgument):
            enum_in(bad, partners_pb2.PartnerRole, "PARTNER_ROLE_", PartnerRole, "r")


class Sample(DomainEvent):
    TOPIC: ClassVar[str] = "crm.tests.sample.v1"
    TYPE: ClassVar[str] = "crm.tests.sample.happened"
    KEY_FIELD: ClassVar[str] = "sample_id"

    sample_id: uuid.UUID
    amount: Decimal


def test_envelope_carries_cloudevents_headers_and_exact_decimals() -> None:
    event = Sample(sample_id=uuid.uuid4(), amount=Decimal("0.10"))
    envelope = Envelope.wrap(event, source="crm/tests")
    headers = envelope.headers()
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_subject"] == str(event.sample_id)
    received = Envelope.from_kafka([(k, v.encode()) for k, v in headers.items()], envelope.data)
    assert received.decode(Sample).amount == Decimal("0.10")
    with pytest.raises(PoisonMessage):
        Envelope.from_kafka([], envelope.data)
    with pytest.raises(PoisonMessage):
        dataclasses.replace(received, data=b'{"sample_id": 1}').decode(Sample)


def test_a_cached_token_still_expires() -> None:
    import time
    from datetime import timedelta

    from crm_platform.auth import TokenVerifier, issue_token
    from crm_platform.errors import Unauthenticated

    secret = "a-test-secret-of-at-least-32-bytes!!"
    verifier = TokenVerifier(secret, "crm-platform")
    token = issue_token(secret, "olena", ["manager"], ttl=timedelta(seconds=1))
    assert verifier.verify(token).subject == "olena"
    assert verifier.verify(token).subject == "olena"  # from the cache
    time.sleep(2.1)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)
    with pytest.raises(Unauthenticated):
        verifier.verify(token[:-2] + "xx")  # a forged variant is never a cache hit


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "transient"),
    [
        ("57P03", True),  # the database system is starting up
        ("57P01", True),  # terminating connection due to administrator command
        ("08006", True),  # connection failure
        ("53300", True),  # too many connections
        ("23505", False),  # unique violation: a bug or a race, never waited out
        ("22P02", False),  # invalid text representation
    ],
)
def test_a_database_restarting_is_transient_and_bad_data_is_not(sqlstate: str, transient: bool) -> None:
    from sqlalchemy.exc import DBAPIError

    from crm_platform.faults import is_transient

    error = DBAPIError("SELECT 1", {}, _DriverError(sqlstate))
    assert is_transient(error) is transient
