"""Dead letters for ops: list them, and replay them to their topic once the cause is fixed.

    python -m crm_platform.dlq list crm.partners.partner.v1
    python -m crm_platform.dlq replay crm.partners.partner.v1

Replaying is safe: consumers are idempotent (an event already applied is skipped by the
inbox). Replay reads the DLQ in a consumer group of its own, so a second replay sends
only what was dead-lettered since the first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from crm_platform.messaging import DLQ_SUFFIX, dlq_topic

REPLAY_GROUP = "crm-dlq-replay"


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: str
    event_type: str
    event_id: str
    consumer: str
    error: str


def _headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in record.headers}


async def _drain(consumer: AIOKafkaConsumer, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Everything from the consumer's position to the end of each partition as it is now."""
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    ends = await consumer.end_offsets(partitions)
    found: list[ConsumerRecord[bytes, bytes]] = []
    while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
        batch = await consumer.getmany(timeout_ms=1000)
        for records in batch.values():
            found.extend(records)
    return found


async def list_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    consumer = AIOKafkaConsumer(
        dlq_topic(topic), bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=1000)  # join and get the assignment
        for tp in consumer.assignment():
            await consumer.seek_to_beginning(tp)
        records = await _drain(consumer, dlq_topic(topic))
    finally:
        await consumer.stop()
    out = []
    for record in records:
        h = _headers(record)
        out.append(
            DeadLetter(
                partition=record.partition,
                offset=record.offset,
                key=(record.key or b"").decode(errors="replace"),
                event_type=h.get("ce_type", "?"),
                event_id=h.get("ce_id", "?"),
                consumer=h.get("x-dlq-consumer", "?"),
                error=h.get("x-dlq-error", ""),
            )
        )
    return out


async def replay(bootstrap: str, topic: str) -> int:
    """Sends every dead letter not replayed before back to its original topic."""
    consumer = AIOKafkaConsumer(
        dlq_topic(topic),
        bootstrap_servers=bootstrap,
        group_id=f"{REPLAY_GROUP}:{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    sent = 0
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=500)
        for tp in consumer.assignment():
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, committed)
        for record in await _drain(consumer, dlq_topic(topic)):
            h = _headers(record)
            original = h.get("x-dlq-original-topic") or record.topic.removesuffix(DLQ_SUFFIX)
            headers = [(k, v.encode()) for k, v in h.items() if not k.startswith("x-dlq-")]
            await producer.send_and_wait(original, record.value, key=record.key, headers=headers)
            await consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
            sent += 1
    finally:
        await producer.stop()
        await consumer.stop()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m crm_platform.dlq", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["list", "replay"])
    parser.add_argument("topic", help="the topic whose dead letters to act on, e.g. crm.partners.partner.v1")
    parser.add_argument("--bootstrap", default=os.environ.get("CRM_KAFKA_BOOTSTRAP", "127.0.0.1:19092"))
    args = parser.parse_args()
    if args.action == "list":
        for letter in asyncio.run(list_dead_letters(args.bootstrap, args.topic)):
            where = f"{letter.partition}/{letter.offset}"
            print(f"{where} {letter.event_type} {letter.event_id} [{letter.consumer}] {letter.error}")
    else:
        print(f"replayed {asyncio.run(replay(args.bootstrap, args.topic))} dead letters to {args.topic}")


if __name__ == "__main__":
    main()
