"""Channel adapters: e-mail over SMTP (aiosmtplib) and SMS over an HTTP gateway (httpx).

Every adapter answers an attempt with an Outcome: sent (with the provider's id),
temporary failure (retried with backoff), or permanent failure / bounce (not retried).
Messengers would be one more adapter with the same `send`.

The SMTP adapter asks the ledger's permission at the protocol's point of no return (see
notifications.smtp_handover): `handover` commits the row as handed over and, in the same
breath, calls `terminate`. The SMS gateway needs no such step: it refuses a second message
with the same Idempotency-Key, so a resend after a crash is answered with the first id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from enum import StrEnum
from typing import Protocol

import aiosmtplib
import httpx

from notifications.settings import NotifySettings
from notifications.smtp_handover import OpenData, open_data


class Result(StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary"
    FAILED = "failed"
    BOUNCED = "bounced"
    LEASE_LOST = "lease_lost"  # the row is no longer this attempt's: record nothing


class Handed(StrEnum):
    TERMINATED = "terminated"  # recorded as handed over, terminator written
    UNTERMINATED = "unterminated"  # recorded, but the connection was gone: nothing to deliver
    REFUSED = "refused"  # the attempt's lease was lost: another attempt owns the row
    FAILED = "failed"  # the ledger could not be written: not handed over


Handover = Callable[[Callable[[], None]], Awaitable[Handed]]


@dataclass(frozen=True)
class Outcome:
    result: Result
    provider_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class Outgoing:
    message_id: str  # the ledger's id: the provider's idempotency key
    recipient: str
    subject: str
    body: str
    unsubscribe_url: str = ""
    bounce_address: str = ""  # the envelope sender (VERP) where this message's bounces come back


class ChannelAdapter(Protocol):
    async def send(self, message: Outgoing, handover: Handover | None = None) -> Outcome: ...

    async def close(self) -> None: ...


def build_email(message: Outgoing, settings: NotifySettings) -> Message:
    """The mail as sent. The compat32 API with explicit Header objects, because the newer
    EmailMessage folding drops the space where it splits a long Cyrillic subject into
    encoded words."""
    charset = Charset("utf-8")
    charset.header_encoding = BASE64
    charset.body_encoding = QP
    mail = MIMEText(message.body, "plain", charset)  # type: ignore[arg-type]
    name, address = parseaddr(settings.mail_from)
    mail["From"] = formataddr((name, address), charset="utf-8")
    mail["To"] = message.recipient
    mail["Subject"] = Header(message.subject, "utf-8")  # type: ignore[assignment]
    mail["Date"] = formatdate(usegmt=True)
    # Stable per ledger row: a re-sent attempt after a crash carries the same Message-ID,
    # so the receiving side can recognise the duplicate.
    mail["Message-ID"] = f"<{message.message_id}@{settings.message_id_domain}>"
    if message.unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return mail


def sender_address(settings: NotifySettings) -> str:
    return parseaddr(settings.mail_from)[1]


class SmtpAdapter:
    """A small pool of open SMTP connections; each send takes one, reconnecting as needed."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._pool: asyncio.Queue[aiosmtplib.SMTP | None] = asyncio.Queue()
        for _ in range(max(1, settings.smtp_connections)):
            self._pool.put_nowait(None)
        self._envelope_from = sender_address(settings)

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_use_tls,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )
        await client.connect()
        if s.smtp_username:
            await client.login(s.smtp_username, s.smtp_password.get_secret_value())
        return client

    async def send(self, message: Outgoing, handover: Handover | None = None) -> Outcome:
        client = await self._pool.get()
        try:
            if client is None or not client.is_connected:
                client = await self._connect()
            mail = build_email(message, self.settings)
            data = await open_data(client, message.bounce_address or self._envelope_from, message.recipient, mail)
            return await self._finish(data, mail["Message-ID"], handover or _terminate_now)
        except aiosmtplib.SMTPRecipientRefused as exc:
            kind = Result.TEMPORARY if 400 <= exc.code < 500 else Result.BOUNCED
            return Outcome(kind, error=f"{exc.code} {exc.message}")
        except aiosmtplib.SMTPResponseException as exc:
            client = await _drop(client)
            kind = Result.TEMPORARY if 400 <= exc.code < 500 else Result.FAILED
            return Outcome(kind, error=f"{exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            client = await _drop(client)
            return Outcome(Result.TEMPORARY, error=repr(exc))
        except BaseException:  # cancelled mid-transaction: the connection's state is unknown
            if client is not None:
                client.close()
            client = None
            raise
        finally:
            self._pool.put_nowait(client)

    @staticmethod
    async def _finish(data: OpenData, message_id: str, handover: Handover) -> Outcome:
        handed = await handover(data.terminate)
        if handed is not Handed.TERMINATED:
            data.abandon()
            if handed is Handed.REFUSED:
                return Outcome(Result.LEASE_LOST, error="another attempt owns the message")
            return Outcome(Result.TEMPORARY, error=f"not handed over ({handed.value}); nothing was delivered")
        try:
            reply = await data.reply()
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            return Outcome(Result.SENT, provider_id=message_id, error=f"handed over; reply unknown: {exc}")
        if reply.code == aiosmtplib.SMTPStatus.completed:
            return Outcome(Result.SENT, provider_id=message_id)
        kind = Result.TEMPORARY if 400 <= reply.code < 500 else Result.FAILED
        return Outcome(kind, error=f"{reply.code} {reply.message}")

    async def close(self) -> None:
        while not self._pool.empty():
            await _drop(self._pool.get_nowait())


async def _terminate_now(terminate: Callable[[], None]) -> Handed:
    try:
        terminate()
    except aiosmtplib.SMTPServerDisconnected:
        return Handed.UNTERMINATED
    return Handed.TERMINATED


async def _drop(client: aiosmtplib.SMTP | None) -> None:
    if client is not None and client.is_connected:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()


class SmsGatewayAdapter:
    """The usual shape of an SMS gateway: POST {to, text, sender, reference} as JSON with an
    API key, get back {message_id}; the ledger id travels as Idempotency-Key so a retried
    request never becomes a second SMS. Delivery reports arrive later on a webhook."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._client = httpx.AsyncClient(
            base_url=settings.sms_api_url.rstrip("/"),
            timeout=settings.sms_timeout_seconds,
            headers={"Authorization": f"Bearer {settings.sms_api_key.get_secret_value()}"},
        )

    async def send(self, message: Outgoing, handover: Handover | None = None) -> Outcome:
        payload = {
            "to": message.recipient,
            "text": message.body,
            "sender": self.settings.sms_sender,
            "reference": message.message_id,
        }
        try:
            response = await self._client.post(
                "/messages", json=payload, headers={"Idempotency-Key": message.message_id}
            )
        except httpx.HTTPError as exc:
            return Outcome(Result.TEMPORARY, error=repr(exc))
        if response.status_code == 429 or response.status_code >= 500:
            return Outcome(Result.TEMPORARY, error=f"HTTP {response.status_code}: {response.text[:200]}")
        if response.status_code >= 400:
            return Outcome(Result.FAILED, error=f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            provider_id = str(response.json()["message_id"])
        except (ValueError, KeyError, TypeError):
            return Outcome(Result.TEMPORARY, error=f"unreadable answer: {response.text[:200]}")
        return Outcome(Result.SENT, provider_id=provider_id)

    async def close(self) -> None:
        await self._client.aclose()
