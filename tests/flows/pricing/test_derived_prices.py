"""Derived price types: chains recalculated when the base changes, cycles refused, exact rounding."""

from __future__ import annotations

import json
from decimal import Decimal

import grpc
import pytest
from crm.common.v1 import common_pb2
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc

from crm_platform.testing import KafkaProbe, header
from tests.flows.pricing.conftest import MANAGER, base_type, derived_type, prices_of, product, set_price

pytestmark = pytest.mark.flow


async def test_a_price_derived_twice_and_converted_rounds_as_the_rules_say(stub: pb_grpc.PricingServiceStub) -> None:
    purchase = await base_type(stub, "Закупівельна")
    wholesale = await derived_type(stub, "Оптова", purchase, "12.5", "0.01", pb.ROUNDING_MODE_HALF_UP)
    dealer = await derived_type(stub, "Дилерська", wholesale, "-3", "5", pb.ROUNDING_MODE_UP)
    mower = await product(stub, "Газонокосарка «Оберіг» ГК-42")
    trimmer = await product(stub, "Тример бензиновий «Дніпро» Т-25")

    async with KafkaProbe("crm.pricing.price.v1") as probe:
        await set_price(stub, purchase, mower, "1111.11", "2026-03-01")
        changed = await set_price(stub, purchase, trimmer, "2000.04", "2026-03-01")
        assert changed.derived_recalculated == 2  # wholesale and dealer

        wholesale_prices = await prices_of(stub, wholesale, "2026-03-01")
        # 1111.11 * 1.125 = 1249.99875 → 1250.00 (half up to 0.01)
        assert wholesale_prices[mower.id] == Decimal("1250.00")
        # 2000.04 * 1.125 = 2250.045 → 2250.05 (exactly half: up; a float would give 2250.04)
        assert wholesale_prices[trimmer.id] == Decimal("2250.05")
        dealer_prices = await prices_of(stub, dealer, "2026-03-01")
        assert dealer_prices[mower.id] == Decimal("1215")  # 1250 * 0.97 = 1212.5 → up to a step of 5
        assert dealer_prices[trimmer.id] == Decimal("2185")  # 2250.05 * 0.97 = 2182.5485 → 2185

        record = await probe.wait_for(
            lambda r: (
                header(r, "ce_type") == "crm.pricing.price.changed"
                and json.loads(r.value)["price_type_id"] == dealer.id
                and json.loads(r.value)["product_id"] == mower.id
            )
        )
        assert Decimal(json.loads(record.value)["price"]) == Decimal("1215")

    # The base changes: the whole chain follows, from the new date only.
    await set_price(stub, purchase, mower, "1000", "2026-04-01")
    assert (await prices_of(stub, dealer, "2026-04-01"))[mower.id] == Decimal("1095")  # 1125 * .97 = 1091.25 → 1095
    assert (await prices_of(stub, dealer, "2026-03-31"))[mower.id] == Decimal("1215")

    await stub.SetExchangeRate(
        pb.SetExchangeRateRequest(from_currency="UAH", to_currency="PLN", rate="0.0973", on="2026-03-01"),
        metadata=MANAGER,
    )
    converted = await stub.Convert(
        pb.ConvertRequest(amount=common_pb2.Money(amount="2185", currency="UAH"), to_currency="PLN", on="2026-04-02"),
        metadata=MANAGER,
    )
    assert converted.amount.amount == "212.60"  # 2185 * 0.0973 = 212.6005 → 212.60
    assert converted.rate_on == "2026-03-01"
    back = await stub.Convert(
        pb.ConvertRequest(amount=common_pb2.Money(amount="212.60", currency="PLN"), to_currency="UAH", on="2026-04-02"),
        metadata=MANAGER,
    )
    assert back.amount.amount == "2184.99"  # 212.60 / 0.0973 = 2184.994... (the inverse rate)


async def test_changing_a_rule_recalculates_its_prices_and_the_chain(stub: pb_grpc.PricingServiceStub) -> None:
    base = await base_type(stub, "Базова")
    first = await derived_type(stub, "Перша націнка", base, "10", "1", pb.ROUNDING_MODE_HALF_UP)
    second = await derived_type(stub, "Друга націнка", first, "10", "0.01", pb.ROUNDING_MODE_DOWN)
    item = await product(stub, "Культиватор «Мотор Січ» МБ-6")
    await set_price(stub, base, item, "100", "2026-01-01")
    assert (await prices_of(stub, second, "2026-01-01"))[item.id] == Decimal("121.00")

    await stub.UpdatePriceType(
        pb.UpdatePriceTypeRequest(
            id=first.id,
            rule=pb.DerivationRule(
                base_price_type_id=base.id, markup_percent="25", rounding_step="5", rounding_mode=pb.ROUNDING_MODE_DOWN
            ),
        ),
        metadata=MANAGER,
    )
    assert (await prices_of(stub, first, "2026-01-01"))[item.id] == Decimal("125")
    assert (await prices_of(stub, second, "2026-01-01"))[item.id] == Decimal("137.50")


async def test_derivation_cycles_are_refused(stub: pb_grpc.PricingServiceStub) -> None:
    base = await base_type(stub, "Основна")
    a = await derived_type(stub, "А", base, "5", "0.01", pb.ROUNDING_MODE_HALF_UP)
    b = await derived_type(stub, "Б", a, "5", "0.01", pb.ROUNDING_MODE_HALF_UP)
    for new_base in (b.id, a.id):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.UpdatePriceType(
                pb.UpdatePriceTypeRequest(id=a.id, rule=pb.DerivationRule(base_price_type_id=new_base)),
                metadata=MANAGER,
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "rule.base_price_type_id" in (caught.value.details() or "")
        assert "cycle" in (caught.value.details() or "")


async def test_prices_of_a_derived_type_cannot_be_set_by_hand(stub: pb_grpc.PricingServiceStub) -> None:
    base = await base_type(stub, "Прайс")
    derived = await derived_type(stub, "Від прайсу", base, "1", "0.01", pb.ROUNDING_MODE_HALF_UP)
    item = await product(stub, "Сівалка СЗ-3.6")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await set_price(stub, derived, item, "10", "2026-01-01")
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.CreatePriceTypeRequest(name="Долар", currency="XYZ"), "currency"),
        (pb.CreatePriceTypeRequest(name="", currency="USD"), "name"),
        (
            pb.CreatePriceTypeRequest(name="Похідна", rule=pb.DerivationRule(base_price_type_id="x")),
            "rule.base_price_type_id",
        ),
        (
            pb.CreatePriceTypeRequest(
                name="Похідна", rule=pb.DerivationRule(base_price_type_id="0194f0c2-0000-7000-8000-000000000000")
            ),
            "rule.base_price_type_id",
        ),
        (
            pb.CreatePriceTypeRequest(
                name="Похідна",
                rule=pb.DerivationRule(
                    base_price_type_id="0194f0c2-0000-7000-8000-000000000000", markup_percent="5000"
                ),
            ),
            "rule.markup_percent",
        ),
        (
            pb.CreatePriceTypeRequest(
                name="Похідна",
                rule=pb.DerivationRule(base_price_type_id="0194f0c2-0000-7000-8000-000000000000", rounding_step="0"),
            ),
            "rule.rounding_step",
        ),
    ],
)
async def test_bad_price_types_are_named(
    stub: pb_grpc.PricingServiceStub, request_: pb.CreatePriceTypeRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreatePriceType(request_, metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith(field)


async def test_bad_prices_and_rates_are_named(stub: pb_grpc.PricingServiceStub) -> None:
    base = await base_type(stub, "Для перевірок")
    item = await product(stub, "Борона дискова")
    cases = [
        (
            stub.SetPrices(
                pb.SetPricesRequest(
                    price_type_id=base.id,
                    effective_from="2026-01-01",
                    prices=[pb.PriceInput(product_id=item.id, price="-1")],
                ),
                metadata=MANAGER,
            ),
            "prices[0].price",
        ),
        (
            stub.SetPrices(
                pb.SetPricesRequest(
                    price_type_id=base.id,
                    effective_from="2026-01-01",
                    prices=[pb.PriceInput(product_id=item.id, price="1e20")],
                ),
                metadata=MANAGER,
            ),
            "prices[0].price",
        ),
        (
            stub.SetPrices(
                pb.SetPricesRequest(
                    price_type_id=base.id,
                    effective_from="2026-13-01",
                    prices=[pb.PriceInput(product_id=item.id, price="1")],
                ),
                metadata=MANAGER,
            ),
            "effective_from",
        ),
        (
            stub.SetPrices(
                pb.SetPricesRequest(
                    price_type_id=base.id, effective_from="2026-01-01", prices=[pb.PriceInput(sku="НЕМА", price="1")]
                ),
                metadata=MANAGER,
            ),
            "prices[0].sku",
        ),
        (
            stub.SetExchangeRate(
                pb.SetExchangeRateRequest(from_currency="USD", to_currency="UAH", rate="0", on="2026-01-01"),
                metadata=MANAGER,
            ),
            "rate",
        ),
        (
            stub.SetExchangeRate(
                pb.SetExchangeRateRequest(from_currency="USD", to_currency="ZZZ", rate="41", on="2026-01-01"),
                metadata=MANAGER,
            ),
            "to_currency",
        ),
        (
            stub.Convert(
                pb.ConvertRequest(
                    amount=common_pb2.Money(amount="1", currency="USD"), to_currency="UAH", on="1999-01-01"
                ),
                metadata=MANAGER,
            ),
            None,
        ),
    ]
    for call, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        if field is None:
            assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "no exchange rate USD→UAH" in (caught.value.details() or "")
        else:
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert (caught.value.details() or "").startswith(field)
