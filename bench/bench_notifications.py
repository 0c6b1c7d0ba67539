"""notifications: a mass mailing's messages per second through the real sender loop (ledger
claim with SKIP LOCKED, Redis token bucket, the hand-over committed before each SMTP
end-of-data — grouped across the connections waiting at that point — outcome and outbox
event committed after) into a local aiosmtpd server, against the same aiosmtplib client
sending the same messages in a bare loop, in the same run."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib
import asyncpg
import redis.asyncio as aioredis

from crm_platform.db import Database
from crm_platform.migrations import upgrade
from crm_platform.testing import ADMIN_DSN, PG_PORT, REDIS, db_url, free_port
from notifications import campaigns
from notifications.campaigns import CampaignDraft
from notifications.channels import Outgoing, SmtpAdapter, build_email
from notifications.domain import Channel
from notifications.repository import SelectionFilter
from notifications.sender import Sender
from notifications.settings import NotifySettings
from notifications.throttle import TokenBucket

MESSAGES = 3000
CONNECTIONS = 4
MIGRATIONS = Path(__file__).resolve().parents[1] / "services/notifications/migrations"


async def smtp_server(port: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"
    )
    for _ in range(100):
        try:
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
            await client.connect()
            await client.quit()
            return process
        except (OSError, aiosmtplib.SMTPException):
            await asyncio.sleep(0.1)
    raise RuntimeError("aiosmtpd did not start")


async def bare_loop(settings: NotifySettings, outgoing: list[Outgoing]) -> float:
    """The same messages, the same client, CONNECTIONS connections, no ledger."""
    queue: asyncio.Queue[Outgoing] = asyncio.Queue()
    for message in outgoing:
        queue.put_nowait(message)

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port)
        await client.connect()
        while not queue.empty():
            await client.send_message(build_email(queue.get_nowait(), settings), sender="noreply@crm.example.ua")
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return len(outgoing) / (time.perf_counter() - started)


async def main() -> None:
    port = free_port()
    server = await smtp_server(port)
    name = f"bench_notifications_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = NotifySettings(
        smtp_port=port, smtp_connections=CONNECTIONS, email_rate_per_second=100_000, email_burst=10_000
    )
    db = Database(db_url(name), pool_size=8)
    redis = aioredis.from_url(REDIS)
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, db_url(name))
        conn = await asyncpg.connect(f"postgresql://crm:crm@127.0.0.1:{PG_PORT}/{name}")
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "partner_copy",
            columns=["id", "name", "segment", "email", "tags", "language", "version", "updated_at"],
            records=[
                (uuid.uuid4(), f"ФОП Клієнт {i:05d}", "bench", f"client{i:05d}@bench.example.ua", [], "uk", 1, now)
                for i in range(MESSAGES)
            ],
        )
        await conn.close()

        draft = CampaignDraft(str(uuid.uuid4()), "Бенчмарк", "mailing", Channel.EMAIL, "letter", {}, "bench")
        began = time.perf_counter()
        campaign = await campaigns.create_mailing(
            db, draft, SelectionFilter(segments=["bench"]), {"subject": "Зимові знижки", "text": "Пропонуємо знижки."}
        )
        queued_in = time.perf_counter() - began

        async with db.reading() as session:
            from sqlalchemy import text

            rows = (await session.execute(text("SELECT id, recipient, subject, body FROM message"))).all()
        outgoing = [Outgoing(str(r.id), r.recipient, r.subject, r.body) for r in rows]

        adapter = SmtpAdapter(settings)
        bucket = TokenBucket(redis, f"bench:{uuid.uuid4().hex}", rate_per_second=100_000, burst=10_000)
        sender = Sender(db, settings, {Channel.EMAIL: adapter}, {Channel.EMAIL: bucket})
        task = asyncio.create_task(sender.run())
        began = time.perf_counter()
        while True:
            async with db.reading() as session:
                left = (
                    await session.execute(
                        text("SELECT count(*) FROM message WHERE campaign_id = :c AND status IN ('queued','sending')"),
                        {"c": campaign.id},
                    )
                ).scalar_one()
            if left == 0:
                break
            await asyncio.sleep(0.05)
        mailing_rate = MESSAGES / (time.perf_counter() - began)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await adapter.close()

        bare_rate = await bare_loop(settings, outgoing)
        print(f"campaign of {MESSAGES:,} recipients created (rendered, ledger rows, events) in {queued_in:.2f} s")
        print(f"mass mailing through the ledger and sender loop: {mailing_rate:,.0f} messages/s")
        print(f"bare aiosmtplib loop, same messages, {CONNECTIONS} connections: {bare_rate:,.0f} messages/s")
        print(f"the ledger's cost: {mailing_rate / bare_rate:.0%} of the bare client's rate")
    finally:
        await db.dispose()
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        server.terminate()
        await server.wait()
