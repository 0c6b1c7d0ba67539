from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import grpc
import pytest
from crm.common.v1 import common_pb2
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import Services, auth


@pytest.fixture(scope="session")
async def pricing(services: Services) -> ServiceProcess:
    return await services.start("pricing")


@pytest.fixture
async def stub(pricing: ServiceProcess) -> AsyncIterator[pb_grpc.PricingServiceStub]:
    async with grpc.aio.insecure_channel(pricing.address) as channel:
        yield pb_grpc.PricingServiceStub(channel)


MANAGER = auth("manager")


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def product(
    stub: pb_grpc.PricingServiceStub, name: str, *, vat: str = "20", cost: str = "100", currency: str = "UAH"
) -> pb.Product:
    return await stub.CreateProduct(
        pb.CreateProductRequest(
            request_id=uniq("p"),
            sku=uniq("SKU"),
            name=name,
            unit="шт",
            vat_rate=vat,
            cost=common_pb2.Money(amount=cost, currency=currency),
        ),
        metadata=MANAGER,
    )


async def base_type(
    stub: pb_grpc.PricingServiceStub, name: str, currency: str = "UAH", *, includes_vat: bool = True
) -> pb.PriceType:
    return await stub.CreatePriceType(
        pb.CreatePriceTypeRequest(request_id=uniq("t"), name=name, currency=currency, includes_vat=includes_vat),
        metadata=MANAGER,
    )


async def derived_type(
    stub: pb_grpc.PricingServiceStub, name: str, base: pb.PriceType, markup: str, step: str, mode: int
) -> pb.PriceType:
    return await stub.CreatePriceType(
        pb.CreatePriceTypeRequest(
            request_id=uniq("t"),
            name=name,
            rule=pb.DerivationRule(
                base_price_type_id=base.id, markup_percent=markup, rounding_step=step, rounding_mode=mode
            ),
        ),
        metadata=MANAGER,
    )


async def set_price(
    stub: pb_grpc.PricingServiceStub, price_type: pb.PriceType, item: pb.Product, price: str, on: str
) -> pb.SetPricesResponse:
    return await stub.SetPrices(
        pb.SetPricesRequest(
            price_type_id=price_type.id, effective_from=on, prices=[pb.PriceInput(product_id=item.id, price=price)]
        ),
        metadata=MANAGER,
    )


async def prices_of(stub: pb_grpc.PricingServiceStub, price_type: pb.PriceType, on: str) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    token = ""
    while True:
        page = await stub.ListPrices(
            pb.ListPricesRequest(
                price_type_id=price_type.id, on=on, page=common_pb2.PageRequest(page_size=100, page_token=token)
            ),
            metadata=MANAGER,
        )
        found.update({p.product_id: Decimal(p.price.amount) for p in page.prices})
        token = page.page.next_page_token
        if not token:
            return found
