"""crm.deals.v1.DealsService: decode, call the use case, encode."""

from __future__ import annotations

from crm.common.v1 import common_pb2
from crm.deals.v1 import deals_pb2 as pb
from crm.deals.v1 import deals_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, NotFound
from crm_platform.grpc_server import GrpcService
from crm_platform.ids import parse_id
from crm_platform.money import Money
from crm_platform.proto_codec import enum_out, money_in, money_out, timestamp_out
from deals.domain import check_new_deal
from deals.models import DealRow, KnownPartner
from deals.opening import open_deal
from deals.repository import DealRepository, KnownPartnerRepository


def deal_out(deal: DealRow, partner: KnownPartner | None) -> pb.Deal:
    expected = (
        Money(deal.expected_amount, deal.currency) if deal.expected_amount is not None and deal.currency else None
    )
    return pb.Deal(
        id=str(deal.id),
        title=deal.title,
        partner=pb.PartnerSummary(
            id=str(deal.partner_id),
            name=partner.name if partner else "",
            manager_id=partner.manager_id if partner else "",
        ),
        manager_id=deal.manager_id,
        status=enum_out(deal.status, pb.DealStatus, "DEAL_STATUS_"),
        expected_amount=money_out(common_pb2.Money, expected),
        created_at=timestamp_out(deal.created_at),
    )


class DealsApi(pb_grpc.DealsServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def OpenDeal(self, request: pb.OpenDealRequest, context: ServicerContext) -> pb.Deal:
        if len(request.request_id) > 120:
            raise InvalidArgument.single("request_id", "longer than 120 characters")
        partner_id = parse_id(request.partner_id, "partner_id")
        expected = money_in(request.expected_amount, "expected_amount", required=False)
        title = check_new_deal(request.title, expected)
        if len(request.manager_id) > 120:
            raise InvalidArgument.single("manager_id", "longer than 120 characters")
        deal = await open_deal(
            self.db,
            partner_id=partner_id,
            title=title,
            manager_id=request.manager_id.strip(),
            expected=expected,
            request_id=request.request_id or None,
        )
        return await self._out(deal)

    async def GetDeal(self, request: pb.GetDealRequest, context: ServicerContext) -> pb.Deal:
        deal_id = parse_id(request.id, "id")
        async with self.db.reading() as session:
            deal = await DealRepository(session).get(deal_id)
        if deal is None:
            raise NotFound(f"deal {deal_id} not found")
        return await self._out(deal)

    async def _out(self, deal: DealRow) -> pb.Deal:
        async with self.db.reading() as session:
            partner = await KnownPartnerRepository(session).get(deal.partner_id)
        return deal_out(deal, partner)


def grpc_service(db: Database) -> GrpcService:
    return GrpcService(
        full_name=pb.DESCRIPTOR.services_by_name["DealsService"].full_name,
        servicer=DealsApi(db),
        add_to_server=pb_grpc.add_DealsServiceServicer_to_server,
    )
