"""Every RPC refuses bad input with INVALID_ARGUMENT naming the field (checked on the servicer)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from crm.common.v1 import common_pb2
from crm.deals.v1 import deals_pb2 as pb
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.auth import Principal, reset_principal, set_principal
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument
from deals.api import DealsApi

from .conftest import Partners

BAD_UUID = "не-uuid"


@pytest.fixture(autouse=True)
def manager() -> Iterator[None]:
    token = set_principal(Principal(subject="olena.kovalenko", roles=frozenset({"head"})))
    yield
    reset_principal(token)


CASES = [
    ("OpenDeal", pb.OpenDealRequest(partner_id=BAD_UUID, title="x"), "partner_id"),
    ("OpenDeal", pb.OpenDealRequest(partner_id=str(uuid.uuid4()), title="  "), "title"),
    ("OpenDeal", pb.OpenDealRequest(request_id="r" * 121, partner_id=str(uuid.uuid4()), title="x"), "request_id"),
    (
        "OpenDeal",
        pb.OpenDealRequest(
            partner_id=str(uuid.uuid4()), title="x", expected_amount=common_pb2.Money(amount="-5", currency="UAH")
        ),
        "expected_amount.amount",
    ),
    (
        "OpenDeal",
        pb.OpenDealRequest(
            partner_id=str(uuid.uuid4()), title="x", expected_amount=common_pb2.Money(amount="5", currency="ГРН")
        ),
        "expected_amount.currency",
    ),
    ("OpenDeal", pb.OpenDealRequest(partner_id=str(uuid.uuid4()), title="x", kind=42), "kind"),
    (
        "OpenDeal",
        pb.OpenDealRequest(partner_id=str(uuid.uuid4()), title="x", expected_close_date="31.12.2026"),
        "expected_close_date",
    ),
    (
        "OpenDeal",
        pb.OpenDealRequest(
            partner_id=str(uuid.uuid4()), title="x", kind=pb.DEAL_KIND_NON_PROCESS, process_id=str(uuid.uuid4())
        ),
        "process_id",
    ),
    ("GetDeal", pb.GetDealRequest(id=BAD_UUID), "id"),
    ("ListDeals", pb.ListDealsRequest(page=common_pb2.PageRequest(page_size=501)), "page.page_size"),
    ("ListDeals", pb.ListDealsRequest(page=common_pb2.PageRequest(page_token="???")), "page.page_token"),
    ("ListDeals", pb.ListDealsRequest(partner_id=BAD_UUID), "partner_id"),
    ("ListDeals", pb.ListDealsRequest(status=9), "status"),
    (
        "ListDeals",
        pb.ListDealsRequest(opened_from=Timestamp(seconds=2000), opened_to=Timestamp(seconds=1000)),
        "opened_to",
    ),
    ("UpdateDeal", pb.UpdateDealRequest(id=str(uuid.uuid4())), "update_mask"),
    ("UpdateDeal", pb.UpdateDealRequest(id=str(uuid.uuid4()), update_mask=FieldMask(paths=["status"])), "update_mask"),
    ("UpdateDeal", pb.UpdateDealRequest(id=str(uuid.uuid4()), update_mask=FieldMask(paths=["title"])), "title"),
    ("UpdateDeal", pb.UpdateDealRequest(id=str(uuid.uuid4()), expected_version=-1), "expected_version"),
    ("MoveDeal", pb.MoveDealRequest(id=str(uuid.uuid4())), "stage_code"),
    ("MoveDeal", pb.MoveDealRequest(id=BAD_UUID, stage_code="new"), "id"),
    (
        "WinDeal",
        pb.WinDealRequest(id=str(uuid.uuid4()), amount=common_pb2.Money(amount="abc", currency="UAH")),
        "amount.amount",
    ),
    ("LoseDeal", pb.LoseDealRequest(id=str(uuid.uuid4())), "lost_reason_id"),
    ("ReopenDeal", pb.ReopenDealRequest(id=BAD_UUID), "id"),
    ("ListDealHistory", pb.ListDealHistoryRequest(deal_id=""), "deal_id"),
    ("ListDealDocuments", pb.ListDealDocumentsRequest(deal_id="x"), "deal_id"),
    ("AddParticipant", pb.AddParticipantRequest(deal_id=str(uuid.uuid4()), partner_id=str(uuid.uuid4())), "role"),
    ("AddParticipant", pb.AddParticipantRequest(deal_id=str(uuid.uuid4()), partner_id="x", role=1), "partner_id"),
    ("RemoveParticipant", pb.RemoveParticipantRequest(deal_id=BAD_UUID), "deal_id"),
    ("PlanTask", pb.PlanTaskRequest(deal_id=str(uuid.uuid4()), title="Зателефонувати"), "deadline"),
    ("PlanTask", pb.PlanTaskRequest(deal_id=str(uuid.uuid4()), deadline=Timestamp(seconds=10)), "title"),
    ("ListTasks", pb.ListTasksRequest(deal_id=BAD_UUID), "deal_id"),
    ("CreateProcess", pb.CreateProcessRequest(name="Процес"), "stages"),
    ("CreateProcess", pb.CreateProcessRequest(name="П", stages=[pb.Stage(code="A B", name="x")]), "stages[0].code"),
    (
        "CreateProcess",
        pb.CreateProcessRequest(name="П", stages=[pb.Stage(code="a", name="x", exit_conditions=[77])]),
        "stages[0].exit_conditions[0]",
    ),
    ("UpdateProcess", pb.UpdateProcessRequest(id=BAD_UUID), "id"),
    ("UpdateProcess", pb.UpdateProcessRequest(id=str(uuid.uuid4()), name="", stages=[]), "name"),
    ("GetProcess", pb.GetProcessRequest(id=BAD_UUID), "id"),
    ("CreateLostReason", pb.CreateLostReasonRequest(name=" "), "name"),
    ("UpdateLostReason", pb.UpdateLostReasonRequest(id=BAD_UUID, name="x"), "id"),
    ("GetFunnel", pb.GetFunnelRequest(process_id=BAD_UUID), "process_id"),
    ("CreateProposal", pb.CreateProposalRequest(deal_id=BAD_UUID, valid_until="2099-01-01"), "deal_id"),
    ("CreateProposal", pb.CreateProposalRequest(deal_id=str(uuid.uuid4())), "valid_until"),
    (
        "CreateProposal",
        pb.CreateProposalRequest(
            deal_id=str(uuid.uuid4()), valid_until="2099-01-01", lines=[pb.LineInput(sku="NB", quantity="0")]
        ),
        "lines[0].quantity",
    ),
    (
        "CreateProposal",
        pb.CreateProposalRequest(
            deal_id=str(uuid.uuid4()),
            valid_until="2099-01-01",
            lines=[pb.LineInput(sku="NB", quantity="1", manual_discount_percent="120")],
        ),
        "lines[0].manual_discount_percent",
    ),
    (
        "CreateProposal",
        pb.CreateProposalRequest(deal_id=str(uuid.uuid4()), valid_until="2099-01-01", lines=[pb.LineInput()]),
        "lines[0]",
    ),
    (
        "CreateProposal",
        pb.CreateProposalRequest(
            deal_id=str(uuid.uuid4()),
            valid_until="2099-01-01",
            lines=[pb.LineInput(sku="A", quantity="1")],
            currency="ZZZ",
        ),
        "currency",
    ),
    (
        "CreateProposal",
        pb.CreateProposalRequest(deal_id=str(uuid.uuid4()), valid_until="2099-01-01", importance=9),
        "importance",
    ),
    ("ReviseProposal", pb.ReviseProposalRequest(id=str(uuid.uuid4()), expected_version=-2), "expected_version"),
    ("ReviseProposal", pb.ReviseProposalRequest(id=BAD_UUID), "id"),
    ("GetProposal", pb.GetProposalRequest(id=BAD_UUID), "id"),
    ("ListProposals", pb.ListProposalsRequest(deal_id=""), "deal_id"),
    ("ListProposalVersions", pb.ListProposalVersionsRequest(proposal_id="x"), "proposal_id"),
    ("AgreeProposal", pb.ProposalActionRequest(id=BAD_UUID), "id"),
    ("RequestProposalApproval", pb.ProposalActionRequest(id=BAD_UUID), "id"),
    ("DecideProposalApproval", pb.DecideProposalApprovalRequest(id=BAD_UUID), "id"),
    ("RejectProposal", pb.ProposalActionRequest(id=BAD_UUID), "id"),
    ("CancelProposal", pb.ProposalActionRequest(id=BAD_UUID), "id"),
    (
        "AddCompetitorOffer",
        pb.AddCompetitorOfferRequest(proposal_id=str(uuid.uuid4()), competitor_id=str(uuid.uuid4())),
        "total",
    ),
    ("AddCompetitorOffer", pb.AddCompetitorOfferRequest(proposal_id=str(uuid.uuid4())), "competitor_id"),
    ("CreateOrder", pb.CreateOrderRequest(proposal_id=BAD_UUID), "proposal_id"),
    ("CreateOrder", pb.CreateOrderRequest(proposal_id=str(uuid.uuid4()), due_on="завтра"), "due_on"),
    ("GetOrder", pb.GetOrderRequest(id=BAD_UUID), "id"),
    ("ListOrders", pb.ListOrdersRequest(), "deal_id"),
    ("ListOrders", pb.ListOrdersRequest(partner_id=BAD_UUID), "partner_id"),
    ("ApproveOrder", pb.ApproveOrderRequest(id=BAD_UUID), "id"),
    ("SetOrderState", pb.SetOrderStateRequest(id=str(uuid.uuid4())), "state"),
    ("ListOrderStates", pb.ListOrderStatesRequest(), "kind"),
    ("SetOrderStates", pb.SetOrderStatesRequest(kind=pb.ORDER_KIND_SHOP), "states"),
    (
        "SetOrderStates",
        pb.SetOrderStatesRequest(kind=pb.ORDER_KIND_SHOP, states=[pb.OrderState(code="completed", name="x")]),
        "states[0].code",
    ),
    ("IssueInvoice", pb.IssueInvoiceRequest(order_id=str(uuid.uuid4())), "due_on"),
    (
        "IssueInvoice",
        pb.IssueInvoiceRequest(
            order_id=str(uuid.uuid4()), due_on="2026-12-01", amount=common_pb2.Money(amount="-1", currency="UAH")
        ),
        "amount.amount",
    ),
    ("RegisterPayment", pb.RegisterPaymentRequest(order_id=str(uuid.uuid4())), "amount"),
    ("RegisterPayment", pb.RegisterPaymentRequest(order_id=str(uuid.uuid4()), invoice_id="x"), "invoice_id"),
    (
        "RegisterPayment",
        pb.RegisterPaymentRequest(order_id=str(uuid.uuid4()), amount=common_pb2.Money(amount="0", currency="UAH")),
        "amount.amount",
    ),
    (
        "RegisterShipment",
        pb.RegisterShipmentRequest(order_id=str(uuid.uuid4()), lines=[pb.ShipmentLine(line_index=0, quantity="x")]),
        "lines[0].quantity",
    ),
    ("RegisterShipment", pb.RegisterShipmentRequest(order_id=BAD_UUID), "order_id"),
]


@pytest.mark.parametrize(("method", "request_", "field"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
async def test_bad_input_names_the_field(db: Database, method: str, request_: object, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await getattr(DealsApi(db, None), method)(request_, None)  # type: ignore[arg-type]
    assert field in {v.field for v in caught.value.violations}


async def test_update_deal_changes_only_the_masked_fields(db: Database, partners_copy: Partners) -> None:
    api = DealsApi(db, None)  # type: ignore[arg-type]
    partner = await partners_copy.known()
    deal = await api.OpenDeal(
        pb.OpenDealRequest(partner_id=str(partner), title="Корм для птиці", source="Виставка «Агро-2026»"), None
    )
    changed = await api.UpdateDeal(
        pb.UpdateDealRequest(
            id=deal.id,
            title="не змінюється",
            counterparty="ТОВ «Птахофабрика Київська»",
            expected_amount=common_pb2.Money(amount="99000.50", currency="UAH"),
            expected_close_date="2026-12-20",
            update_mask=FieldMask(paths=["counterparty", "expected_amount", "expected_close_date"]),
        ),
        None,
    )
    assert (changed.title, changed.source) == ("Корм для птиці", "Виставка «Агро-2026»")
    assert changed.counterparty == "ТОВ «Птахофабрика Київська»"
    assert (changed.expected_amount.amount, changed.expected_close_date) == ("99000.50", "2026-12-20")
    assert changed.version == deal.version + 1
    listed = await api.ListDeals(pb.ListDealsRequest(partner_id=str(partner)), None)
    assert [d.id for d in listed.deals] == [deal.id]
    assert listed.page.total_size == 1
