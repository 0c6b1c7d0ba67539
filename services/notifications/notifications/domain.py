"""Notifications' rules. Pure Python, no I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from crm_platform.errors import InvalidArgument


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Language(StrEnum):
    UK = "uk"
    RU = "ru"
    EN = "en"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    BOUNCED = "bounced"
    SUPPRESSED = "suppressed"
    CANCELLED = "cancelled"


class CampaignStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


FINAL_STATUSES = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.BOUNCED,
        MessageStatus.SUPPRESSED,
        MessageStatus.CANCELLED,
    }
)
MAX_ATTEMPTS = 6
CODE_PATTERN = re.compile(r"^[a-z0-9_]{2,60}$")
PLACEHOLDER_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,59}$")


def retry_delay(attempt: int, base_seconds: float = 1.0, cap_seconds: float = 600.0) -> timedelta:
    """Exponential backoff after the attempt-th failure: 1 s, 2 s, 4 s, ... capped."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempt - 1)))


def check_code(code: str, field: str) -> str:
    clean = (code or "").strip()
    if not CODE_PATTERN.match(clean):
        raise InvalidArgument.single(field, "must be 2-60 characters of a-z, 0-9 and _")
    return clean


# --- SMS length ----------------------------------------------------------------------
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsSize:
    encoding: str
    length: int
    segments: int


def sms_size(text: str) -> SmsSize:
    """Length and segment count as an SMS gateway bills them: GSM-7 when every character
    is in the GSM 03.38 alphabet (extension characters take two septets), else UCS-2."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        septets = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return SmsSize("GSM-7", septets, 1 if septets <= 160 else math.ceil(septets / 153))
    units = len(text.encode("utf-16-le")) // 2
    return SmsSize("UCS-2", units, 1 if units <= 70 else math.ceil(units / 67))


# --- Unsubscribe links ---------------------------------------------------------------
@dataclass(frozen=True)
class OptOutToken:
    recipient: str
    channel: Channel
    partner_id: str | None


def sign_opt_out(token: OptOutToken, secret: bytes) -> str:
    payload = json.dumps(
        {"r": token.recipient, "c": token.channel.value, "p": token.partner_id}, separators=(",", ":")
    ).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return body + "." + base64.urlsafe_b64encode(_mac(secret, body)).decode().rstrip("=")


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, body.encode(), hashlib.sha256).digest()


def verify_opt_out(signed: str, secret: bytes) -> OptOutToken | None:
    """The token if the signature is ours, else None (a forged or altered link)."""
    body, _, mac = (signed or "").partition(".")
    if not body or not mac:
        return None
    expected = base64.urlsafe_b64encode(_mac(secret, body)).decode().rstrip("=")
    if not hmac.compare_digest(expected.encode(), mac.encode("utf-8", "surrogatepass")):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return OptOutToken(str(data["r"]), Channel(data["c"]), data.get("p"))
    except (ValueError, KeyError, TypeError):
        return None


# --- VERP bounce addresses -------------------------------------------------------------
# bounce+<ledger id, 32 hex>-<80-bit HMAC, 16 base32>: 55 characters, within the 64 a local
# part may have, and lower case, since mail systems may fold the case of a local part.
BOUNCE_PREFIX = "bounce+"
BOUNCE_PATTERN = re.compile(r"^bounce\+([0-9a-f]{32})-([a-z2-7]{16})$")


def sign_bounce(message_id: uuid.UUID, secret: bytes) -> str:
    """The local part of a message's bounce address (VERP)."""
    body = f"{BOUNCE_PREFIX}{message_id.hex}"
    return f"{body}-{base64.b32encode(_mac(secret, body)[:10]).decode().lower()}"


def verify_bounce(address: str, secret: bytes) -> uuid.UUID | None:
    """The ledger id a bounce address names, if the address is ours and unaltered."""
    local = (address or "").rpartition("@")[0] if "@" in (address or "") else (address or "")
    match = BOUNCE_PATTERN.match(local.lower())
    if match is None:
        return None
    body = f"{BOUNCE_PREFIX}{match.group(1)}"
    expected = base64.b32encode(_mac(secret, body)[:10]).decode().lower()
    if not hmac.compare_digest(expected, match.group(2)):
        return None
    return uuid.UUID(match.group(1))
