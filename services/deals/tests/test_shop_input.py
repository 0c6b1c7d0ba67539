"""A shop's order as it arrives (gRPC or webhook JSON): parsed, or refused field by field."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_platform.errors import InvalidArgument
from deals.partners_gateway import ShopCustomer
from deals.shop_orders import parse_order
from deals.webhook import sign

CUSTOMER = ShopCustomer("c-1", "Марія Коваленко", "+380671234567")


def fields(**kw: object) -> set[str]:
    args = {"shop_order_id": "1001", "customer": CUSTOMER, "lines": [("NB-1", "1")], "currency": "UAH", **kw}
    with pytest.raises(InvalidArgument) as caught:
        parse_order(**args)  # type: ignore[arg-type]
    return {v.field for v in caught.value.violations}


def test_good_order_is_parsed() -> None:
    parsed = parse_order(" 1001 ", CUSTOMER, [("NB-1", "2"), (" MS-1 ", "0.5")], "uah")
    assert (parsed.shop_order_id, parsed.currency) == ("1001", "UAH")
    assert parsed.lines == [("NB-1", Decimal(2)), ("MS-1", Decimal("0.5"))]


def test_every_bad_field_is_named_at_once() -> None:
    assert fields(
        shop_order_id="", customer=ShopCustomer("", " "), lines=[("", "-1"), ("X", "abc")], currency="XYZ"
    ) == {
        "shop_order_id",
        "customer.id",
        "customer.name",
        "lines[0].sku",
        "lines[0].quantity",
        "lines[1].quantity",
        "currency",
    }
    assert fields(lines=[]) == {"lines"}
    assert fields(shop_order_id="x" * 121) == {"shop_order_id"}
    assert fields(lines=[("A", "1")] * 201) == {"lines"}


@given(st.text(max_size=12))
def test_any_quantity_text_is_a_positive_quantity_or_a_named_error(text: str) -> None:
    try:
        parsed = parse_order("1", CUSTOMER, [("NB-1", text)], "")
    except InvalidArgument as exc:
        assert {v.field for v in exc.violations} == {"lines[0].quantity"}  # noqa: PT017
    else:
        assert parsed.lines[0][1] > 0


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"id": "1001"}'
    expected = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert sign("secret", body) == f"sha256={expected}"
    assert sign("secret", body + b" ") != sign("secret", body)
