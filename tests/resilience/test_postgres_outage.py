"""PostgreSQL going away: callers are told to retry (UNAVAILABLE, never INTERNAL), the
service reports itself not ready, and an event arriving meanwhile is applied once the
database is back, never dead-lettered."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import grpc
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from crm.deals.v1 import deals_pb2_grpc
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc

from crm_platform.clock import utcnow
from crm_platform.events import Envelope
from crm_platform.localrun import ServiceProcess
from crm_platform.testing import REPO, KafkaProbe, auth, header
from partners.events import PartnerRegistered
from tests.flows.test_partner_reaches_deals import draft, open_deal_when_known

pytestmark = pytest.mark.flow
PARTNER_TOPIC = "crm.partners.partner.v1"


def postgres(action: str) -> None:
    subprocess.run([str(REPO / "deploy/local/postgres.sh"), action], check=True, stdout=subprocess.DEVNULL)


async def test_database_outage_is_retried_not_lost(
    partners: ServiceProcess, deals: ServiceProcess, kafka_producer: AIOKafkaProducer
) -> None:
    partner_id = uuid.uuid4()
    event = PartnerRegistered(  # what partners would publish
        partner_id=partner_id,
        name="ТОВ «Під час збою»",
        roles=["client"],
        manager_id="ivan.melnyk",
        segment="",
        region="",
        tags=[],
        source="",
        contacts=[],
        registered_at=utcnow(),
        version=1,
    )
    envelope = Envelope.wrap(event, source="crm/partners")

    async with KafkaProbe(PARTNER_TOPIC + ".dlq") as dlq:
        await asyncio.to_thread(postgres, "stop")
        try:
            async with grpc.aio.insecure_channel(partners.address) as channel:
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await pb_grpc.PartnersServiceStub(channel).RegisterPartner(
                        pb.RegisterPartnerRequest(partner=draft("ТОВ «Не вчасно»")), metadata=auth(), timeout=20
                    )
            async with httpx.AsyncClient() as http:
                ready = await http.get(f"http://127.0.0.1:{deals.http_port}/readyz", timeout=20)
            await kafka_producer.send_and_wait(
                PARTNER_TOPIC,
                envelope.data,
                key=event.key().encode(),
                headers=[(k, v.encode()) for k, v in envelope.headers().items()],
            )
            await asyncio.sleep(3)  # deals tries, fails, backs off while the database is gone
        finally:
            await asyncio.to_thread(postgres, "start")

        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] is False

        async with grpc.aio.insecure_channel(deals.address) as channel:
            deal = await open_deal_when_known(deals_pb2_grpc.DealsServiceStub(channel), str(partner_id), timeout=90)
        assert deal.partner.name == "ТОВ «Під час збою»"
        assert not [r for r in await dlq.collect(1.0) if header(r, "ce_id") == envelope.id]
