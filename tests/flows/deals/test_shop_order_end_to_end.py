"""End to end across partners, pricing and deals processes: a new shop customer's order
creates the partner (partners), the deal and the priced order (deals, pricing), and
partners counts the order's revenue for classification; the classification comes back
to deals. And a shop order pushed while pricing is down is refused with UNAVAILABLE,
nothing kept, and accepted once when the shop retries after pricing is back."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import grpc
import pytest
from crm.deals.v1 import deals_pb2 as pb
from crm.deals.v1 import deals_pb2_grpc as pb_grpc
from crm.partners.v1 import partners_pb2, partners_pb2_grpc

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import auth

from .conftest import Catalogue
from .test_shop_orders import order_request, register_shop

pytestmark = pytest.mark.flow


async def test_new_shop_customer_order_reaches_partners_revenue(
    commerce: ServiceProcess, partners: ServiceProcess, catalogue: Catalogue
) -> None:
    shop_id, _ = await register_shop(commerce, catalogue)
    request = order_request(catalogue, "E2E-1")
    request.customer.name = "Ірина Гончаренко"
    async with grpc.aio.insecure_channel(commerce.address) as dc, grpc.aio.insecure_channel(partners.address) as pc:
        answer = await pb_grpc.ShopServiceStub(dc).PushOrder(request, metadata=auth("shop", shop_id=shop_id))
        assert Decimal(answer.total.amount) == Decimal("32900.00")
        assert [line.sku for line in answer.lines] == [line.sku for line in request.lines]

        partner = await partners_pb2_grpc.PartnersServiceStub(pc).GetPartner(
            partners_pb2.GetPartnerRequest(id=answer.partner_id), metadata=auth("manager")
        )
        assert partner.name == "Ірина Гончаренко"

        deals_stub = pb_grpc.DealsServiceStub(dc)
        deal = await deals_stub.GetDeal(pb.GetDealRequest(id=answer.deal_id), metadata=auth("manager"))
        assert (deal.partner.id, deal.stage_code, deal.kind) == (
            answer.partner_id,
            "fulfilment",
            pb.DEAL_KIND_MANUAL_STAGES,
        )
        order = await deals_stub.GetOrder(pb.GetOrderRequest(id=answer.order_id), metadata=auth("manager"))
        assert (order.shop_id, order.kind, Decimal(order.profitability.cost.amount)) == (
            shop_id,
            pb.ORDER_KIND_SHOP,
            Decimal("25600.00"),  # 25000 + 2 × 300 from the products' costs
        )

        partners_stub = partners_pb2_grpc.PartnersServiceStub(pc)
        deadline = asyncio.get_running_loop().time() + 60
        while True:  # partners learns of the order from crm.deals.order.placed
            await partners_stub.ClassifyPartners(partners_pb2.ClassifyPartnersRequest(), metadata=auth("head"))
            found = await partners_stub.GetClassification(
                partners_pb2.GetClassificationRequest(partner_id=answer.partner_id), metadata=auth("manager")
            )
            if found.HasField("current") and found.current.stage == partners_pb2.RELATIONSHIP_STAGE_FIRST_PURCHASE:
                break
            assert asyncio.get_running_loop().time() < deadline, found
            await asyncio.sleep(0.5)

        deadline = asyncio.get_running_loop().time() + 30
        while not (await deals_stub.GetDeal(pb.GetDealRequest(id=deal.id), metadata=auth("manager"))).partner.abc_class:
            assert asyncio.get_running_loop().time() < deadline, "classification did not reach deals"
            await asyncio.sleep(0.5)


async def shop_retries(push):
    """What a shop does with UNAVAILABLE: sends the same order again a little later."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        try:
            return await push()
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1.0)


async def test_shop_order_while_pricing_is_down_is_refused_then_accepted_on_retry(
    commerce: ServiceProcess, catalogue: Catalogue, pricing: ServiceProcess
) -> None:
    shop_id, _ = await register_shop(commerce, catalogue)
    request = order_request(catalogue, "DOWN-1")
    async with grpc.aio.insecure_channel(commerce.address) as channel:
        stub = pb_grpc.ShopServiceStub(channel)
        await asyncio.to_thread(pricing.stop, 15.0)
        try:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.PushOrder(request, metadata=auth("shop", shop_id=shop_id), timeout=30)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.GetShopOrder(
                    pb.GetShopOrderRequest(shop_order_id="DOWN-1"), metadata=auth("shop", shop_id=shop_id)
                )
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND  # nothing kept
        finally:
            pricing.start()
            await asyncio.to_thread(pricing.wait_serving, 90.0)
        accepted = await shop_retries(
            lambda: stub.PushOrder(request, metadata=auth("shop", shop_id=shop_id), timeout=30)
        )
        again = await stub.PushOrder(request, metadata=auth("shop", shop_id=shop_id), timeout=30)
    assert accepted.order_id == again.order_id
    assert Decimal(accepted.total.amount) == Decimal("32900.00")
