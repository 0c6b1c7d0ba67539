"""A proposal priced by pricing becomes an order whose payments and shipments win the
deal: deals, pricing and partners as real processes over the real broker."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import grpc
import pytest
from crm.common.v1 import common_pb2
from crm.deals.v1 import deals_pb2 as pb
from crm.deals.v1 import deals_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import KafkaProbe, auth, header

from .conftest import (
    Catalogue,
    agreed_terms,
    eventually,
    open_manual_deal,
    pricing_knows_partner,
    register_partner,
    valid_until,
)

pytestmark = pytest.mark.flow


def lines(catalogue: Catalogue, discount: str = "") -> list[pb.LineInput]:
    nb, ms = list(catalogue.skus)[:2]
    return [
        pb.LineInput(sku=nb, quantity="2", manual_discount_percent=discount),
        pb.LineInput(sku=ms, quantity="3"),
    ]


async def test_proposal_versions_approval_order_payments_shipments_win(
    commerce: ServiceProcess, partners: ServiceProcess, pricing: ServiceProcess, catalogue: Catalogue
) -> None:
    segment = f"Корпоративні {uuid.uuid4().hex[:4]}"
    await agreed_terms(
        pricing, segment, catalogue.price_type_id, manual_discount_limit_percent="5", prepayment_percent="50"
    )
    partner_id = await register_partner(partners, f"ТОВ «Кварц Офіс {uuid.uuid4().hex[:4]}»", segment)
    rival_id = await register_partner(partners, f"ТОВ «Конкурент Техно {uuid.uuid4().hex[:4]}»", segment)
    async with grpc.aio.insecure_channel(commerce.address) as channel:
        stub = pb_grpc.DealsServiceStub(channel)
        deal = await open_manual_deal(stub, partner_id)

        await pricing_knows_partner(pricing, partner_id, next(iter(catalogue.skus)))
        proposal = await stub.CreateProposal(
            pb.CreateProposalRequest(
                request_id=str(uuid.uuid4()),
                deal_id=deal.id,
                lines=lines(catalogue, "10"),
                valid_until=valid_until(),
                importance=pb.IMPORTANCE_HIGH,
            ),
            metadata=auth("manager"),
        )
        assert proposal.agreement_id
        # 2 × 32000 less 10% + 3 × 450 = 57600 + 1350
        assert Decimal(proposal.total.amount) == Decimal("58950.00")
        assert proposal.needs_approval
        assert Decimal(proposal.profitability.cost.amount) > 0

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.AgreeProposal(pb.ProposalActionRequest(id=proposal.id), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "approve" in (caught.value.details() or "")

        await stub.RequestProposalApproval(pb.ProposalActionRequest(id=proposal.id), metadata=auth("manager"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.DecideProposalApproval(
                pb.DecideProposalApprovalRequest(id=proposal.id, approve=True), metadata=auth("manager")
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        declined = await stub.DecideProposalApproval(
            pb.DecideProposalApprovalRequest(id=proposal.id, approve=False), metadata=auth("head")
        )
        assert declined.status == pb.PROPOSAL_STATUS_DRAFT

        revised = await stub.ReviseProposal(
            pb.ReviseProposalRequest(
                id=proposal.id,
                lines=lines(catalogue, "5"),
                valid_until=valid_until(),
                comment="знижка 5%",
                expected_version=1,
            ),
            metadata=auth("manager"),
        )
        assert (revised.version, revised.needs_approval) == (2, False)
        assert Decimal(revised.total.amount) == Decimal("62150.00")
        offered = await eventually(  # deals may not have consumed the rival's registration yet
            lambda: stub.AddCompetitorOffer(
                pb.AddCompetitorOfferRequest(
                    proposal_id=proposal.id,
                    competitor_id=rival_id,
                    total=common_pb2.Money(amount="61000", currency="UAH"),
                ),
                metadata=auth("manager"),
            )
        )
        assert Decimal(offered.competitor_offers[0].difference.amount) == Decimal("1150.00")
        versions = await stub.ListProposalVersions(
            pb.ListProposalVersionsRequest(proposal_id=proposal.id), metadata=auth("manager")
        )
        assert [Decimal(v.total.amount) for v in versions.versions] == [Decimal("58950.00"), Decimal("62150.00")]

        agreed = await stub.AgreeProposal(pb.ProposalActionRequest(id=proposal.id), metadata=auth("manager"))
        assert agreed.status == pb.PROPOSAL_STATUS_AGREED

        async with KafkaProbe("crm.deals.order.v1") as orders_topic:
            order = await stub.CreateOrder(
                pb.CreateOrderRequest(request_id=str(uuid.uuid4()), proposal_id=proposal.id), metadata=auth("manager")
            )
            placed = await orders_topic.wait_for(
                lambda r: header(r, "ce_type") == "crm.deals.order.placed" and header(r, "ce_subject") == order.id
            )
        assert json.loads(placed.value)["amount"] in ("62150.00", "62150.0000", "62150")
        assert order.state == "in_work"
        moved = await stub.GetDeal(pb.GetDealRequest(id=deal.id), metadata=auth("manager"))
        assert moved.stage_code == "fulfilment"

        with pytest.raises(grpc.aio.AioRpcError) as caught:  # 50% prepayment not received yet
            await stub.RegisterShipment(pb.RegisterShipmentRequest(order_id=order.id), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        invoice = await stub.IssueInvoice(
            pb.IssueInvoiceRequest(order_id=order.id, due_on="2026-12-31"), metadata=auth("manager")
        )
        assert Decimal(invoice.amount.amount) == Decimal("62150.00")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.IssueInvoice(
                pb.IssueInvoiceRequest(
                    order_id=order.id, due_on="2026-12-31", amount=common_pb2.Money(amount="1", currency="UAH")
                ),
                metadata=auth("manager"),
            )
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        paid = await stub.RegisterPayment(
            pb.RegisterPaymentRequest(
                request_id="pay-1-" + order.id,
                order_id=order.id,
                invoice_id=invoice.id,
                amount=common_pb2.Money(amount="40000", currency="UAH"),
            ),
            metadata=auth("manager"),
        )
        assert Decimal(paid.to_pay.amount) == Decimal("22150.00")
        shipped = await stub.RegisterShipment(
            pb.RegisterShipmentRequest(order_id=order.id, lines=[pb.ShipmentLine(line_index=0, quantity="1")]),
            metadata=auth("manager"),
        )
        assert shipped.lines[0].shipped_quantity == "1"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.RegisterShipment(
                pb.RegisterShipmentRequest(order_id=order.id, lines=[pb.ShipmentLine(line_index=0, quantity="2")]),
                metadata=auth("manager"),
            )
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "only 1 left" in (caught.value.details() or "")
        await stub.RegisterShipment(pb.RegisterShipmentRequest(order_id=order.id), metadata=auth("manager"))
        deal_now = await stub.GetDeal(pb.GetDealRequest(id=deal.id), metadata=auth("manager"))
        assert deal_now.status == pb.DEAL_STATUS_IN_PROGRESS  # shipped, not yet fully paid

        settled = await stub.RegisterPayment(
            pb.RegisterPaymentRequest(
                request_id="pay-2-" + order.id,
                order_id=order.id,
                amount=common_pb2.Money(amount="23000", currency="UAH"),
            ),
            metadata=auth("manager"),
        )
        assert (settled.state, Decimal(settled.advance.amount)) == ("completed", Decimal("850.00"))
        again = await stub.RegisterPayment(
            pb.RegisterPaymentRequest(
                request_id="pay-2-" + order.id,
                order_id=order.id,
                amount=common_pb2.Money(amount="23000", currency="UAH"),
            ),
            metadata=auth("manager"),
        )
        assert Decimal(again.paid.amount) == Decimal("63000.00")
        won = await stub.GetDeal(pb.GetDealRequest(id=deal.id), metadata=auth("manager"))
        assert won.status == pb.DEAL_STATUS_WON
        documents = await stub.ListDealDocuments(pb.ListDealDocumentsRequest(deal_id=deal.id), metadata=auth("manager"))
        kinds = [d.kind for d in documents.documents]
        assert sorted(kinds) == sorted(
            [pb.DOCUMENT_KIND_PROPOSAL, pb.DOCUMENT_KIND_ORDER, pb.DOCUMENT_KIND_INVOICE]
            + [pb.DOCUMENT_KIND_PAYMENT] * 2
            + [pb.DOCUMENT_KIND_SHIPMENT] * 2
        )
        assert kinds[0] == pb.DOCUMENT_KIND_PROPOSAL
        shipments = [d for d in documents.documents if d.kind == pb.DOCUMENT_KIND_SHIPMENT]
        assert sum(Decimal(d.amount.amount) for d in shipments) == Decimal("62150.00")
