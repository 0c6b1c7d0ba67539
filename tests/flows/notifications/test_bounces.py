"""Bounces reported later by e-mail: a mailing goes out with a signed VERP return path per
message, a real DSN (RFC 3464) comes back to the service's inbound SMTP port, the ledger
shows the message bounced with the diagnostic, and the next mailing skips the address.
Forged, unknown and non-DSN mail is refused with 550 and the listener carries on."""

from __future__ import annotations

import json
import uuid
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import aiosmtplib
import grpc
import pytest
from aiokafka import AIOKafkaProducer
from crm.notifications.v1 import notifications_pb2 as pb
from crm.notifications.v1 import notifications_pb2_grpc as pb_grpc

from crm_platform.testing import KafkaProbe, auth, header
from notifications.domain import sign_bounce
from notifications.settings import NotifySettings

from .conftest import Mailbox, Notifications, register_partner
from .helpers import campaign_finished, eventually, until_known

pytestmark = pytest.mark.flow


def dsn(return_path: str, recipient: str, action: str, status: str, diagnostic: str) -> MIMEMultipart:
    """What a receiving MTA (here as Postfix writes it) sends back to the envelope sender."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.ukr.net>"
    report["To"] = return_path
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.attach(MIMEText(f"Лист для <{recipient}> не доставлено.", "plain", "utf-8"))
    status_part = MIMEBase("message", "delivery-status")
    per_message, per_recipient = Message(), Message()
    per_message["Reporting-MTA"] = "dns; mx.ukr.net"
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    per_recipient["Diagnostic-Code"] = f"smtp; {diagnostic}"
    status_part.set_payload([per_message, per_recipient])
    report.attach(status_part)
    return report


async def deliver(port: int, return_path: str, mail: Message) -> aiosmtplib.SMTPResponse:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
        await client.mail("")  # DSNs travel with a null reverse-path
        await client.rcpt(return_path)
        return await client.data(mail.as_bytes())


async def test_a_hard_bounce_marks_the_message_bounced_and_the_next_mailing_skips_the_address(
    notifications: Notifications, mailbox: Mailbox, kafka_producer: AIOKafkaProducer
) -> None:
    run = uuid.uuid4().hex[:6]
    segment = f"Бджолярі {run}"
    gone = f"vasyl.{run}@ukr.net"
    alive = f"maria.{run}@bee-poltava.com.ua"
    async with grpc.aio.insecure_channel(notifications.address) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        for name, address in (("ФОП Василь Пасічник", gone), ("ТОВ «Полтавська пасіка»", alive)):
            await until_known(stub, await register_partner(kafka_producer, name=name, segment=segment, email=address))

        def mailing(request_id: str) -> pb.CreateCampaignRequest:
            return pb.CreateCampaignRequest(
                request_id=request_id,
                name="Вулики та рамки",
                channel=pb.CHANNEL_EMAIL,
                template_code="letter",
                selection=pb.Selection(segments=[segment]),
                variables={"subject": "Нові вулики", "text": "Пропонуємо вулики з липи."},
            )

        first = await stub.CreateCampaign(mailing(f"bees-{run}"), metadata=auth("manager"))
        assert (await campaign_finished(stub, first.id)).progress.sent == 2
        [mail] = mailbox.to(gone)
        return_path = mail.mail_from
        assert return_path.startswith("bounce+")
        assert return_path.endswith("@agrocentr.ua")
        assert return_path != mailbox.to(alive)[0].mail_from  # one return path per message
        listed = await stub.ListCampaignMessages(
            pb.ListCampaignMessagesRequest(campaign_id=first.id), metadata=auth("manager")
        )
        [message_id] = [m.id for m in listed.messages if m.recipient == gone]

        port = notifications.bounce_port
        signature = return_path.partition("@")[0].rpartition("-")[2]
        forged = f"bounce+{uuid.uuid4().hex}-{signature}@agrocentr.ua"  # this message's signature, another id
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await deliver(port, forged, dsn(forged, gone, "failed", "5.1.1", "550 5.1.1 User unknown"))
        assert refused.value.code == 550
        secret = NotifySettings().unsubscribe_secret.get_secret_value().encode()
        unknown = f"{sign_bounce(uuid.uuid4(), secret)}@agrocentr.ua"  # signed, but no such message
        with pytest.raises(aiosmtplib.SMTPDataError) as unknown_refused:
            await deliver(port, unknown, dsn(unknown, gone, "failed", "5.1.1", "550 5.1.1 User unknown"))
        assert unknown_refused.value.code == 550
        autoreply = MIMEText("Я у відпустці до 15 серпня.", "plain", "utf-8")
        with pytest.raises(aiosmtplib.SMTPDataError) as not_dsn:
            await deliver(port, return_path, autoreply)
        assert not_dsn.value.code == 550

        delayed = await deliver(port, return_path, dsn(return_path, gone, "delayed", "4.4.1", "451 4.4.1 No answer"))
        assert delayed.code == 250
        got = await stub.GetMessage(pb.GetMessageRequest(id=message_id), metadata=auth("manager"))
        assert got.status == pb.MESSAGE_STATUS_SENT  # a delay is not a bounce

        async with KafkaProbe("crm.notifications.message.v1") as probe:
            hard = dsn(return_path, gone, "failed", "5.1.1", "550 5.1.1 <" + gone + ">: Recipient address rejected")
            assert (await deliver(port, return_path, hard)).code == 250
            failed = await probe.wait_for(
                lambda r: (
                    header(r, "ce_type") == "crm.notifications.message.failed"
                    and json.loads(r.value)["message_id"] == message_id
                )
            )
            opted = await probe.wait_for(
                lambda r: (
                    header(r, "ce_type") == "crm.notifications.recipient.opted_out"
                    and json.loads(r.value)["recipient"] == gone
                )
            )
        assert json.loads(failed.value)["status"] == "bounced"
        assert json.loads(opted.value)["reason"] == "hard_bounce"
        bounced = await eventually(
            lambda: stub.GetMessage(pb.GetMessageRequest(id=message_id), metadata=auth("manager")),
            lambda m: m.status == pb.MESSAGE_STATUS_BOUNCED,
        )
        assert bounced.last_error.startswith("5.1.1 smtp; 550 5.1.1")

        second = await stub.CreateCampaign(mailing(f"bees-2-{run}"), metadata=auth("manager"))
        done = await campaign_finished(stub, second.id)
        assert (done.progress.sent, done.progress.suppressed) == (1, 1)
    assert len(mailbox.to(gone)) == 1  # the bounced address got nothing more
    assert len(mailbox.to(alive)) == 2
