"""The SMTP adapter against a real aiosmtpd server: authentication, and how refusals map to
bounced (permanent) or retried (temporary) outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from crm_platform.testing import free_port
from notifications.channels import Outgoing, Result, SmtpAdapter
from notifications.settings import NotifySettings

# The test server takes AUTH over plain TCP on loopback; production sets smtp_starttls.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class Handler:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 No such mailbox"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.original_content or envelope.content)
        return "250 Accepted"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"crm", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def server() -> Iterator[tuple[int, Handler]]:
    handler = Handler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    yield controller.port, handler
    controller.stop()


def outgoing(recipient: str) -> Outgoing:
    return Outgoing("0192f0e8-1111-7000-8000-000000000001", recipient, "Рахунок № 17 до сплати", "Шановні клієнти!")


async def test_an_authenticated_send_arrives_with_its_message_id(server: tuple[int, Handler]) -> None:
    port, handler = server
    adapter = SmtpAdapter(NotifySettings(smtp_port=port, smtp_username="crm", smtp_password="s3cret"))
    try:
        outcome = await adapter.send(outgoing("buh@zoria.ua"))
    finally:
        await adapter.close()
    assert outcome.result is Result.SENT
    assert outcome.provider_id == "<0192f0e8-1111-7000-8000-000000000001@crm.example.ua>"
    mail = message_from_bytes(handler.received[0], policy=policy.default)
    assert mail["Subject"] == "Рахунок № 17 до сплати"
    assert mail.get_content().strip() == "Шановні клієнти!"


async def test_a_wrong_password_fails_without_retrying(server: tuple[int, Handler]) -> None:
    adapter = SmtpAdapter(NotifySettings(smtp_port=server[0], smtp_username="crm", smtp_password="wrong"))
    try:
        outcome = await adapter.send(outgoing("buh@zoria.ua"))
    finally:
        await adapter.close()
    assert outcome.result is Result.FAILED
    assert "535" in outcome.error


@pytest.mark.parametrize(
    ("recipient", "expected"), [("gone@zoria.ua", Result.BOUNCED), ("busy@zoria.ua", Result.TEMPORARY)]
)
async def test_refused_recipients_bounce_or_are_retried(
    server: tuple[int, Handler], recipient: str, expected: Result
) -> None:
    adapter = SmtpAdapter(NotifySettings(smtp_port=server[0], smtp_username="crm", smtp_password="s3cret"))
    try:
        outcome = await adapter.send(outgoing(recipient))
        after = await adapter.send(outgoing("buh@zoria.ua"))  # the connection is still usable
    finally:
        await adapter.close()
    assert outcome.result is expected
    assert after.result is Result.SENT


async def test_an_unreachable_server_is_a_temporary_failure() -> None:
    adapter = SmtpAdapter(NotifySettings(smtp_port=free_port(), smtp_timeout_seconds=2))
    try:
        outcome = await adapter.send(outgoing("buh@zoria.ua"))
    finally:
        await adapter.close()
    assert outcome.result is Result.TEMPORARY
