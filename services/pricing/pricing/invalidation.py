"""Every replica reads pricing's own events (and partners') from the end, without a
consumer group, and drops what they make stale from its in-memory price tables.

The consumer group of ``EventConsumer`` hands each event to one replica only; cache
invalidation must reach all of them, hence this separate, group-less reader.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pricing.events import AGREEMENT_TOPIC, PRICE_TOPIC
from pricing.price_tables import PriceTables

log = logging.getLogger(__name__)
PARTNER_TOPIC = "crm.partners.partner.v1"
TOPICS = (PRICE_TOPIC, AGREEMENT_TOPIC, PARTNER_TOPIC)


def apply(tables: PriceTables, topic: str, headers: list[tuple[str, bytes]]) -> None:
    attrs = {k: v.decode(errors="replace") for k, v in headers}
    event_type, subject = attrs.get("ce_type", ""), attrs.get("ce_subject", "")
    try:
        if topic == PARTNER_TOPIC:
            tables.drop_partner(uuid.UUID(subject) if subject else None)
            if event_type == "crm.partners.partner.merged":  # agreements get re-pointed to the survivor
                tables.drop_agreements()
        else:
            tables.invalidate_from_event(event_type, subject)
    except ValueError:
        tables.drop_types()
        tables.drop_agreements()


async def _partitions(bootstrap: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(TOPICS))
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        if not topic.get("error_code")
        for p in topic.get("partitions", [])
    ]


async def listen_for_invalidation(bootstrap: str, tables: PriceTables, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        try:
            await consumer.start()
            assignment = await _partitions(bootstrap)
            if not assignment:
                await consumer.stop()
                await asyncio.sleep(1)
                continue
            consumer.assign(assignment)
            await consumer.seek_to_end(*assignment)
            # Anything cached before we were positioned may be stale.
            tables.drop_types()
            tables.drop_agreements()
            tables.drop_rates()
            tables.drop_partner()
            log.info("cache invalidation reader positioned on %d partitions", len(assignment))
            while not stopping.is_set():
                batch = await consumer.getmany(timeout_ms=500)
                for partition, records in batch.items():
                    for record in records:
                        apply(tables, partition.topic, list(record.headers))
        except asyncio.CancelledError:
            raise
        except Exception:
            # Kafka unreachable or anything else: no event can be missed silently, so forget everything.
            log.exception("cache invalidation reader failed; clearing caches and retrying")
            tables.drop_types()
            tables.drop_agreements()
            await asyncio.sleep(1)
        finally:
            await consumer.stop()
