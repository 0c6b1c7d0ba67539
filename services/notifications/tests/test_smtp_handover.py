"""The split DATA against a real aiosmtpd server: a message whose DATA is never terminated
(connection dropped, or the sending process SIGKILLed) is not delivered; a terminated one
is delivered exactly once, its dot-stuffed lines intact."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.mime.text import MIMEText
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

from crm_platform.testing import free_port
from notifications.smtp_handover import open_data


class Recorder:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Recorder]]:
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, recorder
    controller.stop()


def letter(text: str) -> MIMEText:
    mail = MIMEText(text, "plain", "utf-8")
    mail["From"] = "noreply@agrocentr.ua"
    mail["To"] = "olena@zoria-agro.com.ua"
    mail["Subject"] = "Рахунок № 1842"
    return mail


async def connected(port: int) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=5)
    await client.connect()
    return client


async def settle() -> None:
    await asyncio.sleep(0.3)  # the server's thread handles the dropped connection


async def test_unterminated_data_on_a_dropped_connection_delivers_nothing(smtp: tuple[int, Recorder]) -> None:
    port, recorder = smtp
    client = await connected(port)
    data = await open_data(client, "bounce@agrocentr.ua", "olena@zoria-agro.com.ua", letter("Текст листа."))
    data.abandon()
    await settle()
    assert recorder.received == []

    again = await connected(port)  # the server is fine and takes the next one
    data = await open_data(again, "bounce@agrocentr.ua", "olena@zoria-agro.com.ua", letter("Другий лист."))
    data.terminate()
    assert (await data.reply()).code == 250
    await again.quit()
    await settle()
    assert len(recorder.received) == 1


async def test_terminated_data_is_delivered_once_with_leading_dots_intact(smtp: tuple[int, Recorder]) -> None:
    port, recorder = smtp
    client = await connected(port)
    text = "Рядок перший\n.\n.крапка на початку\nостанній"
    data = await open_data(client, "bounce@agrocentr.ua", "olena@zoria-agro.com.ua", letter(text))
    data.terminate()
    reply = await data.reply()
    assert reply.code == 250
    second = await open_data(client, "bounce@agrocentr.ua", "ivan@dnipro-trade.ua", letter("Ще один."))
    second.terminate()
    assert (await second.reply()).code == 250  # the connection carries on after a split DATA
    await client.quit()
    await settle()
    assert [r for r, _ in recorder.received] == [["olena@zoria-agro.com.ua"], ["ivan@dnipro-trade.ua"]]
    body = message_from_bytes(recorder.received[0][1], policy=policy.default).get_content()  # type: ignore[union-attr]
    assert body.replace("\r\n", "\n").rstrip("\n") == text


CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from email.mime.text import MIMEText
    import aiosmtplib
    from notifications.smtp_handover import open_data

    async def main(port: int, terminate: bool) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=5)
        await client.connect()
        mail = MIMEText("Лист перед падінням.", "plain", "utf-8")
        mail["Subject"] = "Падіння"
        data = await open_data(client, "bounce@agrocentr.ua", "olena@zoria-agro.com.ua", mail)
        if terminate:
            data.terminate()
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main(int(sys.argv[1]), sys.argv[2] == "1"))
    """
)


async def test_a_reply_that_arrives_before_it_is_awaited_is_kept(smtp: tuple[int, Recorder]) -> None:
    """The sender awaits its ledger commit between writing the terminator and reading the
    reply; the server's answer may well be there first."""
    port, recorder = smtp
    client = await connected(port)
    data = await open_data(client, "noreply@agrocentr.ua", "olena@zoria-agro.com.ua", letter("Добрий день!"))
    data.terminate()
    await settle()  # the 250 arrives now, before reply() is called
    assert (await data.reply()).code == 250
    assert len(recorder.received) == 1
    await client.quit()


@pytest.mark.parametrize(("terminate", "delivered"), [(False, 0), (True, 1)])
async def test_a_sigkilled_sender_delivers_only_what_it_terminated(
    smtp: tuple[int, Recorder], terminate: bool, delivered: int
) -> None:
    port, recorder = smtp
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(port), "1" if terminate else "0", env={**os.environ}
    )
    assert await child.wait() == -signal.SIGKILL
    await settle()
    assert len(recorder.received) == delivered
