"""A mass mailing into a real SMTP server: Cyrillic subjects and bodies arrive intact, in
each recipient's language, with one-click unsubscribe; an opted-out recipient gets nothing."""

from __future__ import annotations

import json
import uuid

import grpc
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from crm.notifications.v1 import notifications_pb2 as pb
from crm.notifications.v1 import notifications_pb2_grpc as pb_grpc

from crm_platform.testing import KafkaProbe, auth, header

from .conftest import Mailbox, Notifications, register_partner
from .helpers import campaign_finished, until_known

pytestmark = pytest.mark.flow


async def test_mailing_reaches_each_partner_in_their_language_and_respects_opt_out(
    notifications: Notifications, mailbox: Mailbox, kafka_producer: AIOKafkaProducer
) -> None:
    run = uuid.uuid4().hex[:6]
    segment = f"Оптові покупці {run}"
    olena = f"olena.{run}@zoria-agro.com.ua"
    ivan = f"ivan.{run}@dnipro-trade.ua"
    sergey = f"sergey.{run}@kharkiv-opt.ua"
    async with grpc.aio.insecure_channel(notifications.address) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        ids = [
            await register_partner(kafka_producer, name="ТОВ «Зоря Агро»", segment=segment, email=olena),
            await register_partner(kafka_producer, name="ПП «Дніпро Трейд»", segment=segment, email=ivan),
            await register_partner(kafka_producer, name="ООО «Харьков Опт»", segment=segment, email=sergey),
            await register_partner(kafka_producer, name="ФОП Без Пошти", segment=segment, phone="067 123 45 67"),
        ]
        for partner_id in ids[:2] + ids[3:]:
            await until_known(stub, partner_id, pb.LANGUAGE_UK)
        await until_known(stub, ids[2], pb.LANGUAGE_RU)

        async with KafkaProbe("crm.notifications.message.v1") as probe:
            campaign = await stub.CreateCampaign(
                pb.CreateCampaignRequest(
                    request_id=f"spring-{run}",
                    name="Весняна пропозиція",
                    channel=pb.CHANNEL_EMAIL,
                    template_code="proposal",
                    selection=pb.Selection(segments=[segment]),
                    variables={
                        "title": "Насіння соняшнику «Ясон»",
                        "amount": "184500.00 UAH",
                        "valid_until": "2027-03-31",
                        "manager_name": "Олена Коваленко",
                    },
                ),
                metadata=auth("manager"),
            )
            assert campaign.progress.total == 3  # the partner without an e-mail is not a recipient
            done = await campaign_finished(stub, campaign.id)
            assert done.progress.sent == 3
            sent = await probe.wait_for(
                lambda r: (
                    header(r, "ce_type") == "crm.notifications.message.sent"
                    and json.loads(r.value)["recipient"] == olena
                )
            )
            assert json.loads(sent.value)["campaign_id"] == campaign.id

        [mail] = mailbox.to(olena)
        assert mail.mail["Subject"] == "Комерційна пропозиція: Насіння соняшнику «Ясон»"
        assert b"=?utf-8?" in mail.raw.split(b"\r\n\r\n")[0].lower()  # RFC 2047: headers stay 7-bit
        body = mail.mail.get_content()
        assert "Шановні ТОВ «Зоря Агро»!" in body
        assert "184\xa0500,00\xa0₴" in body or "184 500,00" in body.replace("\xa0", " ")
        assert "31 березня 2027" in body
        assert mail.mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe = mail.mail["List-Unsubscribe"].strip().strip("<>")
        assert unsubscribe.startswith(notifications.http + "/unsubscribe?t=")
        assert mail.mail["Message-ID"].endswith("@crm.example.ua>")

        [russian] = mailbox.to(sergey)
        assert russian.mail["Subject"] == "Коммерческое предложение: Насіння соняшнику «Ясон»"
        assert "Уважаемые ООО «Харьков Опт»!" in russian.mail.get_content()

        async with httpx.AsyncClient() as client, KafkaProbe("crm.notifications.message.v1") as probe:
            page = await client.get(unsubscribe)
            assert page.status_code == 200
            assert "<form" in page.text  # a GET (a link scanner) changes nothing
            forged = await client.post(unsubscribe[:-3] + "AAA", data={"List-Unsubscribe": "One-Click"})
            assert forged.status_code == 400
            answer = await client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
            assert answer.status_code == 200
            opted = await probe.wait_for(lambda r: header(r, "ce_type") == "crm.notifications.recipient.opted_out")
            assert json.loads(opted.value)["recipient"] == olena
            assert json.loads(opted.value)["partner_id"] == ids[0]

        summer = pb.CreateCampaignRequest(
            request_id=f"summer-{run}",
            name="Літня пропозиція",
            channel=pb.CHANNEL_EMAIL,
            template_code="letter",
            selection=pb.Selection(segments=[segment]),
            variables={"subject": "Літні знижки", "text": "Знижка 5% на добрива до 31 липня."},
        )
        again = await stub.CreateCampaign(summer, metadata=auth("manager"))
        done = await campaign_finished(stub, again.id)
        assert (done.progress.sent, done.progress.suppressed) == (2, 1)
        suppressed = await stub.ListCampaignMessages(
            pb.ListCampaignMessagesRequest(campaign_id=again.id, status=pb.MESSAGE_STATUS_SUPPRESSED),
            metadata=auth("manager"),
        )
        assert [m.recipient for m in suppressed.messages] == [olena]

        repeated = await stub.CreateCampaign(summer, metadata=auth("manager"))
        assert repeated.id == again.id  # the same request_id creates nothing new

    assert len(mailbox.to(olena)) == 1
    assert len(mailbox.to(ivan)) == 2
    assert mailbox.to(ivan)[1].mail["Subject"] == "Літні знижки"


async def test_a_cancelled_campaign_sends_nothing_more(
    notifications: Notifications, mailbox: Mailbox, kafka_producer: AIOKafkaProducer
) -> None:
    run = uuid.uuid4().hex[:6]
    region = f"Полтавська область {run}"
    async with grpc.aio.insecure_channel(notifications.address) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        partner = await register_partner(
            kafka_producer, name="СТОВ «Полтавське»", segment="Фермери", region=region, email=f"a.{run}@poltava.ua"
        )
        await until_known(stub, partner)
        campaign = await stub.CreateCampaign(
            pb.CreateCampaignRequest(
                request_id=f"c-{run}",
                name="Осінь",
                channel=pb.CHANNEL_EMAIL,
                template_code="letter",
                selection=pb.Selection(regions=[region]),
                variables={"subject": "Осінь", "text": "Текст"},
            ),
            metadata=auth("manager"),
        )
        paused = await stub.PauseCampaign(pb.CampaignActionRequest(id=campaign.id), metadata=auth("manager"))
        assert paused.status in (pb.CAMPAIGN_STATUS_PAUSED, pb.CAMPAIGN_STATUS_COMPLETED)
        if paused.status == pb.CAMPAIGN_STATUS_COMPLETED:
            pytest.fail("the campaign finished before it could be paused; the sender is faster than this test")
        cancelled = await stub.CancelCampaign(pb.CampaignActionRequest(id=campaign.id), metadata=auth("manager"))
        assert cancelled.status == pb.CAMPAIGN_STATUS_CANCELLED
        assert cancelled.progress.cancelled + cancelled.progress.sent + cancelled.progress.sending == 1
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ResumeCampaign(pb.CampaignActionRequest(id=campaign.id), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
