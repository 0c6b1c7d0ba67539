"""Classification from deals' order and payment events, over the real broker."""

from __future__ import annotations

import asyncio
import json
import random
import string
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from aiokafka import AIOKafkaProducer
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc

from crm_platform.grpc_errors import field_violations
from crm_platform.testing import KafkaProbe, auth, header

pytestmark = pytest.mark.flow

MANAGER = auth("manager")
TOPIC = "crm.deals.order.v1"


async def publish(
    producer: AIOKafkaProducer, event_type: str, data: dict[str, object], *, topic: str = TOPIC, key: str = "order_id"
) -> None:
    headers = {
        "ce_specversion": "1.0",
        "ce_id": str(uuid.uuid4()),
        "ce_source": "crm/deals" if topic == TOPIC else "crm/pricing",
        "ce_type": event_type,
        "ce_subject": str(data[key]),
        "ce_time": datetime.now(UTC).isoformat(),
        "content-type": "application/json",
    }
    await producer.send_and_wait(
        topic,
        json.dumps(data).encode(),
        key=str(data[key]).encode(),
        headers=[(k, v.encode()) for k, v in headers.items()],
    )


async def order(
    producer: AIOKafkaProducer, partner_id: str, amount: str, at: datetime, *, paid: bool, currency: str = "UAH"
) -> None:
    order_id = str(uuid.uuid4())
    placed = {
        "order_id": order_id,
        "deal_id": str(uuid.uuid4()),
        "partner_id": partner_id,
        "manager_id": "olena.kovalenko",
        "shop_id": None,
        "amount": amount,
        "currency": currency,
        "placed_at": at.isoformat(),
        "some_future_field": {"ignored": True},
    }
    await publish(producer, "crm.deals.order.placed", placed)
    if paid:
        payment = {
            "payment_id": str(uuid.uuid4()),
            "order_id": order_id,
            "invoice_id": None,
            "partner_id": partner_id,
            "amount": amount,
            "currency": currency,
            "received_at": (at + timedelta(days=3)).isoformat(),
        }
        await publish(producer, "crm.deals.payment.received", payment)


async def register(stub: pb_grpc.PartnersServiceStub, name: str) -> str:
    answer = await stub.RegisterPartner(
        pb.RegisterPartnerRequest(partner=pb.PartnerDraft(name=name), confirm_duplicates=True), metadata=MANAGER
    )
    return answer.partner.id


async def classified(
    stub: pb_grpc.PartnersServiceStub, partner_id: str, expected_abc: str, expected_xyz: str = "", timeout: float = 45.0
) -> pb.PartnerClass:
    """Runs classification until the partner's figures (arriving over Kafka, some of them
    possibly not yet) give the expected class, or the time is up."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await stub.ClassifyPartners(pb.ClassifyPartnersRequest(), metadata=auth("head"))
        answer = await stub.GetClassification(pb.GetClassificationRequest(partner_id=partner_id), metadata=MANAGER)
        wanted = answer.current.abc == expected_abc and answer.current.xyz == (expected_xyz or answer.current.xyz)
        if wanted or asyncio.get_running_loop().time() > deadline:
            return answer.current
        await asyncio.sleep(0.5)


async def test_regular_big_customer_is_a_steady_a_and_a_one_off_is_a_first_purchase(
    stub: pb_grpc.PartnersServiceStub, kafka_producer: AIOKafkaProducer
) -> None:
    now = datetime.now(UTC)
    big = await register(stub, f"ТОВ «Великий Опт {uuid.uuid4().hex[:4]}»")
    small = await register(stub, f"ФОП Малий {uuid.uuid4().hex[:4]}")
    for months_ago in range(6):  # one equal order in each of the last six calendar months
        year, month = divmod(now.year * 12 + now.month - 1 - months_ago, 12)
        at = now if months_ago == 0 else datetime(year, month + 1, 1, 12, tzinfo=UTC)
        await order(kafka_producer, big, "100000000.00", at, paid=True)
    await order(kafka_producer, small, "1200.00", now - timedelta(days=2), paid=False)

    # Orders may arrive one by one, so the big customer can first be published as C; the A must follow.
    async with KafkaProbe("crm.partners.partner.v1", from_beginning=True) as probe:
        small_class = await classified(stub, small, "C")
        big_class = await classified(stub, big, "A", "X")  # X once all six months have arrived
        record = await probe.wait_for(
            lambda r: (
                header(r, "ce_subject") == big
                and header(r, "ce_type") == "crm.partners.partner.classified"
                and json.loads(r.value or b"{}").get("abc") == "A"
            )
        )
    assert (big_class.abc, big_class.stage) == ("A", pb.RELATIONSHIP_STAGE_REGULAR)
    assert big_class.xyz == "X"
    assert (small_class.abc, small_class.xyz, small_class.stage) == ("C", "Z", pb.RELATIONSHIP_STAGE_FIRST_PURCHASE)
    assert json.loads(record.value or b"{}")["abc"] == "A"

    # A second order moves the small customer on, and the history keeps both.
    await order(kafka_producer, small, "800.00", now - timedelta(days=1), paid=False)
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        await stub.ClassifyPartners(pb.ClassifyPartnersRequest(), metadata=auth("ops"))
        answer = await stub.GetClassification(pb.GetClassificationRequest(partner_id=small), metadata=MANAGER)
        if answer.current.stage == pb.RELATIONSHIP_STAGE_REGULAR or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    assert [h.stage for h in answer.history] == [pb.RELATIONSHIP_STAGE_REGULAR, pb.RELATIONSHIP_STAGE_FIRST_PURCHASE]


async def test_classification_calls(stub: pb_grpc.PartnersServiceStub) -> None:
    prospect = await register(stub, f"ТОВ «Перспектива {uuid.uuid4().hex[:4]}»")
    answer = await stub.GetClassification(pb.GetClassificationRequest(partner_id=prospect), metadata=MANAGER)
    assert not answer.HasField("current")
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stub.GetClassification(pb.GetClassificationRequest(partner_id="x"), metadata=MANAGER)
    assert field_violations(bad.value) == {"partner_id": "must be a UUID"}
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stub.ClassifyPartners(pb.ClassifyPartnersRequest(), metadata=MANAGER)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_revenue_in_another_currency_is_compared_after_conversion_at_pricings_rate(
    stub: pb_grpc.PartnersServiceStub, kafka_producer: AIOKafkaProducer
) -> None:
    currency = "Q" + "".join(random.choices(string.ascii_uppercase + string.digits, k=2))  # fresh every run
    now = datetime.now(UTC)
    partner = await register(stub, f"Kowalski Trade {uuid.uuid4().hex[:4]} Sp. z o.o.")
    hryvnia_customer = await register(stub, f"ТОВ «Гривня Опт {uuid.uuid4().hex[:4]}»")
    await order(kafka_producer, hryvnia_customer, "1000000.00", now - timedelta(days=2), paid=True)
    await order(kafka_producer, partner, "1000.00", now - timedelta(days=1), paid=True, currency=currency)
    # With no rate it is compared only with revenue in its own currency: the whole of it, an A.
    alone = await classified(stub, partner, "A")
    assert alone.abc == "A"

    # pricing publishes a rate: 1000 units are worth 1 UAH, next to 1,000,000 UAH of another customer: a C.
    rate = {
        "pair": f"{currency}/UAH",
        "from_currency": currency,
        "to_currency": "UAH",
        "rate": "0.001",
        "on": (now - timedelta(days=400)).date().isoformat(),
    }
    await publish(kafka_producer, "crm.pricing.rate.set", rate, topic="crm.pricing.price.v1", key="pair")
    converted = await classified(stub, partner, "C")
    assert converted.abc == "C"
