"""The inbound SMTP listener for bounce reports, run by the service on its own event loop.

A bounce comes back to the message's VERP address (see domain.sign_bounce). The listener
refuses, with 550, any recipient that is not a validly signed bounce address, any mail
that is not a DSN (RFC 3464) and any report naming a message the ledger does not know;
it answers 451 when the database is unreachable, so the reporting MTA tries again. A hard
bounce marks the message bounced (event `message.failed`, status "bounced") and opts the
address out of the channel (event `recipient.opted_out`, reason "hard_bounce").

aiosmtpd's Controller would run the server on a thread with a loop of its own; the handler
needs the service's database pool, which belongs to the service's loop, so the same
aiosmtpd SMTP protocol is served with loop.create_server instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.exc import SQLAlchemyError

from crm_platform.db import Database
from notifications import ledger
from notifications.domain import verify_bounce
from notifications.dsn import Verdict, parse_dsn
from notifications.repository import MessageRepository
from notifications.settings import NotifySettings

log = logging.getLogger(__name__)
MAX_REPORT_BYTES = 2_000_000


class BounceHandler:
    def __init__(self, db: Database, secret: bytes) -> None:
        self.db = db
        self.secret = secret

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if verify_bounce(address, self.secret) is None:
            log.warning("bounce listener: refused recipient %r from %s", address, session.peer)
            return "550 5.1.1 No such bounce address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw or "").encode("utf-8", "surrogateescape")
        statuses = parse_dsn(raw)
        if statuses is None:
            log.warning("bounce listener: not a delivery status notification, from %s", session.peer)
            return "550 5.6.0 Not a delivery status notification (RFC 3464)"
        ids = [i for i in (verify_bounce(a, self.secret) for a in envelope.rcpt_tos) if i is not None]
        try:
            async with self.db.transaction() as db_session:
                repo = MessageRepository(db_session)
                known = 0
                for message_id in ids:
                    message = await repo.get(message_id)
                    if message is None:
                        continue
                    known += 1
                    status = next((s for s in statuses if s.final_recipient == message.recipient), statuses[0])
                    if status.verdict is Verdict.HARD:
                        await ledger.bounced(db_session, message, status.describe(), opt_out=True)
                    elif status.verdict is Verdict.SOFT:
                        await ledger.bounced(db_session, message, status.describe(), opt_out=False)
        except (SQLAlchemyError, OSError):
            log.exception("bounce listener: the ledger is unavailable; asking the sender to retry")
            return "451 4.3.0 Temporarily unable to record the report"
        except Exception:  # a report this code mishandles must not be lost: the sender retries
            log.exception("bounce listener: could not process a report from %s", session.peer)
            return "451 4.3.0 Temporarily unable to process the report"
        if known == 0:
            log.warning("bounce listener: report for unknown messages %s, from %s", ids, session.peer)
            return "550 5.1.1 Unknown message"
        return "250 OK: report recorded"


async def listen(db: Database, settings: NotifySettings) -> asyncio.Server:
    """Starts serving at once (a taken port fails the service's start, not silently later);
    close the returned server to stop."""
    handler = BounceHandler(db, settings.unsubscribe_secret.get_secret_value().encode())
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        return SMTP(
            handler,
            hostname=settings.bounce_domain_or_default,
            ident="CRM bounce listener",
            data_size_limit=MAX_REPORT_BYTES,
            loop=loop,
        )

    server = await loop.create_server(protocol, settings.bounce_host, settings.bounce_port)
    log.info("bounce listener on %s:%d", settings.bounce_host, settings.bounce_port)
    return server


async def stop(server: asyncio.Server) -> None:
    server.close()
    await server.wait_closed()
