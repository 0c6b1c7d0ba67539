"""Delivery status notifications (RFC 3464) read with the stdlib email package. Pure, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.errors import MessageError
from email.message import Message
from enum import StrEnum

STATUS_PATTERN = re.compile(r"^([245])\.\d{1,3}\.\d{1,3}$")


class Verdict(StrEnum):
    HARD = "hard"  # Action: failed, Status 5.x.x: the address does not take mail
    SOFT = "soft"  # Action: failed, Status 4.x.x: the reporting MTA gave up on a temporary failure
    KEEP = "keep"  # delayed, delivered, relayed, expanded: nothing to record


@dataclass(frozen=True)
class RecipientStatus:
    final_recipient: str
    action: str
    status: str
    diagnostic: str

    @property
    def verdict(self) -> Verdict:
        match = STATUS_PATTERN.match(self.status)
        if self.action != "failed" or match is None:
            return Verdict.KEEP
        return Verdict.HARD if match.group(1) == "5" else Verdict.SOFT

    def describe(self) -> str:
        return " ".join(p for p in (self.status, self.diagnostic) if p)[:500]


def parse_dsn(raw: bytes) -> list[RecipientStatus] | None:
    """The per-recipient statuses of a DSN, or None if the mail is not one (no
    multipart/report with report-type=delivery-status and a message/delivery-status part
    naming at least one recipient with an Action and a Status)."""
    try:
        mail = message_from_bytes(raw, policy=policy.default)
        if mail.get_content_type() != "multipart/report":
            return None
        if str(mail.get_param("report-type", "")).lower() != "delivery-status":
            return None
        part = next((p for p in mail.iter_parts() if p.get_content_type() == "message/delivery-status"), None)  # type: ignore[attr-defined]
        if part is None:
            return None
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            return None
        statuses = [_recipient(block) for block in blocks[1:] if isinstance(block, Message)]
    except (MessageError, ValueError, TypeError, LookupError, AttributeError):
        return None
    found = [s for s in statuses if s is not None]
    return found or None


def _recipient(block: Message) -> RecipientStatus | None:
    action = _field(block, "Action").lower()
    status = _field(block, "Status").split(" ")[0]
    if not action or not status:
        return None
    return RecipientStatus(
        final_recipient=_address(_field(block, "Final-Recipient")),
        action=action,
        status=status,
        diagnostic=_field(block, "Diagnostic-Code"),
    )


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _address(typed: str) -> str:
    """'rfc822; Name@Example.ua' → 'name@example.ua'."""
    kind, _, address = typed.partition(";")
    return (address if address else kind).strip().lower()
