"""The debt notification wizard, fed by deals' invoice and payment events."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import grpc
import pytest
from aiokafka import AIOKafkaProducer
from crm.common.v1 import common_pb2
from crm.notifications.v1 import notifications_pb2 as pb
from crm.notifications.v1 import notifications_pb2_grpc as pb_grpc

from crm_platform.testing import auth

from .conftest import Mailbox, Notifications, publish, register_partner
from .helpers import campaign_finished, eventually, until_known

pytestmark = pytest.mark.flow
ORDERS = "crm.deals.order.v1"
TODAY = date(2026, 11, 23)


async def invoice(
    producer: AIOKafkaProducer, partner_id: str, amount: str, due: date, manager: str, region: str
) -> str:
    invoice_id = str(uuid.uuid4())
    await publish(
        producer,
        ORDERS,
        "crm.deals.invoice.issued",
        invoice_id,
        {
            "invoice_id": invoice_id,
            "order_id": str(uuid.uuid4()),
            "partner_id": partner_id,
            "manager_id": manager,
            "region": region,
            "amount": amount,
            "currency": "UAH",
            "issued_on": (due - timedelta(days=14)).isoformat(),
            "due_on": due.isoformat(),
        },
    )
    return invoice_id


async def payment(producer: AIOKafkaProducer, partner_id: str, amount: str, invoice_id: str | None) -> None:
    payment_id = str(uuid.uuid4())
    await publish(
        producer,
        ORDERS,
        "crm.deals.payment.received",
        payment_id,
        {
            "payment_id": payment_id,
            "order_id": str(uuid.uuid4()),
            "invoice_id": invoice_id,
            "partner_id": partner_id,
            "amount": amount,
            "currency": "UAH",
            "received_at": datetime.now(UTC).isoformat(),
        },
    )


async def test_debtors_are_selected_previewed_and_notified_once(
    notifications: Notifications, mailbox: Mailbox, kafka_producer: AIOKafkaProducer
) -> None:
    run = uuid.uuid4().hex[:6]
    manager = f"petro.shevchenko.{run}"
    region = "Вінницька область"
    zoria_mail, dnipro_mail = f"buh.{run}@zoria-agro.com.ua", f"finance.{run}@dnipro-trade.ua"
    zoria = await register_partner(
        kafka_producer, name="ТОВ «Зоря Агро»", segment="Дилери", email=zoria_mail, manager_id=manager, region=region
    )
    dnipro = await register_partner(
        kafka_producer, name="ПП «Дніпро Трейд»", segment="Дилери", email=dnipro_mail, manager_id=manager, region=region
    )
    paid_up = await register_partner(
        kafka_producer,
        name="ФОП Гончаренко",
        segment="Дилери",
        email=f"h.{run}@ukr.net",
        manager_id=manager,
        region=region,
    )

    # Зоря: two overdue invoices, one partly paid against it; 12 and 40 days late.
    first = await invoice(kafka_producer, zoria, "30000.00", TODAY - timedelta(days=40), manager, region)
    await invoice(kafka_producer, zoria, "12500.50", TODAY - timedelta(days=12), manager, region)
    await payment(kafka_producer, zoria, "10000.00", first)
    # Дніпро: 3 days late only, below the 10-day filter; and a not-yet-due invoice.
    await invoice(kafka_producer, dnipro, "8000.00", TODAY - timedelta(days=3), manager, region)
    await invoice(kafka_producer, dnipro, "99000.00", TODAY + timedelta(days=10), manager, region)
    # Гончаренко: overdue, but paid in full by a payment naming no invoice.
    await invoice(kafka_producer, paid_up, "5000.00", TODAY - timedelta(days=30), manager, region)
    await payment(kafka_producer, paid_up, "5000.00", None)

    flt = pb.DebtorFilter(
        min_overdue_days=10,
        min_amount=common_pb2.Money(amount="1000", currency="UAH"),
        manager_ids=[manager],
        as_of=TODAY.isoformat(),
    )
    async with grpc.aio.insecure_channel(notifications.address) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        for partner in (zoria, dnipro, paid_up):
            await until_known(stub, partner)

        def settled(preview: pb.PreviewDebtNoticesResponse) -> bool:
            return [d.overdue.amount for d in preview.debtors] == ["32500.50"]

        preview = await eventually(
            lambda: stub.PreviewDebtNotices(
                pb.PreviewDebtNoticesRequest(filter=flt, channel=pb.CHANNEL_EMAIL), metadata=auth("manager")
            ),
            settled,
        )
        [debtor] = preview.debtors
        assert (debtor.partner_id, debtor.partner_name, debtor.region) == (zoria, "ТОВ «Зоря Агро»", region)
        assert (debtor.overdue_days, debtor.invoices, debtor.recipient) == (40, 2, zoria_mail)
        assert "прострочено оплату на суму 32" in debtor.message.body
        assert "(до 40 днів)" in debtor.message.body
        assert "2 рахунками" in debtor.message.body

        sms = await stub.PreviewDebtNotices(
            pb.PreviewDebtNoticesRequest(filter=flt, channel=pb.CHANNEL_SMS), metadata=auth("manager")
        )
        assert sms.debtors[0].recipient == ""  # no phone on record: shown, and skipped when sending
        assert sms.debtors[0].message.sms.encoding == "UCS-2"

        request = pb.SendDebtNoticesRequest(request_id=f"debts-{run}", filter=flt, channel=pb.CHANNEL_EMAIL)
        campaign = await stub.SendDebtNotices(request, metadata=auth("manager"))
        again = await stub.SendDebtNotices(request, metadata=auth("manager"))
        assert again.id == campaign.id
        done = await campaign_finished(stub, campaign.id)
        assert done.progress.sent == 1
        sent = await stub.ListCampaignMessages(pb.ListCampaignMessagesRequest(campaign_id=campaign.id), metadata=auth())
        assert [(m.recipient, m.partner_id, m.status) for m in sent.messages] == [
            (zoria_mail, zoria, pb.MESSAGE_STATUS_SENT)
        ]

    [mail] = mailbox.to(zoria_mail)
    assert mail.mail["Subject"].startswith("Нагадування про заборгованість 32")
    assert Decimal(debtor.overdue.amount) == Decimal("32500.50")
    assert mailbox.to(dnipro_mail) == []
