"""Publishing interactions' events by hand, as interactions would, for claims to consume."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer


async def publish(producer: AIOKafkaProducer, topic: str, event_type: str, key: str, data: dict[str, object]) -> str:
    event_id = str(uuid.uuid4())
    headers = {
        "ce_specversion": "1.0",
        "ce_id": event_id,
        "ce_source": "crm/interactions",
        "ce_type": event_type,
        "ce_subject": key,
        "ce_time": datetime.now(UTC).isoformat(),
        "content-type": "application/json",
    }
    await producer.send_and_wait(
        topic,
        json.dumps(data, ensure_ascii=False).encode(),
        key=key.encode(),
        headers=[(k, v.encode()) for k, v in headers.items()],
    )
    return event_id


def now() -> str:
    return datetime.now(UTC).isoformat()
