"""The transactional outbox against the real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest

from crm_platform.db import Database
from crm_platform.events import DomainEvent
from crm_platform.messaging import broker_sender, ensure_topics, make_broker
from crm_platform.outbox import OutboxRelay, add_event
from crm_platform.tables import PlatformTable
from crm_platform.testing import Databases, KafkaProbe, db_url, delete_topics, header

TOPIC = f"crm.tests.outbox.{uuid.uuid4().hex[:8]}.v1"


class ThingHappened(DomainEvent):
    TOPIC: ClassVar[str] = TOPIC
    TYPE: ClassVar[str] = "crm.tests.thing.happened"
    KEY_FIELD: ClassVar[str] = "thing_id"

    thing_id: uuid.UUID
    note: str


@pytest.fixture(scope="module", autouse=True)
async def own_topic(kafka_bootstrap: str) -> AsyncIterator[None]:
    await ensure_topics(kafka_bootstrap, [TOPIC])
    yield
    await delete_topics(TOPIC)


@pytest.fixture
async def db(databases: Databases) -> AsyncIterator[Database]:
    database = Database(db_url(await databases.ensure(f"outbox_{uuid.uuid4().hex[:6]}")))
    async with database.engine.begin() as conn:
        await conn.run_sync(PlatformTable.metadata.create_all)
    yield database
    await database.dispose()


@pytest.fixture
async def relay(db: Database, kafka_bootstrap: str) -> AsyncIterator[OutboxRelay]:
    await ensure_topics(kafka_bootstrap, [TOPIC])
    broker = make_broker(kafka_bootstrap, client_id="outbox-test")
    await broker.start()
    relay = OutboxRelay(db.engine, broker_sender(broker), lock_name=f"test-{uuid.uuid4()}", poll_seconds=0.05)
    relay.start()
    yield relay
    await relay.stop()
    await broker.stop()


async def write_then_fail(db: Database, event: ThingHappened) -> None:
    async with db.transaction() as session:
        add_event(session, event, source="tests")
        raise RuntimeError("the use case failed after writing its event")


async def test_rolled_back_event_is_never_published_and_committed_one_is(db: Database, relay: OutboxRelay) -> None:
    lost, kept = uuid.uuid4(), uuid.uuid4()
    async with KafkaProbe(TOPIC) as probe:
        with pytest.raises(RuntimeError):
            await write_then_fail(db, ThingHappened(thing_id=lost, note="rolled back"))
        async with db.transaction() as session:
            envelope = add_event(session, ThingHappened(thing_id=kept, note="committed"), source="tests")

        # The relay sends in commit order, so once the committed event is out, a
        # published rolled-back one would have been seen before it.
        seen = await probe.collect(3.0)
    keys = [r.key.decode() for r in seen if r.key]
    assert str(kept) in keys
    assert str(lost) not in keys
    record = next(r for r in seen if r.key and r.key.decode() == str(kept))
    assert header(record, "ce_id") == envelope.id
    assert header(record, "ce_type") == "crm.tests.thing.happened"
    assert header(record, "ce_specversion") == "1.0"
    assert header(record, "ce_source") == "tests"
    assert ThingHappened.model_validate_json(record.value).note == "committed"
    assert await relay.pending() == 0


async def test_only_one_of_two_relays_leads(db: Database, relay: OutboxRelay, kafka_bootstrap: str) -> None:
    broker = make_broker(kafka_bootstrap, client_id="outbox-test-2")
    await broker.start()
    # Same lock name as the running relay: the second must stand by.
    second = OutboxRelay(db.engine, broker_sender(broker), lock_name=relay.lock_name, poll_seconds=0.05)
    second.start()
    try:
        await asyncio.sleep(1.0)
        assert relay.is_leader
        assert not second.is_leader
    finally:
        await second.stop()
        await broker.stop()
