"""Parsing incoming RFC 5322 messages."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_platform.errors import InvalidArgument
from interactions.mail import parse_email


def message(**headers: str) -> bytes:
    msg = EmailMessage()
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Добрий день! Коли буде відвантаження насіння?")
    return bytes(msg)


def test_reply_lists_its_parents_nearest_first() -> None:
    raw = message(
        From="Петро Іваненко <petro@agro-svit.com.ua>",
        To="sales@crm.example",
        Subject="Re: Поставка насіння",
        Message_ID="<3@agro-svit.com.ua>",
        In_Reply_To="<2@crm.example>",
        References="<1@agro-svit.com.ua> <2@crm.example>",
        Date="Mon, 23 Nov 2026 10:15:00 +0200",
    )
    parsed = parse_email(raw)
    assert parsed.message_id == "<3@agro-svit.com.ua>"
    assert parsed.parents == ("<2@crm.example>", "<1@agro-svit.com.ua>")
    assert parsed.sender_name == "Петро Іваненко"
    assert parsed.sender_address == "petro@agro-svit.com.ua"
    assert parsed.subject == "Re: Поставка насіння"
    assert parsed.sent_at == datetime(2026, 11, 23, 8, 15, tzinfo=UTC)
    assert "відвантаження" in parsed.body


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (message(From="a@b.ua", Subject="x"), "Message-ID"),
        (message(Message_ID="<1@b.ua>", Subject="x"), "From"),
    ],
)
def test_bad_messages_are_invalid_argument(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_email(raw)
    assert caught.value.violations[0].field == "raw_message"
    assert reason in caught.value.violations[0].description


@given(st.binary(max_size=400))
def test_arbitrary_bytes_parse_or_are_refused_cleanly(raw: bytes) -> None:
    outcome: str
    try:
        outcome = parse_email(raw).message_id[:1]
    except InvalidArgument as exc:
        outcome = exc.violations[0].field
    assert outcome in ("<", "raw_message")
