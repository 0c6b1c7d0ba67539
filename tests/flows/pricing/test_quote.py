"""Quote and profitability through the running pricing service."""

from __future__ import annotations

import uuid
from decimal import Decimal

import grpc
import pytest
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc

from crm_platform.testing import auth
from tests.flows.pricing.conftest import MANAGER, product, set_price, uniq

pytestmark = pytest.mark.flow


async def default_type(stub: pb_grpc.PricingServiceStub, name: str) -> pb.PriceType:
    return await stub.CreatePriceType(
        pb.CreatePriceTypeRequest(request_id=uniq("t"), name=name, currency="UAH", includes_vat=True, is_default=True),
        metadata=MANAGER,
    )


async def test_partner_without_agreement_gets_the_default_price_type(stub: pb_grpc.PricingServiceStub) -> None:
    retail = await default_type(stub, "Роздрібна")
    seeds = await product(stub, "Насіння соняшнику «Ясон», 5 кг", vat="20", cost="600")
    fertiliser = await product(stub, "Добриво NPK 16:16:16, мішок 50 кг", vat="7", cost="1000")
    await set_price(stub, retail, seeds, "840.00", "2026-01-01")
    await set_price(stub, retail, fertiliser, "1250.50", "2026-01-01")
    await set_price(stub, retail, seeds, "900.00", "2026-06-01")  # a later price is not yet in force

    quote = await stub.Quote(
        pb.QuoteRequest(
            partner_id=str(uuid.uuid4()),
            on="2026-03-15",
            lines=[
                pb.QuoteLine(product_id=seeds.id, quantity="3"),
                pb.QuoteLine(sku=fertiliser.sku, quantity="2", manual_discount_percent="10"),
            ],
        ),
        metadata=auth("shop", shop_id="shop-1"),
    )

    assert quote.price_type_id == retail.id
    assert quote.agreement_id == ""
    seeds_line, fertiliser_line = quote.lines
    assert Decimal(seeds_line.price.amount) == Decimal("840.00")
    assert Decimal(seeds_line.total.amount) == Decimal("2520.00")
    assert Decimal(seeds_line.vat.amount) == Decimal("420.00")  # 2520 * 20/120, VAT included in the price
    assert Decimal(fertiliser_line.amount.amount) == Decimal("2501.00")
    assert Decimal(fertiliser_line.discount.amount) == Decimal("250.10")
    assert Decimal(fertiliser_line.total.amount) == Decimal("2250.90")
    assert Decimal(fertiliser_line.vat.amount) == Decimal("147.26")  # 2250.90 * 7/107
    assert Decimal(quote.total.amount) == Decimal("4770.90")
    assert quote.total.currency == "UAH"
    profit = quote.profitability
    assert Decimal(profit.revenue.amount) == Decimal("4770.90") - Decimal("420.00") - Decimal("147.26")
    assert Decimal(profit.cost.amount) == Decimal("3800.00")  # 3*600 + 2*1000
    assert Decimal(profit.margin.amount) == Decimal(profit.revenue.amount) - Decimal("3800.00")


async def test_quote_in_another_currency_needs_a_rate(stub: pb_grpc.PricingServiceStub) -> None:
    retail = await default_type(stub, "Роздрібна для експорту")
    item = await product(stub, "Олія соняшникова, 1 л", cost="40")
    await set_price(stub, retail, item, "71.99", "2026-01-01")
    request = pb.QuoteRequest(on="2026-02-02", currency="CZK", lines=[pb.QuoteLine(product_id=item.id, quantity="10")])

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.Quote(request, metadata=MANAGER)
    assert missing.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no exchange rate UAH→CZK" in (missing.value.details() or "")

    await stub.SetExchangeRate(
        pb.SetExchangeRateRequest(from_currency="CZK", to_currency="UAH", rate="1.8", on="2026-02-01"),
        metadata=MANAGER,
    )
    quote = await stub.Quote(request, metadata=MANAGER)
    assert quote.lines[0].price.currency == "CZK"
    assert Decimal(quote.lines[0].price.amount) == Decimal("39.99")  # 71.99 / 1.8 = 39.9944... → 39.99
    assert Decimal(quote.total.amount) == Decimal("399.90")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (pb.QuoteLine(product_id=str(uuid.uuid4()), quantity="1"), "lines[0].product_id"),
        (pb.QuoteLine(sku="НЕМАЄ-ТАКОГО", quantity="1"), "lines[0].sku"),
        (pb.QuoteLine(sku="X", quantity="-2"), "lines[0].quantity"),
        (pb.QuoteLine(sku="X", quantity="0"), "lines[0].quantity"),
        (pb.QuoteLine(sku="X", quantity="1e999999"), "lines[0].quantity"),
        (pb.QuoteLine(sku="X", quantity="1", manual_discount_percent="150"), "lines[0].manual_discount_percent"),
        (pb.QuoteLine(quantity="1"), "lines[0].product_id"),
    ],
)
async def test_bad_quote_lines_are_named(stub: pb_grpc.PricingServiceStub, line: pb.QuoteLine, field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Quote(pb.QuoteRequest(lines=[line]), metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (caught.value.details() or "")


async def test_bad_currency_and_date_are_named(stub: pb_grpc.PricingServiceStub) -> None:
    line = pb.QuoteLine(sku="X", quantity="1")
    for request, field in [
        (pb.QuoteRequest(currency="ГРН", lines=[line]), "currency"),
        (pb.QuoteRequest(on="15.03.2026", lines=[line]), "on"),
        (pb.QuoteRequest(partner_id="not-a-uuid", lines=[line]), "partner_id"),
        (pb.QuoteRequest(), "lines"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Quote(request, metadata=MANAGER)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (caught.value.details() or "").startswith(field)
