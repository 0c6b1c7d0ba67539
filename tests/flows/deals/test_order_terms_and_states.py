"""An order whose terms break its agreement is refused or waits for a head's approval;
order states come from a list per order kind that heads edit."""

from __future__ import annotations

import uuid

import grpc
import pytest
from crm.deals.v1 import deals_pb2 as pb
from crm.deals.v1 import deals_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import auth

from .conftest import (
    Catalogue,
    agreed_terms,
    open_manual_deal,
    pricing_knows_partner,
    register_partner,
    valid_until,
)
from .test_shop_orders import order_request, register_shop

pytestmark = pytest.mark.flow


async def test_discount_over_the_limit_refuses_the_order_or_sends_it_to_approval(
    commerce: ServiceProcess, partners: ServiceProcess, pricing: ServiceProcess, catalogue: Catalogue
) -> None:
    segment = f"Дилери {uuid.uuid4().hex[:4]}"
    await agreed_terms(pricing, segment, catalogue.price_type_id, manual_discount_limit_percent="3")
    partner_id = await register_partner(partners, f"ТОВ «Дилер Схід {uuid.uuid4().hex[:4]}»", segment)
    sku = next(iter(catalogue.skus))
    async with grpc.aio.insecure_channel(commerce.address) as channel:
        stub = pb_grpc.DealsServiceStub(channel)
        deal = await open_manual_deal(stub, partner_id)

        await pricing_knows_partner(pricing, partner_id, sku)
        proposal = await stub.CreateProposal(
            pb.CreateProposalRequest(
                deal_id=deal.id,
                valid_until=valid_until(),
                lines=[pb.LineInput(sku=sku, quantity="10", manual_discount_percent="8")],
            ),
            metadata=auth("manager"),
        )
        assert proposal.agreement_id
        await stub.RequestProposalApproval(pb.ProposalActionRequest(id=proposal.id), metadata=auth("manager"))
        approved = await stub.DecideProposalApproval(
            pb.DecideProposalApprovalRequest(id=proposal.id, approve=True), metadata=auth("head")
        )
        assert (approved.status, approved.approved_by) == (pb.PROPOSAL_STATUS_AGREED, "test-head")

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CreateOrder(
                pb.CreateOrderRequest(proposal_id=proposal.id, refuse_on_violation=True), metadata=auth("manager")
            )
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "limit" in (caught.value.details() or "")

        order = await stub.CreateOrder(pb.CreateOrderRequest(proposal_id=proposal.id), metadata=auth("manager"))
        assert order.state == "awaiting_approval"
        assert [v.code for v in order.violations] == ["DISCOUNT_OVER_LIMIT"]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.RegisterShipment(pb.RegisterShipmentRequest(order_id=order.id), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ApproveOrder(pb.ApproveOrderRequest(id=order.id), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        approved_order = await stub.ApproveOrder(pb.ApproveOrderRequest(id=order.id), metadata=auth("head"))
        assert approved_order.state == "in_work"

        produced = await stub.SetOrderState(
            pb.SetOrderStateRequest(id=order.id, state="production"), metadata=auth("manager")
        )
        assert (produced.state, produced.state_name) == ("production", "У виробництві")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SetOrderState(pb.SetOrderStateRequest(id=order.id, state="completed"), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # not paid and shipped
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SetOrderState(pb.SetOrderStateRequest(id=order.id, state="nowhere"), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        cancelled = await stub.SetOrderState(
            pb.SetOrderStateRequest(id=order.id, state="cancelled"), metadata=auth("manager")
        )
        assert cancelled.state == "cancelled"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SetOrderState(pb.SetOrderStateRequest(id=order.id, state="in_work"), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_heads_edit_the_states_of_an_order_kind(commerce: ServiceProcess, catalogue: Catalogue) -> None:
    shop_id, _ = await register_shop(commerce, catalogue)
    async with grpc.aio.insecure_channel(commerce.address) as channel:
        placed = await pb_grpc.ShopServiceStub(channel).PushOrder(
            order_request(catalogue, "ST-1"), metadata=auth("shop", shop_id=shop_id)
        )
        assert placed.state == "new"
        placed_ids = [placed.order_id]
        stub = pb_grpc.DealsServiceStub(channel)
        original = await stub.ListOrderStates(pb.ListOrderStatesRequest(kind=pb.ORDER_KIND_SHOP), metadata=auth("head"))
        working = [
            pb.OrderState(code="new", name="Нове замовлення з магазину"),
            pb.OrderState(code="packing", name="Пакується"),
            pb.OrderState(code="in_work", name="Комплектується"),
        ]
        request = pb.SetOrderStatesRequest(kind=pb.ORDER_KIND_SHOP, states=working)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SetOrderStates(request, metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        try:
            states = await stub.SetOrderStates(request, metadata=auth("head"))
            assert [s.code for s in states.states] == [
                "awaiting_approval",
                "new",
                "packing",
                "in_work",
                "completed",
                "cancelled",
            ]
            assert [s.final for s in states.states][-2:] == [True, True]
            listed = await stub.ListOrderStates(
                pb.ListOrderStatesRequest(kind=pb.ORDER_KIND_SHOP), metadata=auth("manager")
            )
            assert listed == states
            packing = await stub.SetOrderState(
                pb.SetOrderStateRequest(id=placed.order_id, state="packing"), metadata=auth("manager")
            )
            assert packing.state_name == "Пакується"
            with pytest.raises(grpc.aio.AioRpcError) as caught:  # an order is packing
                await stub.SetOrderStates(
                    pb.SetOrderStatesRequest(kind=pb.ORDER_KIND_SHOP, states=[working[0], working[2]]),
                    metadata=auth("head"),
                )
            assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "packing" in (caught.value.details() or "")

            # The very next shop order starts in the new first working state, not a remembered one.
            await stub.SetOrderStates(
                pb.SetOrderStatesRequest(kind=pb.ORDER_KIND_SHOP, states=[working[2], working[0], working[1]]),
                metadata=auth("head"),
            )
            second = await pb_grpc.ShopServiceStub(channel).PushOrder(
                order_request(catalogue, "ST-2"), metadata=auth("shop", shop_id=shop_id)
            )
            placed_ids.append(second.order_id)
            assert second.state == "in_work"
        finally:
            for order_id in placed_ids:
                await stub.SetOrderState(pb.SetOrderStateRequest(id=order_id, state="cancelled"), metadata=auth("head"))
            working_states = [
                s for s in original.states if s.code not in ("awaiting_approval", "completed", "cancelled")
            ]
            await stub.SetOrderStates(
                pb.SetOrderStatesRequest(kind=pb.ORDER_KIND_SHOP, states=working_states), metadata=auth("head")
            )
