"""A consumer killed mid-stream loses nothing: events published while deals is down, or
being handled when it dies, are all applied once it is back."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from crm.deals.v1 import deals_pb2_grpc
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import Services, auth
from tests.flows.test_partner_reaches_deals import draft, open_deal_when_known

pytestmark = pytest.mark.flow


async def test_partners_registered_while_deals_is_killed_all_reach_it(
    services: Services, partners: ServiceProcess
) -> None:
    # Its own database and consumer group, so no other deals process of this run helps it.
    group = {"CRM_KAFKA_GROUP_ID": f"deals-restart-{uuid.uuid4().hex[:6]}"}
    deals = await services.start("deals", instance="-restart", database="deals_restart", env=group)
    names = [f"ТОВ «Калина {i} {uuid.uuid4().hex[:4]}»" for i in range(30)]
    async with grpc.aio.insecure_channel(partners.address) as channel:
        stub = pb_grpc.PartnersServiceStub(channel)

        async def register(name: str) -> str:
            reply = await stub.RegisterPartner(
                pb.RegisterPartnerRequest(partner=draft(name)), metadata=auth(), timeout=15
            )
            return reply.partner.id

        first = [await register(n) for n in names[:15]]
        deals.kill()  # SIGKILL: no graceful shutdown, offsets of what it was doing not committed
        second = [await register(n) for n in names[15:]]

    restarted = await services.start("deals", instance="-restart2", database="deals_restart", env=group)
    async with grpc.aio.insecure_channel(restarted.address) as channel:
        stub_deals = deals_pb2_grpc.DealsServiceStub(channel)
        opened = await asyncio.gather(*(open_deal_when_known(stub_deals, pid, timeout=60) for pid in first + second))
    assert sorted(d.partner.name for d in opened) == sorted(names)
