"""The delivery ledger against PostgreSQL: once per (origin, recipient, channel), opt-outs,
claiming with SKIP LOCKED, paused campaigns, leases of vanished senders, retries."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import func, select, text

from crm_platform.db import Database
from crm_platform.tables import OutboxMessage
from notifications import ledger
from notifications.channels import Outcome, Result
from notifications.domain import MAX_ATTEMPTS, CampaignStatus, Channel, MessageStatus
from notifications.models import CampaignRow, MessageRow
from notifications.repository import CampaignRepository, MessageRepository, OptOutRepository

LEASE = timedelta(seconds=30)


def mail(origin: str, recipient: str, campaign_id: uuid.UUID | None = None) -> ledger.NewMessage:
    return ledger.NewMessage(
        origin=origin, channel=Channel.SMS, recipient=recipient, subject="", body="Текст", campaign_id=campaign_id
    )


async def statuses(db: Database, origin: str) -> dict[str, str]:
    async with db.reading() as session:
        rows = (await session.execute(select(MessageRow).where(MessageRow.origin == origin))).scalars()
        return {r.recipient: r.status for r in rows}


async def queued_events(db: Database, recipient: str) -> int:
    async with db.reading() as session:
        query = select(func.count()).where(
            OutboxMessage.event_type == "crm.notifications.message.queued",
            OutboxMessage.payload.contains(recipient.encode()),  # type: ignore[attr-defined]
        )
        return int((await session.execute(query)).scalar_one())


async def test_a_message_is_queued_once_and_an_opted_out_recipient_is_suppressed(db: Database) -> None:
    origin = f"event:{uuid.uuid4()}"
    phone, opted = f"+38067{uuid.uuid4().int % 10**7:07d}", f"+38050{uuid.uuid4().int % 10**7:07d}"
    async with db.transaction() as session:
        await OptOutRepository(session).add(opted, Channel.SMS, None)
    for _ in range(2):
        async with db.transaction() as session:
            await ledger.queue(session, [mail(origin, phone), mail(origin, opted)])
    assert await statuses(db, origin) == {phone: "queued", opted: "suppressed"}
    assert await queued_events(db, phone) == 1
    assert await queued_events(db, opted) == 0


async def test_concurrent_senders_claim_disjoint_messages_and_skip_paused_campaigns(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(text("UPDATE message SET status = 'cancelled' WHERE status = 'queued'"))
        running = await CampaignRepository(session).add(
            CampaignRow(
                name="r", kind="mailing", channel="sms", template_code="sms", status=CampaignStatus.RUNNING.value
            )
        )
        paused = await CampaignRepository(session).add(
            CampaignRow(
                name="p", kind="mailing", channel="sms", template_code="sms", status=CampaignStatus.PAUSED.value
            )
        )
        await ledger.queue(session, [mail(f"campaign:{running.id}", f"+3806700{i:05d}", running.id) for i in range(40)])
        await ledger.queue(session, [mail(f"campaign:{paused.id}", f"+3806700{i:05d}", paused.id) for i in range(10)])

    async def claim() -> list[MessageRow]:
        async with db.transaction() as session:
            found = await MessageRepository(session).claim(Channel.SMS, 15, LEASE)
            await asyncio.sleep(0.05)  # hold the locks while the other sender claims
            return found

    claims = await asyncio.gather(claim(), claim(), claim())
    ids = [m.id for batch in claims for m in batch]
    assert len(ids) == len(set(ids)) == 40
    assert {m.campaign_id for batch in claims for m in batch} == {running.id}
    assert all(m.status == "sending" and m.attempts == 1 for batch in claims for m in batch)

    async with db.transaction() as session:
        assert await MessageRepository(session).claim(Channel.SMS, 15, LEASE) == []


async def test_a_vanished_senders_messages_are_queued_again_after_the_lease(db: Database) -> None:
    origin = f"event:{uuid.uuid4()}"
    async with db.transaction() as session:
        await session.execute(text("UPDATE message SET status = 'cancelled' WHERE status = 'queued'"))
        await ledger.queue(session, [mail(origin, "+380671112233")])
    async with db.transaction() as session:
        [claimed] = await MessageRepository(session).claim(Channel.SMS, 10, timedelta(milliseconds=1))
    await asyncio.sleep(0.01)
    async with db.transaction() as session:
        assert await MessageRepository(session).recover_expired_leases() >= 1
    async with db.transaction() as session:
        [again] = await MessageRepository(session).claim(Channel.SMS, 10, LEASE)
    assert again.id == claimed.id  # the same id: the same Message-ID / idempotency key
    assert again.attempts == 2


async def test_temporary_failures_back_off_then_give_up(db: Database) -> None:
    origin = f"event:{uuid.uuid4()}"
    async with db.transaction() as session:
        await ledger.queue(session, [mail(origin, "+380671234500")])
    async with db.reading() as session:
        row = (await session.execute(select(MessageRow).where(MessageRow.origin == origin))).scalar_one()
    row.attempts = 2
    async with db.transaction() as session:
        await ledger.record(session, row, Outcome(Result.TEMPORARY, error="503"), base_seconds=10)
    async with db.reading() as session:
        retried = await MessageRepository(session).get(row.id)
    assert retried is not None
    assert retried.status == MessageStatus.QUEUED.value
    assert timedelta(seconds=15) < retried.next_attempt_at - retried.updated_at <= timedelta(seconds=21)

    row.attempts = MAX_ATTEMPTS
    async with db.transaction() as session:
        await ledger.record(session, row, Outcome(Result.TEMPORARY, error="503"), base_seconds=10)
    assert (await statuses(db, origin))["+380671234500"] == "failed"
