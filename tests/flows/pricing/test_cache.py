"""Quote reads cached price tables; a change made through one replica reaches another's
cache through pricing's own events."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import grpc
import pytest
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import Services
from tests.flows.pricing.conftest import MANAGER, product, set_price, uniq

pytestmark = pytest.mark.flow


async def quoted_price(stub: pb_grpc.PricingServiceStub, item: pb.Product, price_type: pb.PriceType) -> Decimal:
    reply = await stub.Quote(
        pb.QuoteRequest(on="2026-05-01", lines=[pb.QuoteLine(product_id=item.id, quantity="1")]), metadata=MANAGER
    )
    assert reply.price_type_id == price_type.id
    return Decimal(reply.lines[0].price.amount)


async def test_a_price_set_on_one_replica_is_quoted_by_another(
    services: Services, pricing: ServiceProcess, stub: pb_grpc.PricingServiceStub
) -> None:
    other = await services.start("pricing", instance="-replica")
    price_type = await stub.CreatePriceType(
        pb.CreatePriceTypeRequest(request_id=uniq("t"), name="Спільна", currency="UAH", is_default=True),
        metadata=MANAGER,
    )
    item = await product(stub, "Бензопила «Тайга» БП-4500")
    await set_price(stub, price_type, item, "3999", "2026-01-01")
    async with grpc.aio.insecure_channel(other.address) as channel:
        replica = pb_grpc.PricingServiceStub(channel)
        assert await quoted_price(replica, item, price_type) == Decimal("3999.00")  # now cached there

        await set_price(stub, price_type, item, "4299", "2026-04-01")  # through the first replica
        assert await quoted_price(stub, item, price_type) == Decimal("4299.00")
        deadline = asyncio.get_running_loop().time() + 20
        while (seen := await quoted_price(replica, item, price_type)) != Decimal("4299.00"):
            assert asyncio.get_running_loop().time() < deadline, f"replica still quotes {seen}"
            await asyncio.sleep(0.1)
