"""The catalogue read back by shops: products, price types and prices, paged."""

from __future__ import annotations

import grpc
import pytest
from crm.common.v1 import common_pb2
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc

from crm_platform.testing import auth
from tests.flows.pricing.conftest import MANAGER, base_type, prices_of, product, uniq

pytestmark = pytest.mark.flow
SHOP = auth("shop", shop_id="agro-shop")


async def test_products_sort_in_ukrainian_order_and_page(stub: pb_grpc.PricingServiceStub) -> None:
    tag = uniq("кат")
    names = ["Яблуня «Голден»", "Ґрунт універсальний", "Груша «Конференція»", "Їжак садовий декор", "Іриси сині"]
    for name in names:
        await product(stub, f"{name} {tag}")
    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListProducts(
            pb.ListProductsRequest(query=tag, page=common_pb2.PageRequest(page_size=2, page_token=token)),
            metadata=SHOP,
        )
        seen += [p.name.removesuffix(f" {tag}") for p in page.products]
        token = page.page.next_page_token
        if not token:
            break
    assert seen == ["Груша «Конференція»", "Ґрунт універсальний", "Іриси сині", "Їжак садовий декор", "Яблуня «Голден»"]


async def test_product_is_created_once_per_request_and_sku(stub: pb_grpc.PricingServiceStub) -> None:
    request = pb.CreateProductRequest(
        request_id=uniq("req"),
        sku=uniq("ART"),
        name="Лопата штикова «Козак»",
        unit="шт",
        vat_rate="20",
        cost=common_pb2.Money(amount="210.40", currency="UAH"),
    )
    first = await stub.CreateProduct(request, metadata=MANAGER)
    again = await stub.CreateProduct(request, metadata=MANAGER)
    assert again.id == first.id
    fetched = await stub.GetProduct(pb.GetProductRequest(sku=request.sku), metadata=SHOP)
    assert (fetched.id, fetched.cost.amount, fetched.vat_rate) == (first.id, "210.40", "20")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateProduct(
            pb.CreateProductRequest(
                sku=request.sku, name="Інша", unit="шт", cost=common_pb2.Money(amount="1", currency="UAH")
            ),
            metadata=MANAGER,
        )
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_shops_read_but_do_not_write(stub: pb_grpc.PricingServiceStub) -> None:
    price_type = await base_type(stub, "Ціни магазину")
    listed = await stub.ListPriceTypes(
        pb.ListPriceTypesRequest(page=common_pb2.PageRequest(page_size=500)), metadata=SHOP
    )
    assert price_type.id in {t.id for t in listed.price_types}
    fetched = await stub.GetPriceType(pb.GetPriceTypeRequest(id=price_type.id), metadata=SHOP)
    assert (fetched.name, fetched.currency, fetched.includes_vat) == ("Ціни магазину", "UAH", True)
    assert await prices_of(stub, price_type, "2026-01-01") == {}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreatePriceType(pb.CreatePriceTypeRequest(name="Хакерська", currency="UAH"), metadata=SHOP)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (
            pb.CreateProductRequest(
                sku="", name="Граблі", unit="шт", cost=common_pb2.Money(amount="1", currency="UAH")
            ),
            "sku",
        ),
        (
            pb.CreateProductRequest(sku="A1", name=" ", unit="шт", cost=common_pb2.Money(amount="1", currency="UAH")),
            "name",
        ),
        (
            pb.CreateProductRequest(
                sku="A1",
                name="Граблі",
                unit="шт",
                vat_rate="двадцять",
                cost=common_pb2.Money(amount="1", currency="UAH"),
            ),
            "vat_rate",
        ),
        (
            pb.CreateProductRequest(
                sku="A1", name="Граблі", unit="шт", cost=common_pb2.Money(amount="-1", currency="UAH")
            ),
            "cost.amount",
        ),
        (
            pb.CreateProductRequest(
                sku="A1", name="Граблі", unit="шт", cost=common_pb2.Money(amount="1", currency="ГРН")
            ),
            "cost.currency",
        ),
        (pb.CreateProductRequest(sku="A1", name="Граблі", unit="шт"), "cost"),
    ],
)
async def test_bad_products_are_named(
    stub: pb_grpc.PricingServiceStub, request_: pb.CreateProductRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateProduct(request_, metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith(field)


async def test_bad_list_requests_are_named(stub: pb_grpc.PricingServiceStub) -> None:
    for call, field in [
        (
            stub.ListProducts(pb.ListProductsRequest(page=common_pb2.PageRequest(page_size=501)), metadata=SHOP),
            "page.page_size",
        ),
        (
            stub.ListProducts(pb.ListProductsRequest(page=common_pb2.PageRequest(page_token="@@@")), metadata=SHOP),
            "page.page_token",
        ),
        (stub.ListPrices(pb.ListPricesRequest(price_type_id="nope"), metadata=SHOP), "price_type_id"),
        (stub.GetProduct(pb.GetProductRequest(), metadata=SHOP), "id"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (caught.value.details() or "").startswith(field)
