"""The sender loop (one per channel, on every replica): claims due ledger rows with
FOR UPDATE SKIP LOCKED, records the attempt, hands each message to its channel's adapter
within the shared rate limit, and records the outcome.

Delivery is at-least-once with a window as small as the protocol allows: the attempt
is committed before the hand-over and the outcome right after it, one message at a time.
A crash between a provider's acceptance and that commit leaves the row 'sending'; when
its lease expires it is sent again with the same id (the SMTP Message-ID, the SMS
gateway's Idempotency-Key), so the provider or the mailbox can recognise the repeat. The
window holds the messages in flight plus those finished in the last few milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from crm_platform.db import Database
from notifications import ledger
from notifications.channels import ChannelAdapter, Outcome, Outgoing, Result
from notifications.domain import Channel, OptOutToken, sign_opt_out
from notifications.models import MessageRow
from notifications.repository import CampaignRepository, MessageRepository, OptOutRepository
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
                if recovered := await MessageRepository(session).recover_expired_leases():
                    log.warning("%d messages whose sender vanished mid-attempt are queued again", recovered)
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
        outcomes: list[tuple[MessageRow, Outcome]] = []

        async def attempt(message: MessageRow) -> None:
            if limiter_error:
                outcomes.append((message, Outcome(Result.TEMPORARY, error=limiter_error)))
            else:
                outcomes.append((message, await self._attempt(channel, message)))

        # Group commit: outcomes are recorded every few milliseconds as sends complete, so
        # few messages are ever sent-but-unrecorded, without a transaction per message.
        remaining = {asyncio.create_task(attempt(m)) for m in claimed if m.recipient not in opted}
        while remaining or outcomes:
            if remaining:
                _, remaining = await asyncio.wait(remaining, timeout=GROUP_COMMIT_SECONDS)
            if outcomes:
                batch, outcomes[:] = list(outcomes), []
                async with self.db.transaction() as session:
                    await ledger.record_many(session, batch, self.settings.retry_base_seconds)
        campaign_ids = {m.campaign_id for m in claimed if m.campaign_id is not None}
        if campaign_ids:
            async with self.db.transaction() as session:
                await CampaignRepository(session).complete_finished(campaign_ids)  # type: ignore[arg-type]
        return len(claimed)

    async def _attempt(self, channel: Channel, message: MessageRow) -> Outcome:
        return await self.adapters[channel].send(
            Outgoing(
                message_id=str(message.id),
                recipient=message.recipient,
                subject=message.subject,
                body=message.body,
                unsubscribe_url=self.unsubscribe_url(message, channel) if message.campaign_id else "",
            )
        )

    def unsubscribe_url(self, message: MessageRow, channel: Channel) -> str:
        token = sign_opt_out(
            OptOutToken(message.recipient, channel, str(message.partner_id) if message.partner_id else None),
            self._secret,
        )
        return f"{self.settings.public_base_url.rstrip('/')}/unsubscribe?t={token}"
