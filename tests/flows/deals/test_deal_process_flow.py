"""A deal walks its process over gRPC on a running deals process, with partners' events
reaching it through the real broker."""

from __future__ import annotations

import uuid

import grpc
import pytest
from crm.deals.v1 import deals_pb2 as pb
from crm.deals.v1 import deals_pb2_grpc as pb_grpc
from crm.partners.v1 import partners_pb2, partners_pb2_grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from crm_platform.grpc_errors import field_violations
from crm_platform.localrun import ServiceProcess
from crm_platform.testing import auth
from tests.flows.test_partner_reaches_deals import draft, open_deal_when_known

pytestmark = pytest.mark.flow


def precondition_subject(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            return failure.violations[0].subject
    return ""


async def test_controlled_deal_over_grpc(partners: ServiceProcess, deals: ServiceProcess) -> None:
    async with grpc.aio.insecure_channel(partners.address) as pc, grpc.aio.insecure_channel(deals.address) as dc:
        registered = await partners_pb2_grpc.PartnersServiceStub(pc).RegisterPartner(
            partners_pb2.RegisterPartnerRequest(
                request_id=str(uuid.uuid4()), partner=draft(f"ТОВ «Полтава Агро {uuid.uuid4().hex[:4]}»")
            ),
            metadata=auth("manager"),
        )
        stub = pb_grpc.DealsServiceStub(dc)
        deal = await open_deal_when_known(stub, registered.partner.id)
        assert (deal.kind, deal.stage_code, deal.stage_name) == (pb.DEAL_KIND_CONTROLLED, "new", "Нова угода")

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.MoveDeal(pb.MoveDealRequest(id=deal.id, stage_code="presentation"), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert precondition_subject(caught.value) == "stage_order"

        for stage in ("first_contact", "qualification", "presentation"):
            deal = await stub.MoveDeal(pb.MoveDealRequest(id=deal.id, stage_code=stage), metadata=auth("manager"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.MoveDeal(pb.MoveDealRequest(id=deal.id, stage_code="proposal"), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert precondition_subject(caught.value) == "partner_classified"
        assert "not classified" in (caught.value.details() or "")

        reasons = await stub.ListLostReasons(pb.ListLostReasonsRequest(), metadata=auth("manager"))
        lost = await stub.LoseDeal(
            pb.LoseDealRequest(id=deal.id, lost_reason_id=reasons.reasons[0].id, comment="обрали іншого"),
            metadata=auth("manager"),
        )
        assert (lost.status, lost.stage_code) == (pb.DEAL_STATUS_LOST, "presentation")
        history = await stub.ListDealHistory(pb.ListDealHistoryRequest(deal_id=deal.id), metadata=auth("manager"))
        assert [e.to_stage for e in history.entries] == [
            "new",
            "first_contact",
            "qualification",
            "presentation",
            "presentation",
        ]
        assert history.entries[-1].to_status == pb.DEAL_STATUS_LOST
        assert history.entries[1].moved_by == "test-manager"

        funnel = await stub.GetFunnel(pb.GetFunnelRequest(), metadata=auth("head"))
        assert [s.code for s in funnel.stages][:2] == ["new", "first_contact"]
        assert funnel.stages[3].lost_deals >= 1


async def test_only_heads_edit_processes_and_bad_input_names_the_field(deals: ServiceProcess) -> None:
    async with grpc.aio.insecure_channel(deals.address) as channel:
        stub = pb_grpc.DealsServiceStub(channel)
        request = pb.CreateProcessRequest(name="Тендерний продаж", stages=[pb.Stage(code="tender", name="Тендер")])
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CreateProcess(request, metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        created = await stub.CreateProcess(request, metadata=auth("head"))
        assert [s.code for s in created.stages] == ["tender"]
        assert not created.is_default

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.MoveDeal(pb.MoveDealRequest(id="abc", stage_code="x"), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "id" in field_violations(caught.value)

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetDeal(pb.GetDealRequest(id=str(uuid.uuid4())), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
