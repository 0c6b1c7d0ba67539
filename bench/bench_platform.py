"""The kit: how fast the outbox relay moves committed events to Kafka, and how fast an
idempotent consumer (inbox row + effect + offset commit) takes them in."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import ClassVar

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.db import Database
from crm_platform.events import DomainEvent, Envelope
from crm_platform.messaging import EventConsumer, broker_sender, ensure_topics, make_broker
from crm_platform.outbox import OutboxRelay, add_event
from crm_platform.tables import PlatformTable
from crm_platform.testing import ADMIN_DSN, KAFKA, db_url

EVENTS = 20_000
PER_TRANSACTION = 50


class Measured(DomainEvent):
    TOPIC: ClassVar[str] = f"crm.bench.measured.{uuid.uuid4().hex[:8]}.v1"
    TYPE: ClassVar[str] = "crm.bench.measured"
    KEY_FIELD: ClassVar[str] = "item_id"

    item_id: uuid.UUID
    note: str


async def main() -> None:
    name = f"bench_platform_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    db = Database(db_url(name), pool_size=8)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(PlatformTable.metadata.create_all)
        await ensure_topics(KAFKA, [Measured.TOPIC])
        await relay_throughput(db)
        await consumer_throughput(db)
    finally:
        await db.dispose()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def relay_throughput(db: Database) -> None:
    async def write(batch: int) -> None:
        async with db.transaction() as session:
            for _ in range(PER_TRANSACTION):
                add_event(session, Measured(item_id=uuid.uuid4(), note="x" * 200), source="bench")

    started = time.perf_counter()
    for chunk in range(0, EVENTS // PER_TRANSACTION, 8):
        await asyncio.gather(*(write(chunk + i) for i in range(8)))
    written = time.perf_counter() - started
    print(f"outbox write: {EVENTS / written:,.0f} events/s committed ({PER_TRANSACTION} per transaction, 8 at once)")

    broker = make_broker(KAFKA, client_id="bench")
    await broker.start()
    relay = OutboxRelay(db.engine, broker_sender(broker), lock_name="bench", batch_size=500)
    started = time.perf_counter()
    relay.start()
    while await relay.pending():  # noqa: ASYNC110 -- the database is what is polled
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await relay.stop()
    await broker.stop()
    print(f"outbox relay: {EVENTS / elapsed:,.0f} events/s published to Kafka (acks=all, idempotent, {EVENTS} events)")


async def consumer_throughput(db: Database) -> None:
    handled = 0
    done = asyncio.Event()
    consumer = EventConsumer("bench")

    @consumer.on(Measured)
    async def count(session: AsyncSession, event: Measured, envelope: Envelope) -> None:
        nonlocal handled
        handled += 1
        if handled == EVENTS:
            done.set()

    broker = make_broker(KAFKA, client_id="bench-consumer")
    consumer.attach(broker, db, group_id=f"bench-{uuid.uuid4().hex[:6]}")
    started = time.perf_counter()
    await broker.start()
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - started
    await broker.stop()
    print(
        f"idempotent consumer: {EVENTS / elapsed:,.0f} events/s "
        "(batches of up to 200 in one transaction: inbox rows + effects, offsets committed after it)"
    )
