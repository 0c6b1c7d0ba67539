"""Transactional outbox: events are written with the state change and relayed to Kafka.

``add_event`` writes a row in the caller's transaction, so an event exists exactly when
its state change does. ``OutboxRelay`` sends pending rows in commit order with an
idempotent producer (acks=all) and marks them published only after Kafka acknowledged
them. With several replicas, one relay at a time holds a PostgreSQL advisory lock: the
others stand by, so events of one aggregate are never sent out of order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import zlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from crm_platform.clock import utcnow
from crm_platform.events import DomainEvent, Envelope
from crm_platform.metrics import OUTBOX_BACKLOG, OUTBOX_FAILURES, OUTBOX_PUBLISHED
from crm_platform.tables import OutboxMessage

log = logging.getLogger(__name__)

Send = Callable[[OutboxMessage], Awaitable[object]]
"""Sends one message and returns an awaitable that resolves when Kafka acknowledged it."""


def add_event(session: AsyncSession, event: DomainEvent, *, source: str, event_id: uuid.UUID | None = None) -> Envelope:
    envelope = Envelope.wrap(event, source=source, event_id=event_id)
    session.add(
        OutboxMessage(
            event_id=uuid.UUID(envelope.id),
            topic=event.TOPIC,
            key=envelope.subject,
            event_type=envelope.type,
            headers=envelope.headers(),
            payload=envelope.data,
        )
    )
    return envelope


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        send: Send,
        *,
        lock_name: str,
        batch_size: int = 500,
        poll_seconds: float = 0.05,
        idle_poll_seconds: float = 1.0,
        standby_seconds: float = 1.0,
        retention: timedelta = timedelta(days=1),
    ) -> None:
        self._engine = engine
        self._send = send
        self.lock_name = lock_name
        self._lock_key = zlib.crc32(f"crm-outbox:{lock_name}".encode())
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._idle_poll_seconds = max(idle_poll_seconds, poll_seconds)
        self._standby_seconds = standby_seconds
        self._retention = retention
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.is_leader = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    def wake(self) -> None:
        """Shortens the wait after a local commit; polling covers other replicas."""
        self._wake.set()

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Publishes what is pending (bounded by flush_timeout), then stops."""
        if self._task is None:
            return
        if self.is_leader:
            try:
                await asyncio.wait_for(self._drain(), flush_timeout)
            except (TimeoutError, Exception):
                log.warning("outbox not fully flushed at shutdown; another replica or the next start sends it")
        self._stopping.set()
        self._wake.set()
        await self._task

    async def _drain(self) -> None:
        while await self.pending() and self.is_leader:
            self._wake.set()
            await asyncio.sleep(self._poll_seconds)

    async def pending(self) -> int:
        async with self._engine.connect() as conn:
            return await self._count_pending(conn)

    @staticmethod
    async def _count_pending(conn: AsyncConnection) -> int:
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        count = await conn.scalar(select(func.count()).select_from(table).where(table.c.published_at.is_(None)))
        await conn.commit()
        return int(count or 0)

    async def _run(self) -> None:
        backoff = self._poll_seconds
        while not self._stopping.is_set():
            try:
                async with self._engine.connect() as conn:
                    await self._lead(conn)
                backoff = self._poll_seconds
            except asyncio.CancelledError:
                raise
            except Exception:
                OUTBOX_FAILURES.inc()
                log.exception("outbox relay failed; retrying in %.1fs", backoff)
                self.is_leader = False
                await self._sleep(backoff)
                backoff = min(backoff * 2 + 0.1, 10.0)

    async def _lead(self, conn: AsyncConnection) -> None:
        while not self._stopping.is_set():
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._lock_key})
            await conn.commit()
            if got:
                break
            await self._sleep(self._standby_seconds)
        else:
            return
        self.is_leader = True
        log.info("outbox relay is the leader")
        try:
            purge_at = utcnow()
            # Polling finds what other replicas commit; a local commit wakes the relay at once.
            # While nothing comes, the poll slows down to idle_poll_seconds, so that an idle
            # service does not query its database twenty times a second.
            wait = self._poll_seconds
            while not self._stopping.is_set():
                sent = await self._relay_batch(conn)
                if utcnow() >= purge_at:
                    await self._purge(conn)
                    purge_at = utcnow() + timedelta(minutes=10)
                if sent >= self._batch_size:
                    continue
                wait = self._poll_seconds if sent else min(wait * 2, self._idle_poll_seconds)
                await self._sleep(wait)
        finally:
            self.is_leader = False
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._lock_key})
            await conn.commit()

    async def _relay_batch(self, conn: AsyncConnection) -> int:
        rows: Sequence[OutboxMessage] = [
            OutboxMessage.model_validate(dict(r._mapping))
            for r in await conn.execute(
                select(OutboxMessage.__table__)  # type: ignore[attr-defined]
                .where(OutboxMessage.__table__.c.published_at.is_(None))  # type: ignore[attr-defined]
                .order_by(OutboxMessage.__table__.c.seq)  # type: ignore[attr-defined]
                .limit(self._batch_size)
            )
        ]
        await conn.commit()
        if not rows:
            OUTBOX_BACKLOG.set(0)
            return 0
        try:
            acks = [await self._send(row) for row in rows]
            await asyncio.gather(*acks)
        except Exception:
            await self._mark_attempt(conn, rows)
            raise
        seqs = [row.seq for row in rows]
        await conn.execute(
            update(OutboxMessage.__table__)  # type: ignore[attr-defined]
            .where(OutboxMessage.__table__.c.seq.in_(seqs))  # type: ignore[attr-defined]
            .values(published_at=utcnow())
        )
        await conn.commit()
        for row in rows:
            OUTBOX_PUBLISHED.labels(row.topic).inc()
        if len(rows) < self._batch_size:
            OUTBOX_BACKLOG.set(0)
        else:
            OUTBOX_BACKLOG.set(await self._count_pending(conn))
        return len(rows)

    async def _mark_attempt(self, conn: AsyncConnection, rows: Sequence[OutboxMessage]) -> None:
        try:
            await conn.rollback()
            table = OutboxMessage.__table__  # type: ignore[attr-defined]
            await conn.execute(
                update(table).where(table.c.seq.in_([r.seq for r in rows])).values(attempts=table.c.attempts + 1)
            )
            await conn.commit()
        except Exception:
            log.debug("could not record the failed attempt", exc_info=True)

    async def _purge(self, conn: AsyncConnection) -> None:
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        await conn.execute(delete(table).where(table.c.published_at < utcnow() - self._retention))
        await conn.commit()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()
