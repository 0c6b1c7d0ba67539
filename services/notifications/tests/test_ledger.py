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


async def test_a_vanished_sender_s_messages_are_resent_only_if_not_handed_over(db: Database) -> None:
    origin = f"event:{uuid.uuid4()}"
    async with db.transaction() as session:
        await session.execute(text("UPDATE message SET status = 'cancelled' WHERE status = 'queued'"))
        await ledger.queue(session, [mail(origin, "+380671112233"), mail(origin, "+380671112244")])
    async with db.transaction() as session:
        claimed = await MessageRepository(session).claim(Channel.SMS, 10, timedelta(milliseconds=1))
    handed, not_handed = sorted(claimed, key=lambda m: m.recipient, reverse=True)
    async with db.transaction() as session:
        assert await MessageRepository(session).hand_over([(handed.id, handed.attempts)]) == {handed.id}
    await asyncio.sleep(0.01)
    async with db.transaction() as session:
        requeued, sent = await MessageRepository(session).recover_expired_leases()
        await ledger.recovered_as_sent(session, sent)
    assert requeued >= 1
    assert [m.id for m in sent] == [handed.id]  # past the terminator: counted as sent, never resent
    async with db.reading() as session:
        row = await MessageRepository(session).get(handed.id)
        events = await session.execute(
            select(func.count()).where(
                OutboxMessage.event_type == "crm.notifications.message.sent",
                OutboxMessage.payload.contains(str(handed.id).encode()),  # type: ignore[attr-defined]
            )
        )
    assert row is not None
    assert (row.status, row.sent_at) == ("sent", row.handed_over_at)
    assert "reply was never read" in row.last_error
    assert events.scalar_one() == 1
    async with db.transaction() as session:
        [again] = await MessageRepository(session).claim(Channel.SMS, 10, LEASE)
    assert again.id == not_handed.id  # the server discarded the unterminated one: sent again
    assert again.attempts == 2


async def test_a_stale_attempt_cannot_hand_over_a_message_another_attempt_holds(db: Database) -> None:
    origin = f"event:{uuid.uuid4()}"
    async with db.transaction() as session:
        await session.execute(text("UPDATE message SET status = 'cancelled' WHERE status = 'queued'"))
        await ledger.queue(session, [mail(origin, "+380671119900")])
    async with db.transaction() as session:
        [first] = await MessageRepository(session).claim(Channel.SMS, 10, timedelta(milliseconds=1))
    await asyncio.sleep(0.01)
    async with db.transaction() as session:
        await MessageRepository(session).recover_expired_leases()
    async with db.transaction() as session:
        [second] = await MessageRepository(session).claim(Channel.SMS, 10, LEASE)
    async with db.transaction() as session:
        repo = MessageRepository(session)
        assert await repo.hand_over([(first.id, first.attempts)]) == set()  # its lease was lost
        assert await repo.hand_over([(second.id, second.attempts)]) == {second.id}
        assert await repo.hand_over([(second.id, second.attempts)]) == set()  # once


async def test_a_hard_bounce_marks_the_message_and_opts_the_address_out(db: Database) -> None:
    origin, later = f"campaign:{uuid.uuid4()}", f"campaign:{uuid.uuid4()}"
    address = f"nobody.{uuid.uuid4().hex[:6]}@ukr.net"
    email = ledger.NewMessage(origin=origin, channel=Channel.EMAIL, recipient=address, subject="Тема", body="Текст")
    async with db.transaction() as session:
        await ledger.queue(session, [email])
        row = (await session.execute(select(MessageRow).where(MessageRow.origin == origin))).scalar_one()
        await ledger.record(session, row, Outcome(Result.SENT, provider_id="<x@crm>"), base_seconds=1)
    async with db.transaction() as session:
        row = await MessageRepository(session).get(row.id)
        assert row is not None
        assert await ledger.bounced(session, row, "5.1.1 smtp; 550 User unknown", opt_out=True)
    async with db.transaction() as session:
        row = await MessageRepository(session).get(row.id)
        assert row is not None
        assert not await ledger.bounced(session, row, "again", opt_out=True)  # a repeated report changes nothing
    assert (row.status, row.last_error) == ("bounced", "5.1.1 smtp; 550 User unknown")
    async with db.transaction() as session:
        assert await ledger.queue(session, [ledger.NewMessage(**{**email.__dict__, "origin": later})]) == 0
        opted = (await session.execute(text("SELECT reason FROM opt_out WHERE recipient = :r"), {"r": address})).all()
    assert opted == [("hard_bounce",)]
    assert (await statuses(db, later))[address] == "suppressed"


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
