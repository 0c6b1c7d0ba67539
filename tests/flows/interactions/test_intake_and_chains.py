"""Interactions in chains on subjects learnt from other services' events; intake of calls and
e-mails, with unknown callers becoming one lead in partners (real partners process)."""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage

import grpc
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from crm.interactions.v1 import interactions_pb2 as pb
from crm.interactions.v1 import interactions_pb2_grpc as pb_grpc
from crm.partners.v1 import partners_pb2 as ppb
from crm.partners.v1 import partners_pb2_grpc as ppb_grpc

from crm_platform.events import DomainEvent, Envelope
from crm_platform.grpc_errors import field_violations
from crm_platform.localrun import ServiceProcess
from crm_platform.testing import KafkaProbe, auth
from interactions.events import DealOpened, PartnerMerged

from .conftest import as_user

pytestmark = pytest.mark.flow
SECRET = {"x-telephony-secret": "dev-only-telephony-secret"}


async def publish(producer: AIOKafkaProducer, event: DomainEvent, source: str) -> None:
    envelope = Envelope.wrap(event, source=source)
    headers = [(k, v.encode()) for k, v in envelope.headers().items()]
    await producer.send_and_wait(event.TOPIC, envelope.data, key=envelope.subject.encode(), headers=headers)


async def register_when_known(
    api: pb_grpc.InteractionsServiceStub, request: pb.RegisterInteractionRequest, timeout: float = 30.0
) -> pb.Interaction:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await api.RegisterInteraction(request, metadata=as_user("olena.kovalenko"))
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.3)


async def register_partner(partners: ServiceProcess, name: str, phone: str) -> str:
    async with grpc.aio.insecure_channel(partners.address) as channel:
        reply = await ppb_grpc.PartnersServiceStub(channel).RegisterPartner(
            ppb.RegisterPartnerRequest(
                request_id=str(uuid.uuid4()),
                partner=ppb.PartnerDraft(
                    name=name,
                    roles=[ppb.PARTNER_ROLE_CLIENT],
                    manager_id="olena.kovalenko",
                    contacts=[ppb.ContactInfo(kind=ppb.CONTACT_KIND_PHONE, value=phone)],
                ),
            ),
            metadata=auth("manager"),
        )
    return reply.partner.id


def random_phone() -> str:
    return f"+38067{uuid.uuid4().int % 10_000_000:07d}"


async def test_interactions_on_a_deal_form_a_chain_with_the_deals_title(
    interactions: ServiceProcess, api: pb_grpc.InteractionsServiceStub, kafka_producer: AIOKafkaProducer
) -> None:
    deal_id = uuid.uuid4()
    subject = pb.Subject(service="deals", type="deal", id=str(deal_id))
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await api.RegisterInteraction(
            pb.RegisterInteractionRequest(kind=pb.INTERACTION_KIND_MEETING, title="Зустріч", subject=subject),
            metadata=auth(),
        )
    assert unknown.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "unknown subject" in (unknown.value.details() or "")

    await publish(
        kafka_producer,
        DealOpened(deal_id=deal_id, title="Поставка добрив на весну 2027", partner_id=uuid.uuid4()),
        "crm/deals",
    )
    call = await register_when_known(
        api,
        pb.RegisterInteractionRequest(
            request_id=str(uuid.uuid4()),
            kind=pb.INTERACTION_KIND_OUTGOING_CALL,
            title="Уточнення обсягів",
            subject=subject,
            participants=[pb.Participant(name="Сергій Бондаренко", phone="050 111 22 33")],
        ),
    )
    meeting = await api.RegisterInteraction(
        pb.RegisterInteractionRequest(
            kind=pb.INTERACTION_KIND_MEETING,
            title="Презентація умов",
            subject=subject,
            occurred_at=call.occurred_at.__class__(seconds=call.occurred_at.seconds - 3600),
        ),
        metadata=as_user("olena.kovalenko"),
    )
    chain = await api.GetChain(pb.GetChainRequest(subject=subject), metadata=auth())
    assert chain.subject_title == "Поставка добрив на весну 2027"
    assert [i.id for i in chain.interactions] == [meeting.id, call.id]
    assert call.participants[0].phone == "+380501112233"
    assert call.participants[0].resolution == pb.RESOLUTION_UNRESOLVED
    by_id = await api.GetChain(pb.GetChainRequest(chain_id=call.chain_id), metadata=auth())
    assert len(by_id.interactions) == 2


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.RegisterInteractionRequest(title="Дзвінок"), "kind"),
        (pb.RegisterInteractionRequest(kind=pb.INTERACTION_KIND_SMS, title=" "), "title"),
        (
            pb.RegisterInteractionRequest(
                kind=pb.INTERACTION_KIND_SMS, title="SMS", subject=pb.Subject(service="deals", type="lead", id="x")
            ),
            "subject.type",
        ),
        (
            pb.RegisterInteractionRequest(
                kind=pb.INTERACTION_KIND_SMS, title="SMS", participants=[pb.Participant(phone="12-34")]
            ),
            "participants[0].phone",
        ),
        (
            pb.RegisterInteractionRequest(kind=pb.INTERACTION_KIND_SMS, title="SMS", participants=[pb.Participant()]),
            "participants[0]",
        ),
    ],
)
async def test_bad_interactions_are_invalid_argument(
    api: pb_grpc.InteractionsServiceStub, request_: pb.RegisterInteractionRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.RegisterInteraction(request_, metadata=auth())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


async def test_participants_resolve_through_partners_and_follow_a_merge(
    partners: ServiceProcess, api: pb_grpc.InteractionsServiceStub, kafka_producer: AIOKafkaProducer
) -> None:
    phone = random_phone()
    merged = await register_partner(partners, f"ФОП Ткаченко {uuid.uuid4().hex[:4]}", phone)
    survivor = await register_partner(partners, f"ТОВ «Ткаченко і партнери» {uuid.uuid4().hex[:4]}", random_phone())
    await register_when_known(  # the survivor is known too before the merge is sent
        api,
        pb.RegisterInteractionRequest(
            kind=pb.INTERACTION_KIND_OTHER,
            title="Картка",
            subject=pb.Subject(service="partners", type="partner", id=survivor),
        ),
    )
    row = await register_when_known(
        api,
        pb.RegisterInteractionRequest(
            kind=pb.INTERACTION_KIND_INCOMING_CALL,
            title="Питання щодо рахунку",
            subject=pb.Subject(service="partners", type="partner", id=merged),
            participants=[pb.Participant(name="Ткаченко Василь", phone=phone)],
        ),
    )
    assert row.participants[0].partner_id == merged
    assert row.participants[0].resolution == pb.RESOLUTION_AUTOMATIC
    await publish(
        kafka_producer,
        PartnerMerged(partner_id=uuid.UUID(survivor), merged_ids=[uuid.UUID(merged)], version=10),
        "crm/partners",
    )
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        moved = await api.GetInteraction(pb.GetInteractionRequest(id=row.id), metadata=auth())
        if moved.participants[0].partner_id == survivor or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.3)
    assert moved.participants[0].partner_id == survivor
    assert moved.subject.id == survivor
    assert moved.partner_id == survivor

    manual = await api.RegisterInteraction(
        pb.RegisterInteractionRequest(
            kind=pb.INTERACTION_KIND_MEETING, title="Виставка", participants=[pb.Participant(name="Невідомий гість")]
        ),
        metadata=auth(),
    )
    resolved = await api.ResolveParticipant(
        pb.ResolveParticipantRequest(interaction_id=manual.id, participant_index=0, partner_id=survivor),
        metadata=auth(),
    )
    assert resolved.participants[0].resolution == pb.RESOLUTION_MANUAL
    with pytest.raises(grpc.aio.AioRpcError) as out_of_range:
        await api.ResolveParticipant(
            pb.ResolveParticipantRequest(interaction_id=manual.id, participant_index=3, partner_id=survivor),
            metadata=auth(),
        )
    assert field_violations(out_of_range.value) == {"participant_index": "the interaction has 1 participant(s)"}


async def test_a_call_from_an_unknown_number_makes_one_lead_however_often_resent(
    interactions: ServiceProcess, partners: ServiceProcess, api: pb_grpc.InteractionsServiceStub
) -> None:
    phone = random_phone()
    payload = {"call_id": f"ats-{uuid.uuid4()}", "direction": "in", "phone": phone, "duration_seconds": 73}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{interactions.http_port}") as http:
        replies = await asyncio.gather(
            *(http.post("/webhooks/telephony", json=payload, headers=SECRET) for _ in range(5))
        )
        later = await http.post(
            "/webhooks/telephony", json={**payload, "call_id": f"ats-{uuid.uuid4()}"}, headers=SECRET
        )
        unauthorised = await http.post("/webhooks/telephony", json=payload)
        bad = await http.post("/webhooks/telephony", json={"call_id": "", "phone": "12"}, headers=SECRET)
    assert [r.status_code for r in replies] == [200] * 5
    assert len({r.json()["interaction_id"] for r in replies}) == 1
    lead = replies[0].json()["subject"]
    assert lead["type"] == "lead"
    assert later.json()["subject"] == lead
    assert later.json()["interaction_id"] != replies[0].json()["interaction_id"]
    assert unauthorised.status_code == 401
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"call_id", "phone"}

    async with grpc.aio.insecure_channel(partners.address) as channel:
        found = await ppb_grpc.PartnersServiceStub(channel).ResolveContact(
            ppb.ResolveContactRequest(phone=phone), metadata=auth("service")
        )
    assert [lead_.lead_id for lead_ in found.leads] == [lead["id"]]
    call = await api.GetInteraction(pb.GetInteractionRequest(id=replies[0].json()["interaction_id"]), metadata=auth())
    assert call.kind == pb.INTERACTION_KIND_INCOMING_CALL
    assert call.subject_title.startswith("Лід")


def mail(message_id: str, sender: str, subject: str, references: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "zbut@agro-trade.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Tue, 24 Nov 2026 09:30:00 +0200"
    if references:
        msg["In-Reply-To"] = references.split()[-1]
        msg["References"] = references
    msg.set_content("Добрий день!\nПрошу надіслати комерційну пропозицію на 20 т аміачної селітри.")
    return bytes(msg)


async def test_an_email_reply_lands_in_the_chain_of_the_message_it_answers(
    interactions: ServiceProcess, api: pb_grpc.InteractionsServiceStub
) -> None:
    tag = uuid.uuid4().hex[:8]
    sender = f"Галина Мельник <h.melnyk.{tag}@fermer.com.ua>"
    first = await api.IngestEmail(
        pb.IngestEmailRequest(raw_message=mail(f"<q{tag}@fermer.com.ua>", sender, "Запит ціни")), metadata=auth()
    )
    again = await api.IngestEmail(
        pb.IngestEmailRequest(raw_message=mail(f"<q{tag}@fermer.com.ua>", sender, "Запит ціни")), metadata=auth()
    )
    reply = await api.IngestEmail(
        pb.IngestEmailRequest(
            raw_message=mail(
                f"<r{tag}@fermer.com.ua>", sender, "Re: Запит ціни", f"<q{tag}@fermer.com.ua> <a{tag}@crm>"
            )
        ),
        metadata=auth(),
    )
    assert again.id == first.id
    assert reply.chain_id == first.chain_id
    assert first.subject.type == "lead"
    assert first.participants[0].email == f"h.melnyk.{tag}@fermer.com.ua"
    chain = await api.GetChain(pb.GetChainRequest(chain_id=first.chain_id), metadata=auth())
    assert [i.id for i in chain.interactions] == [first.id, reply.id]
    assert "селітри" in chain.interactions[0].description
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{interactions.http_port}") as http:
        gateway = await http.post(
            "/webhooks/email?responsible=olena.kovalenko",
            content=mail(f"<s{tag}@fermer.com.ua>", sender, "Re: Запит ціни", f"<r{tag}@fermer.com.ua>"),
            headers={"x-mail-secret": "dev-only-mail-secret", "content-type": "message/rfc822"},
        )
        refused = await http.post("/webhooks/email", content=b"hello", headers={"x-mail-secret": "wrong"})
        broken = await http.post("/webhooks/email", content=b"hello", headers={"x-mail-secret": "dev-only-mail-secret"})
    assert gateway.status_code == 200
    assert gateway.json()["chain_id"] == first.chain_id
    assert refused.status_code == 401
    assert broken.status_code == 400
    assert "raw_message" in broken.json()["fields"]
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await api.IngestEmail(pb.IngestEmailRequest(raw_message=b"Subject: no ids\n\nhello"), metadata=auth())
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "raw_message" in field_violations(bad.value)


async def test_unprocessed_lists_counts_and_processing(api: pb_grpc.InteractionsServiceStub) -> None:
    user = f"ivan.{uuid.uuid4().hex[:6]}"
    ids = []
    for title in ("Передзвонити щодо знижки", "Надіслати договір", "Уточнити адресу доставки"):
        row = await api.RegisterInteraction(
            pb.RegisterInteractionRequest(kind=pb.INTERACTION_KIND_PLANNED, title=title, responsible_id=user),
            metadata=auth(),
        )
        ids.append(row.id)
    first_page = await api.ListUnprocessed(_page_request(user, 2), metadata=auth())
    second_page = await api.ListUnprocessed(_page_request(user, 2, first_page.page.next_page_token), metadata=auth())
    assert [i.id for i in first_page.interactions] + [i.id for i in second_page.interactions] == ids[::-1]
    assert second_page.page.next_page_token == ""
    async with KafkaProbe("crm.interactions.interaction.v1") as probe:
        await api.UpdateStatus(
            pb.UpdateStatusRequest(id=ids[0], status=pb.INTERACTION_STATUS_PROCESSED), metadata=auth()
        )
        processed = await probe.wait_for(
            lambda r: (
                r.key == ids[0].encode() and dict(r.headers)["ce_type"] != b"crm.interactions.interaction.registered"
            )
        )
    assert dict(processed.headers)["ce_type"] == b"crm.interactions.interaction.processed"
    later = await api.UpdateStatus(
        pb.UpdateStatusRequest(id=ids[1], postponed_until=_in_days(3), status=pb.INTERACTION_STATUS_IN_WORK),
        metadata=auth(),
    )
    assert later.status == pb.INTERACTION_STATUS_IN_WORK
    counts = await api.CountUnprocessed(pb.CountUnprocessedRequest(), metadata=auth())
    assert {c.responsible_id: c.count for c in counts.per_user}[user] == 1
    assert counts.total >= 1
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await api.UpdateStatus(pb.UpdateStatusRequest(id=ids[2], status=42), metadata=auth())
    assert "status" in field_violations(bad.value)
    with pytest.raises(grpc.aio.AioRpcError) as token:
        await api.ListUnprocessed(_page_request(user, 2, "garbage!"), metadata=auth())
    assert "page.page_token" in field_violations(token.value)


def _page_request(user: str, size: int, token: str = "") -> pb.ListUnprocessedRequest:
    from crm.common.v1 import common_pb2

    return pb.ListUnprocessedRequest(responsible_id=user, page=common_pb2.PageRequest(page_size=size, page_token=token))


def _in_days(days: int):
    from datetime import UTC, datetime, timedelta

    from google.protobuf.timestamp_pb2 import Timestamp

    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC) + timedelta(days=days))
    return stamp
