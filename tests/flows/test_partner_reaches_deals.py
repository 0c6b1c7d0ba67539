"""A partner registered through partners' gRPC API is published through the outbox, and
deals keeps its own copy of it from the event: two service processes, the real broker."""

from __future__ import annotations

import asyncio
import random
import uuid
from decimal import Decimal

import grpc
import pytest
from crm.common.v1 import common_pb2
from crm.deals.v1 import deals_pb2, deals_pb2_grpc
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import auth

pytestmark = pytest.mark.flow


def draft(name: str, manager: str = "olena.kovalenko") -> pb.PartnerDraft:
    """A partner with contacts of its own: a shared phone would make every later one a
    duplicate candidate (and, unconfirmed, not registered)."""
    digits = f"{random.randint(2000000, 5999999)}"
    return pb.PartnerDraft(
        name=name,
        roles=[pb.PARTNER_ROLE_CLIENT, pb.PARTNER_ROLE_DEALER],
        manager_id=manager,
        segment="Оптові покупці",
        region="Київська область",
        contacts=[
            pb.ContactInfo(
                kind=pb.CONTACT_KIND_PHONE, value=f"(044) {digits[:3]}-{digits[3:5]}-{digits[5:]}", label="офіс"
            ),
            pb.ContactInfo(kind=pb.CONTACT_KIND_EMAIL, value=f"Sales.{digits}@Zoria-Agro.com.ua"),
        ],
    )


async def open_deal_when_known(
    deals: deals_pb2_grpc.DealsServiceStub, partner_id: str, timeout: float = 60.0
) -> deals_pb2.Deal:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await deals.OpenDeal(
                deals_pb2.OpenDealRequest(
                    partner_id=partner_id,
                    title="Поставка насіння соняшнику, весна",
                    expected_amount=common_pb2.Money(amount="184500.00", currency="UAH"),
                ),
                metadata=auth("manager"),
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_registered_partner_is_known_to_deals(partners: ServiceProcess, deals: ServiceProcess) -> None:
    name = f"ТОВ «Зоря Агро {uuid.uuid4().hex[:4]}»"
    draft_sent = draft(name)
    async with grpc.aio.insecure_channel(partners.address) as pc, grpc.aio.insecure_channel(deals.address) as dc:
        registered = await pb_grpc.PartnersServiceStub(pc).RegisterPartner(
            pb.RegisterPartnerRequest(request_id=str(uuid.uuid4()), partner=draft_sent), metadata=auth("manager")
        )
        phone, email = (c.value for c in draft_sent.contacts)
        assert registered.partner.contacts[0].value == "+38044" + "".join(ch for ch in phone if ch.isdigit())[3:]
        assert registered.partner.contacts[1].value.lower() == email.lower()

        deal = await open_deal_when_known(deals_pb2_grpc.DealsServiceStub(dc), registered.partner.id)

    assert deal.partner.id == registered.partner.id
    assert deal.partner.name == name
    assert deal.partner.manager_id == "olena.kovalenko"
    assert deal.manager_id == "olena.kovalenko"  # taken from the partner when the request names none
    assert deal.status == deals_pb2.DEAL_STATUS_IN_PROGRESS
    assert Decimal(deal.expected_amount.amount) == Decimal("184500.00")
    assert deal.expected_amount.currency == "UAH"


async def test_unknown_partner_cannot_get_a_deal(deals: ServiceProcess) -> None:
    async with grpc.aio.insecure_channel(deals.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await deals_pb2_grpc.DealsServiceStub(channel).OpenDeal(
                deals_pb2.OpenDealRequest(partner_id=str(uuid.uuid4()), title="Нікому"), metadata=auth("manager")
            )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
