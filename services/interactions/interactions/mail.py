"""Incoming e-mail: an RFC 5322 message parsed with the standard library. Pure, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from crm_platform.errors import InvalidArgument

MAX_MESSAGE = 10 * 1024 * 1024
_MSG_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    parents: tuple[str, ...]  # In-Reply-To first, then References newest to oldest
    sender_name: str
    sender_address: str
    subject: str
    sent_at: datetime | None
    body: str


def message_ids(value: str | None) -> list[str]:
    return _MSG_ID.findall(value or "")


def parse_email(raw: bytes, field: str = "raw_message") -> ParsedEmail:
    if not raw.strip():
        raise InvalidArgument.single(field, "is empty")
    if len(raw) > MAX_MESSAGE:
        raise InvalidArgument.single(field, "larger than 10 MiB")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        own = message_ids(str(message.get("Message-ID", "")))
        senders = message["From"].addresses if message.get("From") else ()
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise InvalidArgument.single(field, f"not an RFC 5322 message: {exc}") from None
    if not own:
        raise InvalidArgument.single(field, "has no Message-ID header")
    if not senders or not senders[0].addr_spec or "@" not in senders[0].addr_spec:
        raise InvalidArgument.single(field, "has no From address")
    sender: Address = senders[0]
    parents = message_ids(str(message.get("In-Reply-To", ""))) + list(
        reversed(message_ids(str(message.get("References", ""))))
    )
    return ParsedEmail(
        message_id=own[0],
        parents=tuple(dict.fromkeys(p for p in parents if p != own[0])),
        sender_name=sender.display_name,
        sender_address=sender.addr_spec,
        subject=" ".join(str(message.get("Subject", "")).split()),
        sent_at=_date(message),
        body=_text(message),
    )


def _date(message: EmailMessage) -> datetime | None:
    value = message.get("Date")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(str(value))
    except (ValueError, TypeError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        return ""
    return str(content).strip()[:20000]
