"""Reminders and alerts from other services' events reach the right user, once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from aiokafka import AIOKafkaProducer
from crm.notifications.v1 import notifications_pb2 as pb
from crm.notifications.v1 import notifications_pb2_grpc as pb_grpc

from crm_platform.testing import auth

from .conftest import Mailbox, Notifications, SmsGateway, publish

pytestmark = pytest.mark.flow


async def test_each_event_alerts_its_user_once(
    notifications: Notifications, mailbox: Mailbox, sms_gateway: SmsGateway, kafka_producer: AIOKafkaProducer
) -> None:
    run = uuid.uuid4().hex[:6]
    olena, ivan = f"olena.{run}", f"ivan.{run}"
    olena_mail = f"olena.kovalenko.{run}@agrocentr.ua"
    ivan_phone = "+38050" + str(uuid.uuid4().int)[:7]
    async with grpc.aio.insecure_channel(notifications.address) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        await stub.SaveUser(
            pb.SaveUserRequest(user=pb.User(user_id=olena, full_name="Олена Коваленко", email=olena_mail)),
            metadata=auth("ops"),
        )
        saved = await stub.SaveUser(
            pb.SaveUserRequest(
                user=pb.User(
                    user_id=ivan, full_name="Иван Петров", phone="050 " + ivan_phone[6:], language=pb.LANGUAGE_RU
                )
            ),
            metadata=auth("ops"),
        )
        assert (saved.phone, saved.channel) == (ivan_phone, pb.CHANNEL_SMS)

    task_id = str(uuid.uuid4())
    task_event = {
        "task_id": task_id,
        "request_id": None,
        "title": "Підготувати договір поставки для ТОВ «Зоря Агро»",
        "author_id": "head.1",
        "performer_id": olena,
        "checker_id": "",
        "deadline": (datetime(2026, 11, 25, 15, 0, tzinfo=UTC)).isoformat(),
        "subject": None,
    }
    event_id = await publish(
        kafka_producer, "crm.interactions.task.v1", "crm.interactions.task.assigned", task_id, task_event
    )
    # The same event delivered again (a relay's retry) changes nothing.
    await publish(
        kafka_producer,
        "crm.interactions.task.v1",
        "crm.interactions.task.assigned",
        task_id,
        task_event,
        event_id=event_id,
    )
    claim_id = str(uuid.uuid4())
    await publish(
        kafka_producer,
        "crm.claims.claim.v1",
        "crm.claims.claim.registered",
        claim_id,
        {
            "claim_id": claim_id,
            "number": "РК-000187",
            "partner_id": str(uuid.uuid4()),
            "responsible_id": ivan,
            "manager_id": olena,
            "department": "Якість",
            "reasons": ["Недовкладення", "Пошкоджена упаковка"],
            "registered_by": "client",
            "registered_at": datetime.now(UTC).isoformat(),
        },
    )
    await publish(
        kafka_producer,
        "crm.interactions.task.v1",
        "crm.interactions.reminder.due",
        "rem-1",
        {
            "reminder_id": f"rem-{run}",
            "user_id": olena,
            "title": "Подзвонити головному агроному",
            "text": "Уточнити обсяги на весну",
            "due_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
            "subject": None,
        },
    )

    mails = await mailbox.wait_for(lambda ms: sum(1 for m in ms if olena_mail in m.rcpt) >= 2, timeout=60)
    subjects = sorted(m.mail["Subject"] for m in mails if olena_mail in m.rcpt)
    assert subjects == [
        "Нагадування: Подзвонити головному агроному",
        "Нове завдання: Підготувати договір поставки для ТОВ «Зоря Агро»",
    ]
    for _ in range(50):
        if any(c["to"] == ivan_phone for c in sms_gateway.calls):
            break
        await asyncio.sleep(0.2)
    [sms] = [c for c in sms_gateway.calls if c["to"] == ivan_phone]
    assert sms["text"].startswith("Зарегистрирована рекламация № РК-000187")
    assert "Недовкладення, Пошкоджена упаковка" in sms["text"]
    await asyncio.sleep(1.0)
    assert len(mailbox.to(olena_mail)) == 2  # the repeated task event sent nothing more
