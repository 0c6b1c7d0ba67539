"""A 10,000-recipient mailing survives SIGKILL of the service mid-way: after a restart
every recipient has received exactly one message, counted per delivery (not per distinct
Message-ID). Also pause, resume and cancel."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import grpc
import pytest
from aiosmtpd.controller import Controller
from crm.notifications.v1 import notifications_pb2 as pb
from crm.notifications.v1 import notifications_pb2_grpc as pb_grpc

from crm_platform.testing import PG_PORT, Databases, Services, auth, db_url, free_port

from .conftest import Mailbox, SmsGateway, service_env
from .helpers import campaign_finished

pytestmark = pytest.mark.flow
RECIPIENTS = 10_000
SMTP_CONNECTIONS = 4
SENDER_BATCH = 50


@pytest.fixture
def crash_mailbox() -> Any:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port  # type: ignore[attr-defined]
    yield box
    controller.stop()


async def load_partners(dsn: str, segment: str, count: int, domain: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "partner_copy",
            columns=[
                "id",
                "name",
                "segment",
                "region",
                "manager_id",
                "tags",
                "abc",
                "xyz",
                "email",
                "phone",
                "language",
                "version",
                "updated_at",
            ],
            records=[
                (
                    uuid.uuid4(),
                    f"ФОП Клієнт {i:05d}",
                    segment,
                    "Київська область",
                    "olena",
                    [],
                    "B",
                    "X",
                    f"client{i:05d}@{domain}",
                    "",
                    "uk",
                    1,
                    datetime.now(UTC),
                )
                for i in range(count)
            ],
        )
    finally:
        await connection.close()


@pytest.fixture
async def crash_service(
    services: Services, databases: Databases, crash_mailbox: Mailbox, sms_gateway: SmsGateway
) -> tuple[dict[str, str], str]:
    database = await databases.ensure(f"notifications_crash_{uuid.uuid4().hex[:4]}")
    http_port = free_port()
    env = service_env(
        crash_mailbox,
        sms_gateway,
        http_port,
        CRM_DATABASE_URL=db_url(database),
        CRM_KAFKA_GROUP_ID=f"notifications-crash-{uuid.uuid4().hex[:6]}",
        CRM_NOTIFY_SMTP_CONNECTIONS=str(SMTP_CONNECTIONS),
        CRM_NOTIFY_SENDER_BATCH=str(SENDER_BATCH),
    )
    return env, f"postgresql://crm:crm@127.0.0.1:{PG_PORT}/{database}"


@pytest.mark.timeout(900)
async def test_sigkill_mid_campaign_then_restart_gives_every_recipient_one_message(
    services: Services, crash_service: tuple[dict[str, str], str], crash_mailbox: Mailbox
) -> None:
    env, dsn = crash_service
    first = await services.start("notifications", instance="-crash-1", env=env)
    await load_partners(dsn, "Розсилка 10k", RECIPIENTS, "mass.example.ua")
    await load_partners(dsn, "Скасована", 2000, "cancel.example.ua")
    mass = crash_mailbox

    def received() -> int:
        return sum(mass.count_to(lambda r: r.endswith("@mass.example.ua")).values())

    async with grpc.aio.insecure_channel(first.address) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        campaign = await stub.CreateCampaign(
            pb.CreateCampaignRequest(
                request_id=str(uuid.uuid4()),
                name="Зимова розсилка",
                channel=pb.CHANNEL_EMAIL,
                template_code="letter",
                selection=pb.Selection(segments=["Розсилка 10k"]),
                variables={
                    "subject": "Зимові знижки до −15%",
                    "text": "Пропонуємо зимові знижки на засоби захисту рослин.",
                },
            ),
            metadata=auth("manager"),
        )
        assert campaign.progress.total == RECIPIENTS

        await mass.wait_for(lambda _: received() >= 1000, timeout=120)
        paused = await stub.PauseCampaign(pb.CampaignActionRequest(id=campaign.id), metadata=auth("manager"))
        assert paused.status == pb.CAMPAIGN_STATUS_PAUSED
        await asyncio.sleep(1.0)  # what was in flight lands
        during_pause = received()
        await asyncio.sleep(1.5)
        assert received() == during_pause  # paused: nothing more goes out
        progress = await stub.GetCampaign(pb.GetCampaignRequest(id=campaign.id), metadata=auth("manager"))
        assert 0 < progress.progress.sent < RECIPIENTS
        await stub.ResumeCampaign(pb.CampaignActionRequest(id=campaign.id), metadata=auth("manager"))

        cancelled_one = await stub.CreateCampaign(
            pb.CreateCampaignRequest(
                request_id=str(uuid.uuid4()),
                name="Помилкова розсилка",
                channel=pb.CHANNEL_EMAIL,
                template_code="letter",
                selection=pb.Selection(segments=["Скасована"]),
                variables={"subject": "Помилка", "text": "Цей лист не мав піти."},
            ),
            metadata=auth("manager"),
        )
        cancelled = await stub.CancelCampaign(pb.CampaignActionRequest(id=cancelled_one.id), metadata=auth("manager"))
        assert cancelled.status == pb.CAMPAIGN_STATUS_CANCELLED
        assert cancelled.progress.cancelled > 1000

        await mass.wait_for(lambda _: received() >= 4000, timeout=120)
    first.kill()  # SIGKILL: no graceful shutdown, rows left mid-attempt
    at_kill = received()
    assert at_kill < RECIPIENTS

    second = await services.start("notifications", instance="-crash-2", env=env)
    async with grpc.aio.insecure_channel(second.address) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        done = await campaign_finished(stub, campaign.id, timeout=180)
        assert done.progress.sent == RECIPIENTS
        after_cancel = await stub.GetCampaign(pb.GetCampaignRequest(id=cancelled_one.id), metadata=auth("manager"))
    assert after_cancel.status == pb.CAMPAIGN_STATUS_CANCELLED

    per_recipient = mass.count_to(lambda r: r.endswith("@mass.example.ua"))
    assert len(per_recipient) == RECIPIENTS
    repeated = {r: n for r, n in per_recipient.items() if n != 1}
    assert repeated == {}  # exactly one delivery each: nothing lost, nothing sent twice
    print(f"\n10,000-recipient crash test: {at_kill} delivered before SIGKILL, each recipient exactly once")
    cancelled_mail = sum(mass.count_to(lambda r: r.endswith("@cancel.example.ua")).values())
    assert cancelled_mail == cancelled.progress.sent + cancelled.progress.sending
