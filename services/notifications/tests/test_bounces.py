"""VERP bounce addresses and the DSN (RFC 3464) reader."""

from __future__ import annotations

import uuid
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from hypothesis import given
from hypothesis import strategies as st

from notifications.domain import sign_bounce, verify_bounce
from notifications.dsn import Verdict, parse_dsn

SECRET = b"test-secret"


def dsn(*recipients: tuple[str, str, str], diagnostic: str = "smtp; 550 5.1.1 User unknown") -> bytes:
    """A DSN as Postfix writes one: human part, delivery-status, the returned headers."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.ukr.net (Mail Delivery System)"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.attach(MIMEText("Лист не вдалося доставити.", "plain", "utf-8"))
    status = MIMEBase("message", "delivery-status")
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; mx.ukr.net"
    blocks = [per_message]
    for address, action, code in recipients:
        block = Message()
        block["Final-Recipient"] = f"rfc822; {address}"
        block["Action"] = action
        block["Status"] = code
        block["Diagnostic-Code"] = diagnostic
        blocks.append(block)
    status.set_payload(blocks)
    report.attach(status)
    headers = MIMEBase("text", "rfc822-headers")
    headers.set_payload("Message-ID: <x@crm.example.ua>\n")
    report.attach(headers)
    return report.as_bytes()


@given(st.uuids())
def test_a_bounce_address_names_its_message_and_fits_a_local_part(message_id: uuid.UUID) -> None:
    local = sign_bounce(message_id, SECRET)
    assert len(local) <= 64
    assert verify_bounce(f"{local}@agrocentr.ua", SECRET) == message_id
    assert verify_bounce(f"{local.upper()}@AGROCENTR.UA", SECRET) == message_id  # case folded by a relay


@given(st.uuids(), st.uuids())
def test_a_bounce_address_cannot_be_forged_for_another_message(ours: uuid.UUID, other: uuid.UUID) -> None:
    signature = sign_bounce(ours, SECRET).rpartition("-")[2]
    if ours != other:
        assert verify_bounce(f"bounce+{other.hex}-{signature}@agrocentr.ua", SECRET) is None
    assert verify_bounce(f"{sign_bounce(ours, b'another-secret')}@agrocentr.ua", SECRET) is None


@given(st.text(max_size=80))
def test_any_other_address_is_not_a_bounce_address(address: str) -> None:
    assert verify_bounce(address, SECRET) is None


def test_a_permanent_failure_is_a_hard_bounce() -> None:
    [status] = parse_dsn(dsn(("Nobody@Ukr.net", "failed", "5.1.1"))) or []
    assert status.final_recipient == "nobody@ukr.net"
    assert status.verdict is Verdict.HARD
    assert status.describe() == "5.1.1 smtp; 550 5.1.1 User unknown"


def test_delayed_and_temporary_reports_are_told_apart() -> None:
    statuses = parse_dsn(
        dsn(("a@ukr.net", "delayed", "4.4.1"), ("b@ukr.net", "failed", "4.2.2"), ("c@ukr.net", "delivered", "2.0.0"))
    )
    assert [s.verdict for s in statuses or []] == [Verdict.KEEP, Verdict.SOFT, Verdict.KEEP]


def test_mail_that_is_not_a_dsn_is_not_read_as_one() -> None:
    autoreply = MIMEText("Я у відпустці до 15 серпня.", "plain", "utf-8")
    autoreply["Subject"] = "Автовідповідь"
    assert parse_dsn(autoreply.as_bytes()) is None
    other_report = dsn(("a@ukr.net", "failed", "5.1.1")).replace(b"delivery-status", b"disposition-notification")
    assert parse_dsn(other_report) is None
    assert parse_dsn(dsn()) is None  # a report naming no recipient


@given(st.binary(max_size=2000))
def test_any_bytes_give_a_report_or_none_never_an_error(raw: bytes) -> None:
    result = parse_dsn(raw)
    assert result is None or all(s.action and s.status for s in result)


@given(st.integers(min_value=0, max_value=2000), st.binary(min_size=1, max_size=40))
def test_a_damaged_dsn_gives_a_report_or_none_never_an_error(at: int, noise: bytes) -> None:
    raw = dsn(("nobody@ukr.net", "failed", "5.1.1"))
    result = parse_dsn(raw[:at] + noise + raw[at:])
    assert result is None or all(s.verdict in Verdict for s in result)
