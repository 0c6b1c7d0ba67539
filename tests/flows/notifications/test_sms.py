"""SMS through an HTTP gateway that fails twice before accepting: one SMS, delivered."""

from __future__ import annotations

import json
import uuid

import grpc
import httpx
import pytest
from crm.notifications.v1 import notifications_pb2 as pb
from crm.notifications.v1 import notifications_pb2_grpc as pb_grpc

from crm_platform.testing import KafkaProbe, auth, header

from .conftest import WEBHOOK_TOKEN, Notifications, SmsGateway
from .helpers import eventually

pytestmark = pytest.mark.flow


async def test_a_gateway_failing_twice_then_accepting_gives_one_delivered_sms(
    notifications: Notifications, sms_gateway: SmsGateway
) -> None:
    phone = "+38067" + str(uuid.uuid4().int)[:7]
    sms_gateway.fail_first[phone] = 2
    request = pb.SendMessageRequest(
        request_id=f"sms-{uuid.uuid4()}",
        channel=pb.CHANNEL_SMS,
        recipient=phone,
        template_code="sms",
        language=pb.LANGUAGE_UK,
        variables={"text": "Ваше замовлення № 1842 відвантажено. Дякуємо!", "partner_name": "ТОВ «Зоря»"},
    )
    async with (
        grpc.aio.insecure_channel(notifications.address) as channel,
        KafkaProbe("crm.notifications.message.v1") as probe,
    ):
        stub = pb_grpc.NotificationsServiceStub(channel)
        queued = await stub.SendMessage(request, metadata=auth("manager"))
        assert queued.recipient == phone
        again = await stub.SendMessage(request, metadata=auth("manager"))
        assert again.id == queued.id  # the same request_id queues nothing new

        delivered = await eventually(
            lambda: stub.GetMessage(pb.GetMessageRequest(id=queued.id), metadata=auth("manager")),
            lambda m: m.status == pb.MESSAGE_STATUS_DELIVERED,
            timeout=30,
        )
        event = await probe.wait_for(
            lambda r: (
                header(r, "ce_type") == "crm.notifications.message.delivered"
                and json.loads(r.value)["message_id"] == queued.id
            )
        )
        assert json.loads(event.value)["channel"] == "sms"

    assert delivered.attempts == 3
    assert delivered.provider_message_id == sms_gateway.accepted[queued.id]
    calls = [c for c in sms_gateway.calls if c["to"] == phone]
    assert len(calls) == 3
    assert {c["key"] for c in calls} == {queued.id}  # every retry carried the same idempotency key
    assert calls[-1]["text"] == "Ваше замовлення № 1842 відвантажено. Дякуємо!"
    assert sum(1 for key in sms_gateway.accepted if key == queued.id) == 1


async def test_sms_preview_shows_length_and_segments(notifications: Notifications) -> None:
    async with grpc.aio.insecure_channel(notifications.address) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        cyrillic = await stub.PreviewMessage(
            pb.PreviewMessageRequest(
                template_code="debt_sms",
                language=pb.LANGUAGE_UK,
                variables={
                    "partner_name": "ТОВ «Зоря Агро»",
                    "overdue": "12500.00 UAH",
                    "overdue_days": "5",
                    "invoices": "2",
                },
            ),
            metadata=auth("manager"),
        )
        latin = await stub.PreviewMessage(
            pb.PreviewMessageRequest(
                template_code="sms",
                language=pb.LANGUAGE_EN,
                variables={"text": "Order 1842 shipped.", "partner_name": "x"},
            ),
            metadata=auth("manager"),
        )
    assert "прострочено 5 днів" in cyrillic.body
    assert (cyrillic.sms.encoding, cyrillic.sms.length, cyrillic.sms.segments) == ("UCS-2", len(cyrillic.body), 1)
    assert (latin.sms.encoding, latin.sms.length, latin.sms.segments) == ("GSM-7", 19, 1)


async def test_delivery_reports_need_the_gateways_token_and_a_known_message(notifications: Notifications) -> None:
    url = notifications.http + "/webhooks/sms/delivery"
    async with httpx.AsyncClient() as client:
        forged = await client.post(
            url, json={"message_id": "gw-1", "status": "delivered"}, headers={"authorization": "Bearer guess"}
        )
        unknown = await client.post(
            url,
            json={"message_id": "gw-nobody", "status": "delivered"},
            headers={"authorization": f"Bearer {WEBHOOK_TOKEN}"},
        )
        garbled = await client.post(url, content=b"not json", headers={"authorization": f"Bearer {WEBHOOK_TOKEN}"})
    assert (forged.status_code, unknown.status_code, garbled.status_code) == (401, 404, 400)
