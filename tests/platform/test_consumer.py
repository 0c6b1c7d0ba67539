"""Consumers against the real Kafka and PostgreSQL: idempotent, and a poison event goes
to the dead-letter topic while the consumer goes on."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.db import Database
from crm_platform.dlq import list_dead_letters, replay
from crm_platform.events import DomainEvent, Envelope
from crm_platform.messaging import EventConsumer, dlq_topic, ensure_topics, make_broker
from crm_platform.tables import InboxEntry, PlatformTable
from crm_platform.testing import Databases, KafkaProbe, db_url, delete_topics, header

# A topic of this run alone: what earlier runs left on a shared broker cannot interfere.
TOPIC = f"crm.tests.counter.{uuid.uuid4().hex[:8]}.v1"

effects = MetaData()
counters = Table("counter", effects, Column("name", String, primary_key=True), Column("value", Integer, nullable=False))


class Counted(DomainEvent):
    TOPIC: ClassVar[str] = TOPIC
    TYPE: ClassVar[str] = "crm.tests.counted"
    KEY_FIELD: ClassVar[str] = "name"

    name: str
    by: int


class Harness:
    def __init__(self, db: Database, producer: AIOKafkaProducer) -> None:
        self.db = db
        self.producer = producer
        self.reject_negative = True  # the "bug" a fix can later remove

    async def send(self, event: Counted, *, event_id: str | None = None) -> Envelope:
        envelope = Envelope.wrap(event, source="tests", event_id=uuid.UUID(event_id) if event_id else None)
        headers = [(k, v.encode()) for k, v in envelope.headers().items()]
        await self.producer.send_and_wait(TOPIC, envelope.data, key=event.key().encode(), headers=headers)
        return envelope

    async def value(self, name: str) -> int | None:
        async with self.db.reading() as session:
            return (await session.execute(select(counters.c.value).where(counters.c.name == name))).scalar()

    async def wait_value(self, name: str, expected: int, timeout: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if await self.value(name) == expected:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"counter {name} is {await self.value(name)}, expected {expected}")


@pytest.fixture(scope="module", autouse=True)
async def own_topic(kafka_bootstrap: str) -> AsyncIterator[None]:
    await ensure_topics(kafka_bootstrap, [TOPIC])
    yield
    await delete_topics(TOPIC)


@pytest.fixture
async def harness(
    databases: Databases, kafka_bootstrap: str, kafka_producer: AIOKafkaProducer
) -> AsyncIterator[Harness]:
    db = Database(db_url(await databases.ensure(f"consumer_{uuid.uuid4().hex[:6]}")))
    async with db.engine.begin() as conn:
        await conn.run_sync(PlatformTable.metadata.create_all)
        await conn.run_sync(effects.create_all)
    await ensure_topics(kafka_bootstrap, [TOPIC])

    consumer = EventConsumer("tests")
    harness = Harness(db, kafka_producer)

    @consumer.on(Counted)
    async def count(session: AsyncSession, event: Counted, envelope: Envelope) -> None:
        if event.by < 0 and harness.reject_negative:
            raise ValueError("a counter never goes down")  # a handler bug: retried, then dead-lettered
        statement = insert(counters).values(name=event.name, value=event.by)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[counters.c.name], set_={"value": counters.c.value + statement.excluded.value}
            )
        )

    broker = make_broker(kafka_bootstrap, client_id="consumer-test")
    consumer.attach(broker, db, group_id=f"tests-{uuid.uuid4().hex[:8]}", max_attempts=2, backoff_seconds=0.05)
    async with KafkaProbe(TOPIC):  # topic metadata is warm before the group joins
        pass
    await broker.start()
    yield harness
    await broker.stop()
    await db.dispose()


async def test_the_same_event_delivered_twice_changes_state_once(harness: Harness) -> None:
    name = f"visits-{uuid.uuid4().hex[:6]}"
    first = await harness.send(Counted(name=name, by=5))
    await harness.send(Counted(name=name, by=5), event_id=first.id)  # a redelivery: same ce_id
    await harness.send(Counted(name=name, by=1))
    await harness.wait_value(name, 6)
    await asyncio.sleep(1.0)  # nothing late turns 6 into 11
    assert await harness.value(name) == 6
    async with harness.db.reading() as session:
        rows = (
            await session.execute(select(InboxEntry.__table__).where(text("event_id = :id")), {"id": first.id})
        ).all()  # type: ignore[attr-defined]
    assert len(rows) == 1


async def test_malformed_event_goes_to_the_dead_letter_topic_and_the_consumer_goes_on(harness: Harness) -> None:
    name = f"orders-{uuid.uuid4().hex[:6]}"
    async with KafkaProbe(dlq_topic(TOPIC)) as dlq:
        not_a_cloudevent = uuid.uuid4().hex
        await harness.producer.send_and_wait(TOPIC, b"{not json", key=not_a_cloudevent.encode())
        bad_data = Envelope.wrap(Counted(name=name, by=1), source="tests")
        headers = [(k, v.encode()) for k, v in bad_data.headers().items()]
        await harness.producer.send_and_wait(TOPIC, json.dumps({"name": name, "by": "many"}).encode(), headers=headers)
        failing = await harness.send(Counted(name=name, by=-1))
        await harness.send(Counted(name=name, by=2))

        await harness.wait_value(name, 2)
        first = await dlq.wait_for(lambda r: r.key == not_a_cloudevent.encode())
        second = await dlq.wait_for(lambda r: header(r, "ce_id") == bad_data.id)
        third = await dlq.wait_for(lambda r: header(r, "ce_id") == failing.id)

    assert "not a CloudEvent" in (header(first, "x-dlq-error") or "")
    assert header(first, "x-dlq-original-topic") == TOPIC
    assert header(second, "x-dlq-error-type") == "PoisonMessage"
    assert "by" in (header(second, "x-dlq-error") or "")
    assert header(third, "x-dlq-error-type") == "ValueError"
    assert header(third, "x-dlq-consumer") == f"tests:{TOPIC}"
    assert json.loads(third.value)["by"] == -1  # the original body, untouched


async def test_dead_letters_are_listed_and_replayed_once_to_their_topic(harness: Harness, kafka_bootstrap: str) -> None:
    name = f"refunds-{uuid.uuid4().hex[:6]}"
    async with KafkaProbe(dlq_topic(TOPIC)) as dlq:
        failing = await harness.send(Counted(name=name, by=-3))
        await dlq.wait_for(lambda r: header(r, "ce_id") == failing.id)

    listed = await list_dead_letters(kafka_bootstrap, TOPIC)
    assert any(letter.event_id == failing.id and "never goes down" in letter.error for letter in listed)

    harness.reject_negative = False  # the cause is fixed; now the dead letters can go back
    async with KafkaProbe(TOPIC) as topic:
        assert await replay(kafka_bootstrap, TOPIC) >= 1
        back = await topic.wait_for(lambda r: header(r, "ce_id") == failing.id)
    assert header(back, "ce_type") == "crm.tests.counted"
    assert header(back, "x-dlq-error") is None
    await harness.wait_value(name, -3)  # applied this time, not dead-lettered again
    again = await list_dead_letters(kafka_bootstrap, TOPIC)
    assert [letter.event_id for letter in again].count(failing.id) == 1
