"""An event committed while Kafka is down is published when Kafka comes back, and the
consumer on the other side picks it up: nothing is lost across a broker restart."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import grpc
import pytest
from crm.deals.v1 import deals_pb2_grpc
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import PG_PORT, auth, kafka_ctl
from tests.flows.test_partner_reaches_deals import draft, open_deal_when_known

pytestmark = pytest.mark.flow


async def pending_events(database: str) -> int:
    conn = await asyncpg.connect(f"postgresql://crm:crm@127.0.0.1:{PG_PORT}/{database}")
    try:
        return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
    finally:
        await conn.close()


async def test_event_committed_while_kafka_is_down_is_delivered_after_it_returns(
    partners: ServiceProcess, deals: ServiceProcess
) -> None:
    name = f"ПП «Світанок {uuid.uuid4().hex[:4]}»"
    await asyncio.to_thread(kafka_ctl, "stop")
    try:
        async with grpc.aio.insecure_channel(partners.address) as channel:
            registered = await pb_grpc.PartnersServiceStub(channel).RegisterPartner(
                pb.RegisterPartnerRequest(request_id=str(uuid.uuid4()), partner=draft(name, manager="ivan.melnyk")),
                metadata=auth("manager"),
                timeout=15,
            )
        await asyncio.sleep(2.0)
        assert await pending_events(partners.database) >= 1  # committed, waiting in the outbox
    finally:
        await asyncio.to_thread(kafka_ctl, "start")

    async with grpc.aio.insecure_channel(deals.address) as channel:
        deal = await open_deal_when_known(deals_pb2_grpc.DealsServiceStub(channel), registered.partner.id, timeout=120)
    assert deal.partner.name == name
    assert deal.partner.manager_id == "ivan.melnyk"
    assert await pending_events(partners.database) == 0
