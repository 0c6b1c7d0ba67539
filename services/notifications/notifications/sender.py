"""The sender loop (one per channel, on every replica): claims due ledger rows with
FOR UPDATE SKIP LOCKED, records the attempt, hands each message to its channel's adapter
within the shared rate limit, and records the outcome.

E-mail is sent exactly once across crashes of this process. The ledger's point of no
return is the SMTP end-of-data: the adapter sends everything but the terminator, the
LedgerWriter commits the row as handed over (one transaction for all the connections
waiting at that point, plus the outcomes finished meanwhile) and then writes each
terminator. A row left 'sending' by a crash goes back to the queue if it was not handed
over (the server discarded the unterminated message) and counts as sent, reply unknown,
if it was. SMS relies on the gateway's Idempotency-Key (the ledger id) instead: a resend
after a crash is answered with the first message's id, not sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from crm_platform.clock import utcnow
from crm_platform.db import Database
from notifications import ledger
from notifications.channels import ChannelAdapter, Handed, Outcome, Outgoing, Result
from notifications.domain import Channel, OptOutToken, sign_bounce, sign_opt_out
from notifications.models import MessageRow
from notifications.repository import (
    CampaignRepository,
    MessageRepository,
    OptOutRepository,
    hand_over_and_record_sent,
)
from notifications.settings import NotifySettings
from notifications.throttle import TokenBucket

log = logging.getLogger(__name__)
RECOVER_EVERY_SECONDS = 2.0
GROUP_COMMIT_SECONDS = 0.01


class Sender:
    def __init__(
        self,
        db: Database,
        settings: NotifySettings,
        adapters: dict[Channel, ChannelAdapter],
        buckets: dict[Channel, TokenBucket],
    ) -> None:
        self.db = db
        self.settings = settings
        self.adapters = adapters
        self.buckets = buckets
        self.lease = timedelta(seconds=settings.lease_seconds)
        self._secret = settings.unsubscribe_secret.get_secret_value().encode()
        self._recovered_at = 0.0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        # More than one loop per channel lets one claim and record while another sends.
        loops = max(1, self.settings.sender_loops)
        await asyncio.gather(*(self._loop(channel) for channel in self.adapters for _ in range(loops)))

    async def _loop(self, channel: Channel) -> None:
        while True:
            try:
                handled = await self.pass_once(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sender pass for %s failed; retrying", channel.value)
                handled = 0
                await asyncio.sleep(1.0)
            if handled == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.sender_poll_seconds)

    async def pass_once(self, channel: Channel) -> int:
        if time.monotonic() - self._recovered_at > RECOVER_EVERY_SECONDS:
            self._recovered_at = time.monotonic()
            async with self.db.transaction() as session:
                requeued, sent = await MessageRepository(session).recover_expired_leases()
                await ledger.recovered_as_sent(session, sent)
            if requeued:
                log.warning("%d messages whose sender vanished before the hand-over are queued again", requeued)
            if sent:
                log.warning("%d messages handed over by a vanished sender are counted as sent", len(sent))
        async with self.db.transaction() as session:
            claimed = await MessageRepository(session).claim(channel, self.settings.sender_batch, self.lease)
        if not claimed:
            return 0
        async with self.db.reading() as session:
            opted = await OptOutRepository(session).opted_out((m.recipient for m in claimed), channel.value)
        try:  # one round trip to the shared bucket for the whole batch
            await self.buckets[channel].take(len(claimed))
            limiter_error = ""
        except Exception as exc:  # the rate limiter is down: send nothing now, try again later
            limiter_error = f"rate limiter unavailable: {exc!r}"
        suppressed = [m for m in claimed if m.recipient in opted]
        if suppressed:
            async with self.db.transaction() as session:
                for message in suppressed:
                    await ledger.suppress(session, message)
        sending = asyncio.ensure_future(
            self._send([m for m in claimed if m.recipient not in opted], channel, limiter_error)
        )
        try:
            await asyncio.shield(sending)
        except asyncio.CancelledError:
            # A graceful stop lets the claimed messages finish: one cut between its ledger
            # commit and its terminator would be counted as sent without being delivered.
            await sending
            raise
        campaign_ids = {m.campaign_id for m in claimed if m.campaign_id is not None}
        if campaign_ids:
            async with self.db.transaction() as session:
                await CampaignRepository(session).complete_finished(campaign_ids)  # type: ignore[arg-type]
        return len(claimed)

    async def _send(self, messages: list[MessageRow], channel: Channel, limiter_error: str) -> None:
        writer = LedgerWriter(self.db, self.settings.retry_base_seconds, durable=self.settings.handover_durable)

        async def attempt(message: MessageRow) -> None:
            if limiter_error:
                writer.outcome(message, Outcome(Result.TEMPORARY, error=limiter_error))
            else:
                writer.outcome(message, await self._attempt(channel, message, writer))

        try:
            await asyncio.gather(*(attempt(m) for m in messages))
        finally:
            await writer.drain()

    async def _attempt(self, channel: Channel, message: MessageRow, writer: LedgerWriter) -> Outcome:
        async def handover(terminate: Callable[[], None]) -> Handed:
            return await writer.hand_over(message, terminate)

        return await self.adapters[channel].send(
            Outgoing(
                message_id=str(message.id),
                recipient=message.recipient,
                subject=message.subject,
                body=message.body,
                unsubscribe_url=self.unsubscribe_url(message, channel) if message.campaign_id else "",
                bounce_address=self.bounce_address(message) if channel is Channel.EMAIL else "",
            ),
            handover,
        )

    def bounce_address(self, message: MessageRow) -> str:
        """VERP: the envelope sender names the ledger row, signed, so a bounce finds it."""
        return f"{sign_bounce(message.id, self._secret)}@{self.settings.bounce_domain_or_default}"

    def unsubscribe_url(self, message: MessageRow, channel: Channel) -> str:
        token = sign_opt_out(
            OptOutToken(message.recipient, channel, str(message.partner_id) if message.partner_id else None),
            self._secret,
        )
        return f"{self.settings.public_base_url.rstrip('/')}/unsubscribe?t={token}"


class LedgerWriter:
    """Group commit for one sender pass: whoever reaches the hand-over point while a commit
    is running waits for the next one, which takes everyone waiting at once, together with
    the outcomes finished meanwhile. Right after each commit the committed messages'
    terminators are written, with no await in between."""

    def __init__(self, db: Database, retry_base_seconds: float, *, durable: bool = True) -> None:
        self.db = db
        self.retry_base_seconds = retry_base_seconds
        self.durable = durable
        self._handovers: list[tuple[MessageRow, Callable[[], None], asyncio.Future[Handed]]] = []
        self._outcomes: list[tuple[MessageRow, Outcome]] = []
        self._arrived = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    async def hand_over(self, message: MessageRow, terminate: Callable[[], None]) -> Handed:
        future: asyncio.Future[Handed] = asyncio.get_running_loop().create_future()
        self._handovers.append((message, terminate, future))
        self._kick()
        return await future

    def outcome(self, message: MessageRow, outcome: Outcome) -> None:
        self._outcomes.append((message, outcome))
        self._kick()

    async def drain(self) -> None:
        """Commits what is left; nothing more will come."""
        self._closing = True
        self._arrived.set()
        while self._task is not None:
            await asyncio.shield(self._task)

    def _kick(self) -> None:
        self._arrived.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            # One connection for the pass (no pool checkout and ping per commit).
            async with self.db.engine.connect() as connection:
                driver = (await connection.get_raw_connection()).driver_connection
                # The commit is on every message's path. For a crash of this process it need
                # only reach PostgreSQL; the disk protects against a crash of PostgreSQL too.
                if not self.durable:
                    await driver.execute("SET synchronous_commit = off")
                try:
                    while self._handovers or self._outcomes:
                        if not self._handovers and not self._closing:  # outcomes alone wait a little for company
                            self._arrived.clear()
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self._arrived.wait(), GROUP_COMMIT_SECONDS)
                        handovers, self._handovers = self._handovers, []
                        outcomes, self._outcomes = self._outcomes, []
                        await self._commit(driver, handovers, outcomes)
                finally:
                    if not self.durable:
                        await driver.execute("RESET synchronous_commit")  # the connection goes back to the pool
        except Exception:
            log.exception("the sender's ledger connection failed; its rows recover when their leases expire")
            for _, _, future in self._handovers:
                if not future.done():
                    future.set_result(Handed.FAILED)
            self._handovers, self._outcomes = [], []
        finally:
            self._task = None
            if self._handovers or self._outcomes:  # arrived while the connection was being released
                self._task = asyncio.create_task(self._run())

    async def _commit(
        self,
        driver: Any,
        handovers: list[tuple[MessageRow, Callable[[], None], asyncio.Future[Handed]]],
        outcomes: list[tuple[MessageRow, Outcome]],
    ) -> None:
        handovers = [h for h in handovers if not h[2].done()]
        sent = [(m, o) for m, o in outcomes if o.result is Result.SENT]
        others = [(m, o) for m, o in outcomes if o.result is not Result.SENT]
        now = utcnow()
        transaction = driver.transaction()
        try:
            await transaction.start()
            ours = await hand_over_and_record_sent(
                driver,
                [(m.id, m.attempts) for m, _, _ in handovers],
                [(m.id, o.provider_id, o.error) for m, o in sent],
                now,
                ledger.outbox_rows(ledger.sent_events(sent, now)),
            )
        except Exception:
            with contextlib.suppress(Exception):
                await transaction.rollback()
            log.exception("the ledger could not record %d hand-overs and %d outcomes", len(handovers), len(sent))
            for _, _, future in handovers:
                if not future.done():
                    future.set_result(Handed.FAILED)
            raise
        # The marks are written and their rows locked, not yet committed. COMMIT goes into
        # PostgreSQL's socket and the terminators into the SMTP sockets one after the other,
        # before either answer is awaited: once both are in the kernel they reach their servers
        # even if this process dies, so a crash can no longer fall between a committed mark and
        # its terminator (which would lose the message) nor between a terminator and its mark
        # (which would send it twice). Only the instructions between the two writes remain.
        committing = asyncio.ensure_future(transaction.commit())
        await asyncio.sleep(0)  # the commit task runs first (FIFO) and writes COMMIT
        terminated: list[asyncio.Future[Handed]] = []
        for message, terminate, future in handovers:
            if future.done():  # its sender gave up waiting; its connection is being dropped
                continue
            if message.id not in ours:
                future.set_result(Handed.REFUSED)
                continue
            try:
                terminate()
            except Exception:
                future.set_result(Handed.UNTERMINATED)
            else:
                terminated.append(future)
        try:
            await committing
        except Exception:
            # The terminators are out: those messages are delivered, their marks are not. The
            # replies still record them as sent; only a crash before that would send them again.
            log.exception("the hand-over commit failed after %d terminators were written", len(terminated))
            for future in terminated:
                future.set_result(Handed.TERMINATED)
            raise
        for future in terminated:
            future.set_result(Handed.TERMINATED)
        for callback in self.db.after_commit:
            callback()
        if others:  # retries and failures, rare: the ORM path
            async with self.db.transaction() as session:
                await ledger.record_many(session, others, self.retry_base_seconds)
