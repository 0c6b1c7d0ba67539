"""One message to one address, queued through the ledger (SendMessage)."""

from __future__ import annotations

from collections.abc import Mapping

from crm_platform.contacts import normalize_email, normalize_phone
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument
from notifications import ledger, templates
from notifications.domain import Channel, Language
from notifications.models import MessageRow
from notifications.repository import MessageRepository
from notifications.templating import coerce


def normalize_recipient(channel: Channel, value: str, field: str) -> str:
    if channel is Channel.EMAIL:
        return normalize_email(value, field).lower()
    return normalize_phone(value, field)


async def send_message(
    db: Database,
    *,
    request_id: str,
    channel: Channel,
    recipient: str,
    template_code: str,
    language: Language,
    variables: Mapping[str, str],
) -> MessageRow:
    address = normalize_recipient(channel, recipient, "recipient")
    values = coerce(variables)
    async with db.transaction() as session:
        repo = MessageRepository(session)
        if (earlier := await repo.by_request_id(request_id)) is not None:
            return earlier
        resolved = await templates.resolve(session, template_code, language)
        if resolved.channel is not channel:
            raise InvalidArgument.single("template_code", f"{template_code!r} is a {resolved.channel.value} template")
        rendered = resolved.render(values)
        await ledger.queue(
            session,
            [
                ledger.NewMessage(
                    origin=f"request:{request_id}",
                    channel=channel,
                    recipient=address,
                    subject=rendered.subject,
                    body=rendered.body,
                    language=resolved.language.value,
                    request_id=request_id,
                )
            ],
        )
        message = await repo.by_request_id(request_id)
    if message is None:
        raise FailedPrecondition("the message could not be queued", rule="ledger")
    return message
