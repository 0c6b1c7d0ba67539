"""SMTP DATA split at its point of no return, on aiosmtplib's lower-level protocol calls.

RFC 5321 (4.1.1.4, 4.2.5): a server takes responsibility for a message only when its
DATA is ended by <CRLF>.<CRLF>; a connection lost before that leaves nothing delivered.
`open_data` sends MAIL, RCPT, DATA and the dot-stuffed message without that terminator
and waits until the bytes have left the process; the caller records the hand-over in its
ledger and only then calls `OpenData.terminate` (five bytes written straight into the
socket) and reads the reply. A crash before the terminator delivers nothing; after it the
message is the server's. aiosmtplib's `sendmail` writes body and terminator in one call,
so this module does the same steps itself.
"""

from __future__ import annotations

import email.message
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.email import flatten_message
from aiosmtplib.protocol import PERIOD_REGEX, SMTPProtocol, normalize_message_line_endings
from aiosmtplib.response import SMTPResponse

TERMINATOR = b".\r\n"  # the body always ends with CRLF, so this completes <CRLF>.<CRLF>


@dataclass
class OpenData:
    """A mail transaction whose content is with the server but not yet terminated."""

    client: aiosmtplib.SMTP
    protocol: SMTPProtocol
    timeout: float | None

    def terminate(self) -> None:
        """Writes the terminator; raises SMTPServerDisconnected if the connection is gone
        (then the server got nothing it may deliver)."""
        # As aiosmtplib's execute_command does before a write: a reply arriving before
        # reply() is awaited is kept, not dropped as unsolicited data.
        self.protocol._response_pending = True
        self.protocol.write(TERMINATOR)

    async def reply(self) -> SMTPResponse:
        """The server's answer to the terminated DATA. A lost connection or a timeout here
        leaves the outcome unknown: the server may have taken the message."""
        try:
            return await self.protocol.read_response(timeout=self.timeout)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            self.client.close()
            raise

    def abandon(self) -> None:
        """Drops the connection before the terminator: the server discards the message."""
        self.client.close()


async def open_data(client: aiosmtplib.SMTP, sender: str, recipient: str, message: email.message.Message) -> OpenData:
    """MAIL FROM, RCPT TO, DATA and the content, all but the terminator.

    Raises aiosmtplib's exceptions as `sendmail` would: SMTPSenderRefused,
    SMTPRecipientRefused, SMTPDataError (a refused DATA), SMTPServerDisconnected.
    """
    await client._ehlo_or_helo_if_needed()
    eight_bit = client.supports_extension("8bitmime")
    utf8 = not (sender + recipient).isascii()
    if utf8 and not client.supports_extension("smtputf8"):
        raise aiosmtplib.SMTPNotSupported("a non-ASCII address needs SMTPUTF8, which this server lacks")
    flat = normalize_message_line_endings(flatten_message(message, utf8=utf8, cte_type="8bit" if eight_bit else "7bit"))
    content = PERIOD_REGEX.sub(b"..", flat)
    options = []
    if client.supports_extension("size"):
        options.append(f"SIZE={len(flat)}")  # RFC 1870: the octets before dot-stuffing
    if eight_bit:
        options.append("BODY=8BITMIME")
    if utf8:
        options.append("SMTPUTF8")
    encoding = "utf-8" if utf8 else "ascii"
    await client.mail(sender, options=options, encoding=encoding)
    try:
        await client.rcpt(recipient, encoding=encoding)
        start = await client.execute_command(b"DATA")
        if start.code != aiosmtplib.SMTPStatus.start_input:
            raise aiosmtplib.SMTPDataError(start.code, start.message)
    except aiosmtplib.SMTPResponseException:
        await _reset(client)
        raise
    protocol = client.protocol
    if protocol is None or protocol.transport is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    protocol.write(content)
    await _flushed(protocol)
    return OpenData(client, protocol, client.timeout)


async def _flushed(protocol: SMTPProtocol) -> None:
    """Until the content has left asyncio's buffer for the kernel: the terminator must not
    queue behind it in process memory, where a crash after the ledger commit would lose it."""
    transport = protocol.transport
    if transport is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    if transport.get_write_buffer_size():  # type: ignore[attr-defined]
        transport.set_write_buffer_limits(high=0)  # type: ignore[attr-defined]  # pauses until empty
        await protocol._drain_helper()


async def _reset(client: aiosmtplib.SMTP) -> None:
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
