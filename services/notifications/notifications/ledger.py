"""The delivery ledger: queueing messages once per (origin, recipient, channel) and
recording each attempt's outcome, with the events others learn of them by."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.events import DomainEvent, Envelope
from crm_platform.ids import new_id
from crm_platform.outbox import add_event
from crm_platform.tables import OutboxMessage
from notifications import events
from notifications.channels import Outcome, Result
from notifications.domain import MAX_ATTEMPTS, Channel, MessageStatus, retry_delay
from notifications.models import MessageRow
from notifications.repository import MessageRepository, OptOutRepository

SOURCE = "crm/notifications"


@dataclass(frozen=True)
class NewMessage:
    origin: str  # "campaign:<id>", "event:<ce id>" or "request:<request id>"
    channel: Channel
    recipient: str
    subject: str
    body: str
    language: str = "uk"
    campaign_id: uuid.UUID | None = None
    source_event_id: str | None = None
    partner_id: uuid.UUID | None = None
    request_id: str | None = None


async def queue(session: AsyncSession, items: list[NewMessage]) -> int:
    """Adds the messages not in the ledger yet; an opted-out recipient's is recorded as
    suppressed and never sent. Returns how many were queued."""
    if not items:
        return 0
    now = utcnow()
    blocked: set[tuple[str, str]] = set()
    for channel in {i.channel for i in items}:
        opted = await OptOutRepository(session).opted_out((i.recipient for i in items if i.channel is channel), channel)
        blocked |= {(r, channel.value) for r in opted}
    rows = [
        {
            "id": new_id(),
            "origin": i.origin,
            "recipient": i.recipient,
            "channel": i.channel.value,
            "campaign_id": i.campaign_id,
            "source_event_id": i.source_event_id,
            "request_id": i.request_id,
            "partner_id": i.partner_id,
            "language": i.language,
            "subject": i.subject,
            "body": i.body,
            "status": (
                MessageStatus.SUPPRESSED if (i.recipient, i.channel.value) in blocked else MessageStatus.QUEUED
            ).value,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "opted out" if (i.recipient, i.channel.value) in blocked else "",
            "provider_message_id": "",
            "created_at": now,
            "updated_at": now,
        }
        for i in items
    ]
    inserted = await MessageRepository(session).insert_new(rows)
    queued = [
        events.MessageQueued(**_event_fields(r), at=now)
        for r in inserted
        if (r["recipient"], r["channel"]) not in blocked
    ]
    await add_events(session, queued)
    return len(queued)


async def add_events(session: AsyncSession, batch: Sequence[DomainEvent]) -> None:
    """The outbox rows add_event would write, inserted with one statement: a 10,000-recipient
    campaign must not flush 10,000 ORM objects on the event loop."""
    if not batch:
        return
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    rows = outbox_rows(batch)
    if len(rows) == 1:
        await session.execute(insert(table).values(rows[0]))
    else:
        await session.execute(insert(table), rows)


def outbox_rows(batch: Sequence[DomainEvent]) -> list[dict[str, Any]]:
    """The outbox rows add_event would write for these events."""
    rows = []
    for event in batch:
        envelope = Envelope.wrap(event, source=SOURCE)
        rows.append(
            {
                "event_id": uuid.UUID(envelope.id),
                "topic": event.TOPIC,
                "key": envelope.subject,
                "event_type": envelope.type,
                "headers": envelope.headers(),
                "payload": envelope.data,
                "created_at": envelope.time,
                "attempts": 0,
            }
        )
    return rows


def sent_events(sent: Sequence[tuple[MessageRow, Outcome]], at: datetime) -> list[DomainEvent]:
    return [events.MessageSent(**_event_fields(m), at=at, provider_message_id=o.provider_id) for m, o in sent]


def _event_fields(row: dict[str, object] | MessageRow) -> dict[str, object]:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return {
        "message_id": get("id"),
        "channel": get("channel"),
        "recipient": get("recipient"),
        "campaign_id": get("campaign_id"),
        "source_event_id": get("source_event_id"),
    }


async def record_many(session: AsyncSession, outcomes: list[tuple[MessageRow, Outcome]], base_seconds: float) -> None:
    """Several attempts' outcomes in one transaction (the sender's group commit); the sent
    ones, nearly all of them, with one UPDATE and one outbox INSERT."""
    sent = [(m, o) for m, o in outcomes if o.result is Result.SENT]
    if sent:
        now = utcnow()
        await MessageRepository(session).mark_sent([(m.id, o.provider_id, o.error) for m, o in sent], now)
        await add_events(session, sent_events(sent, now))
    for message, outcome in outcomes:
        if outcome.result not in (Result.SENT, Result.LEASE_LOST):
            await record(session, message, outcome, base_seconds)


async def record(session: AsyncSession, message: MessageRow, outcome: Outcome, base_seconds: float) -> None:
    """What an attempt came to: sent, retried later with backoff, or given up on."""
    repo = MessageRepository(session)
    now = utcnow()
    if outcome.result is Result.LEASE_LOST:
        return
    if outcome.result is Result.SENT:
        await repo.finish(
            message.id,
            {
                "status": MessageStatus.SENT.value,
                "sent_at": now,
                "lease_until": None,
                "provider_message_id": outcome.provider_id,
                "last_error": outcome.error[:2000],
            },
        )
        event = events.MessageSent(**_event_fields(message), at=now, provider_message_id=outcome.provider_id)
        await add_events(session, [event])
        return
    if outcome.result is Result.TEMPORARY and message.attempts < MAX_ATTEMPTS:
        delay: timedelta = retry_delay(message.attempts, base_seconds)
        await repo.finish(
            message.id,
            {
                "status": MessageStatus.QUEUED.value,
                "next_attempt_at": now + delay,
                "lease_until": None,
                "handed_over_at": None,
                "last_error": outcome.error[:2000],
            },
        )
        return
    status = MessageStatus.BOUNCED if outcome.result is Result.BOUNCED else MessageStatus.FAILED
    await fail(session, message, status, outcome.error or "gave up after retries")


async def fail(session: AsyncSession, message: MessageRow, status: MessageStatus, reason: str) -> None:
    now = utcnow()
    await MessageRepository(session).finish(
        message.id, {"status": status.value, "lease_until": None, "last_error": reason[:2000]}
    )
    event = events.MessageFailed(**_event_fields(message), at=now, status=status.value, reason=reason[:500])
    add_event(session, event, source=SOURCE)


async def suppress(session: AsyncSession, message: MessageRow) -> None:
    await MessageRepository(session).finish(
        message.id, {"status": MessageStatus.SUPPRESSED.value, "lease_until": None, "last_error": "opted out"}
    )


async def delivered(session: AsyncSession, provider_id: str, ok: bool, reason: str) -> MessageRow | None:
    """A provider's delivery report: delivered, or failed after all."""
    repo = MessageRepository(session)
    message = await repo.by_provider_id(provider_id)
    if message is None or message.status not in (MessageStatus.SENT.value, MessageStatus.SENDING.value):
        return message
    if ok:
        await repo.finish(message.id, {"status": MessageStatus.DELIVERED.value, "lease_until": None})
        add_event(session, events.MessageDelivered(**_event_fields(message), at=utcnow()), source=SOURCE)
    else:
        await fail(session, message, MessageStatus.FAILED, reason or "not delivered")
    return message


async def recovered_as_sent(session: AsyncSession, rows: Sequence[MessageRow]) -> None:
    """Rows a vanished sender had handed over: sent, as far as anyone can know."""
    await add_events(
        session,
        [
            events.MessageSent(**_event_fields(m), at=m.sent_at or utcnow(), provider_message_id=m.provider_message_id)
            for m in rows
        ],
    )


async def bounced(session: AsyncSession, message: MessageRow, diagnostic: str, *, opt_out: bool) -> bool:
    """A bounce report for a sent message: the message bounced and, for a permanent failure
    (the address does not take mail), the address is opted out of the channel. False if
    the message was not sent (or had bounced already)."""
    if message.status not in (MessageStatus.SENT.value, MessageStatus.DELIVERED.value, MessageStatus.SENDING.value):
        return False
    await fail(session, message, MessageStatus.BOUNCED, diagnostic or "bounced")
    channel = Channel(message.channel)
    if opt_out and await OptOutRepository(session).add(
        message.recipient, channel, message.partner_id, reason="hard_bounce"
    ):
        event = events.RecipientOptedOut(
            recipient=message.recipient,
            channel=channel.value,
            partner_id=message.partner_id,
            at=utcnow(),
            reason="hard_bounce",
        )
        add_event(session, event, source=SOURCE)
    return True
