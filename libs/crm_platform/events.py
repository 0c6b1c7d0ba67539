"""Domain events and their CloudEvents 1.0 envelope (Kafka binding, binary mode).

The event's data travels as JSON from a Pydantic model; its attributes (id, source,
type, subject, time, specversion) travel as ``ce_*`` Kafka headers. Fields may be
added freely within a version; consumers ignore the ones they do not know.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from crm_platform.clock import utcnow
from crm_platform.ids import new_id

SPEC_VERSION = "1.0"
E = TypeVar("E", bound="DomainEvent")
CONTENT_TYPE = "application/json"


class DomainEvent(BaseModel):
    """Base of every published event. Subclasses set TOPIC, TYPE and KEY_FIELD."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    TOPIC: ClassVar[str]
    TYPE: ClassVar[str]
    KEY_FIELD: ClassVar[str]

    def key(self) -> str:
        return str(getattr(self, self.KEY_FIELD))


class PoisonMessage(Exception):
    """A message no retry can fix: it goes to the dead-letter topic at once."""


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    type: str
    source: str
    subject: str
    time: datetime
    data: bytes

    @classmethod
    def wrap(cls, event: DomainEvent, *, source: str, event_id: uuid.UUID | None = None) -> Envelope:
        return cls(
            id=str(event_id or new_id()),
            type=event.TYPE,
            source=source,
            subject=event.key(),
            time=utcnow(),
            data=event.model_dump_json().encode(),
        )

    def headers(self) -> dict[str, str]:
        return {
            "ce_specversion": SPEC_VERSION,
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_subject": self.subject,
            "ce_time": self.time.isoformat(),
            "content-type": CONTENT_TYPE,
        }

    @classmethod
    def from_kafka(cls, headers: Mapping[str, str] | Iterable[tuple[str, bytes]], body: bytes) -> Envelope:
        attrs = _decode_headers(headers)
        missing = [k for k in ("ce_id", "ce_type", "ce_source", "ce_time") if not attrs.get(k)]
        if missing:
            raise PoisonMessage(f"not a CloudEvent: missing headers {', '.join(missing)}")
        if attrs.get("ce_specversion", SPEC_VERSION) != SPEC_VERSION:
            raise PoisonMessage(f"unsupported CloudEvents specversion {attrs['ce_specversion']!r}")
        try:
            time = datetime.fromisoformat(attrs["ce_time"])
        except ValueError:
            raise PoisonMessage(f"bad ce_time {attrs['ce_time']!r}") from None
        return cls(
            id=attrs["ce_id"],
            type=attrs["ce_type"],
            source=attrs["ce_source"],
            subject=attrs.get("ce_subject", ""),
            time=time,
            data=body,
        )

    def decode(self, model: type[E]) -> E:
        try:
            return model.model_validate_json(self.data)
        except ValidationError as exc:
            raise PoisonMessage(f"{self.type} {self.id}: {exc}") from exc


def _decode_headers(headers: Mapping[str, str] | Iterable[tuple[str, bytes]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        out[name] = value.decode() if isinstance(value, bytes) else str(value)
    return out
