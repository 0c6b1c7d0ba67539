"""Kafka wiring: the broker, topics, and consumers that are idempotent and never lose a message.

One policy for the whole platform (FastStream's default would commit before handling):
- an offset is committed only after the handler's transaction committed;
- each event id is recorded in the inbox table in that same transaction, so a
  redelivered event changes nothing;
- a message that can never succeed (not a CloudEvent, data that fails validation, a
  handler that keeps raising) goes to ``<topic>.dlq`` with the error in its headers, and
  the consumer goes on;
- while the database or Kafka is unreachable the message is retried with backoff and,
  failing that, re-read (nack), never dead-lettered: an outage must not empty a topic
  into its DLQ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import PlatformError
from crm_platform.events import DomainEvent, Envelope, PoisonMessage
from crm_platform.faults import is_transient
from crm_platform.metrics import CONSUMER_LAG, EVENTS_CONSUMED
from crm_platform.tables import InboxEntry, OutboxMessage

log = logging.getLogger(__name__)

E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[AsyncSession, E, Envelope], Awaitable[None]]

DLQ_SUFFIX = ".dlq"
BATCH_MAX_RECORDS = 200
BATCH_TIMEOUT_MS = 100


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def make_broker(bootstrap: str, *, client_id: str, graceful_timeout: float = 15.0) -> KafkaBroker:
    return KafkaBroker(
        bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        graceful_timeout=graceful_timeout,
        allow_auto_create_topics=False,
        log_level=logging.DEBUG,
    )


def broker_sender(broker: KafkaBroker) -> Callable[[OutboxMessage], Awaitable[object]]:
    """The relay's send: queue one record, return the future of its acknowledgement."""

    async def send(message: OutboxMessage) -> object:
        return await broker.publish(
            message.payload,
            message.topic,
            key=message.key.encode(),
            headers=dict(message.headers),
            no_confirm=True,
        )

    return send


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    *,
    partitions: int = 3,
    replication: int = 1,
    wait_seconds: float = 60.0,
) -> None:
    """Creates each topic and its dead-letter twin if missing (idempotent), waiting for
    the broker to come up for at most wait_seconds."""
    names = sorted({t for topic in topics for t in (topic, dlq_topic(topic))})
    if not names:
        return
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        try:
            await _create_missing(bootstrap, names, partitions, replication)
            return
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() >= deadline:
                raise
            log.warning("Kafka at %s not reachable yet; retrying", bootstrap)
            await asyncio.sleep(1.0)


async def _create_missing(bootstrap: str, names: list[str], partitions: int, replication: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(n, num_partitions=partitions, replication_factor=replication) for n in names if n not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another replica was first
                await admin.create_topics(wanted)
    finally:
        await admin.close()


@dataclass(frozen=True)
class _Route(Generic[E]):
    model: type[E]
    handler: Handler[E]


class EventConsumer:
    """A service's event handlers, one Kafka subscriber per topic, dispatched by ce_type.

    Events of types nobody registered are acknowledged and ignored: a topic carries every
    event of its aggregate and a consumer cares about some of them.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self._routes: dict[str, dict[str, _Route[Any]]] = {}

    def on(self, model: type[E]) -> Callable[[Handler[E]], Handler[E]]:
        def register(handler: Handler[E]) -> Handler[E]:
            routes = self._routes.setdefault(model.TOPIC, {})
            if model.TYPE in routes and routes[model.TYPE].handler is not handler:
                raise ValueError(f"{self.service}: two handlers for {model.TYPE}")
            routes[model.TYPE] = _Route(model, handler)
            return handler

        return register

    @property
    def topics(self) -> list[str]:
        return sorted(self._routes)

    def attach(
        self,
        broker: KafkaBroker,
        db: Database,
        *,
        group_id: str,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
    ) -> None:
        for topic, routes in sorted(self._routes.items()):
            processor = _TopicProcessor(
                topic=topic,
                consumer_name=f"{self.service}:{topic}",
                routes=routes,
                broker=broker,
                db=db,
                max_attempts=max_attempts,
                backoff_seconds=backoff_seconds,
            )
            subscriber = broker.subscriber(
                topic,
                batch=True,
                max_records=BATCH_MAX_RECORDS,
                batch_timeout_ms=BATCH_TIMEOUT_MS,
                group_id=group_id,
                auto_offset_reset="earliest",
                title=f"{self.service}:{topic}",
                description="Handles: " + ", ".join(sorted(routes)),
            )
            subscriber(processor.consume)


class _TopicProcessor:
    def __init__(
        self,
        *,
        topic: str,
        consumer_name: str,
        routes: dict[str, _Route[Any]],
        broker: KafkaBroker,
        db: Database,
        max_attempts: int,
        backoff_seconds: float,
    ) -> None:
        self.topic = topic
        self.consumer_name = consumer_name
        self.routes = routes
        self.broker = broker
        self.db = db
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds

    async def consume(self, body: Any, message: KafkaMessage) -> None:
        """Takes a batch of records (the body is left undecoded: records are parsed here, so
        a malformed one reaches the dead-letter path instead of failing in the framework).

        Fast path: the whole batch in one transaction. If anything in it fails, the batch
        is handled again one event at a time, so only the bad event is retried or
        dead-lettered; the inbox makes the events already done harmless to repeat. The
        offsets are committed (by the broker-wide ack policy) only after this returns.
        """
        records = message.raw_message if isinstance(message.raw_message, tuple) else (message.raw_message,)
        items: list[tuple[Any, Envelope, _Route[Any], DomainEvent]] = []
        for record in records:
            self._record_lag(record)
            try:
                envelope = Envelope.from_kafka(record.headers, record.value or b"")
                route = self.routes.get(envelope.type)
                if route is None:
                    EVENTS_CONSUMED.labels(self.consumer_name, envelope.type, "ignored").inc()
                    continue
                items.append((record, envelope, route, envelope.decode(route.model)))
            except PoisonMessage as exc:
                await self._dead_letter(record, exc)
        if not items:
            return
        try:
            outcomes = await self._apply_batch(items)
        except Exception as exc:
            log.info("%s: batch of %d failed (%r); one event at a time", self.consumer_name, len(items), exc)
            for record, envelope, route, event in items:
                await self._handle(record, envelope, route, event)
            return
        for (_, envelope, _, _), outcome in zip(items, outcomes, strict=True):
            EVENTS_CONSUMED.labels(self.consumer_name, envelope.type, outcome).inc()

    async def _apply_batch(self, items: list[tuple[Any, Envelope, _Route[Any], DomainEvent]]) -> list[str]:
        table = InboxEntry.__table__  # type: ignore[attr-defined]
        now = utcnow()
        async with self.db.transaction() as session:
            inserted = await session.execute(
                insert(table)
                .values(
                    [
                        {"consumer": self.consumer_name, "event_id": e.id, "event_type": e.type, "processed_at": now}
                        for _, e, _, _ in items
                    ]
                )
                .on_conflict_do_nothing()
                .returning(table.c.event_id)
            )
            fresh = set(inserted.scalars().all())
            outcomes = []
            for _, envelope, route, event in items:
                if envelope.id in fresh:
                    fresh.discard(envelope.id)  # the same event twice in one batch runs once
                    await route.handler(session, event, envelope)
                    outcomes.append("handled")
                else:
                    outcomes.append("duplicate")
        return outcomes

    async def _handle(self, record: Any, envelope: Envelope, route: _Route[Any], event: DomainEvent) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = await self._apply(envelope, route, event)
                EVENTS_CONSUMED.labels(self.consumer_name, envelope.type, outcome).inc()
                return
            except Exception as exc:
                if isinstance(exc, PoisonMessage | PlatformError) and not is_transient(exc):
                    await self._dead_letter(record, exc)
                    return
                if attempt >= self.max_attempts:
                    if is_transient(exc):
                        log.warning("%s: %s still failing (%r); re-reading later", self.consumer_name, envelope.id, exc)
                        raise
                    await self._dead_letter(record, exc)
                    return
                log.info("%s: attempt %d for %s failed: %r", self.consumer_name, attempt, envelope.id, exc)
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))

    async def _apply(self, envelope: Envelope, route: _Route[Any], event: DomainEvent) -> str:
        async with self.db.transaction() as session:
            first_time = await session.execute(
                insert(InboxEntry.__table__)  # type: ignore[attr-defined]
                .values(
                    consumer=self.consumer_name,
                    event_id=envelope.id,
                    event_type=envelope.type,
                    processed_at=utcnow(),
                )
                .on_conflict_do_nothing()
                .returning(InboxEntry.__table__.c.event_id)  # type: ignore[attr-defined]
            )
            if first_time.first() is None:
                return "duplicate"
            await route.handler(session, event, envelope)
        return "handled"

    async def _dead_letter(self, record: Any, exc: BaseException) -> None:
        log.error("%s: dead-lettering offset %s/%s: %r", self.consumer_name, record.partition, record.offset, exc)
        headers = {k: (v.decode(errors="replace") if isinstance(v, bytes) else str(v)) for k, v in record.headers}
        headers.update(
            {
                "x-dlq-error": str(exc)[:2000],
                "x-dlq-error-type": type(exc).__name__,
                "x-dlq-original-topic": record.topic,
                "x-dlq-original-partition": str(record.partition),
                "x-dlq-original-offset": str(record.offset),
                "x-dlq-consumer": self.consumer_name,
            }
        )
        try:
            await self.broker.publish(record.value or b"", dlq_topic(record.topic), key=record.key, headers=headers)
        except KafkaError:
            log.exception("dead-letter publish failed; the message will be re-read")
            raise
        EVENTS_CONSUMED.labels(self.consumer_name, headers.get("ce_type", "unknown"), "dead_lettered").inc()

    def _record_lag(self, record: Any) -> None:
        consumer = getattr(record, "consumer", None)
        if consumer is None:
            return
        try:
            from aiokafka import TopicPartition

            highwater = consumer.highwater(TopicPartition(record.topic, record.partition))
            if highwater is not None:
                CONSUMER_LAG.labels(record.topic, str(record.partition)).set(max(0, highwater - record.offset - 1))
        except Exception:  # lag is best-effort observability
            log.debug("lag not available", exc_info=True)
