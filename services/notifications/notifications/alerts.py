"""Reminders and alerts for staff: an event from another service becomes one message to
the user it concerns, at the address the users directory holds."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notifications import ledger, templates
from notifications.domain import Channel, Language

log = logging.getLogger(__name__)


async def alert_user(
    session: AsyncSession, user_id: str, template_code: str, values: dict[str, Any], event_id: str
) -> bool:
    """Queues the alert once per event (the ledger's origin is the event id). A user missing
    from the directory, or without an address, is logged and skipped: nothing to send to."""
    from notifications.repository import UserRepository

    user = await UserRepository(session).get(user_id) if user_id else None
    if user is None:
        log.warning("alert %s for unknown user %r not sent: add them with SaveUser", template_code, user_id)
        return False
    channel = Channel(user.channel)
    recipient = user.email if channel is Channel.EMAIL else user.phone
    if not recipient:
        channel, recipient = (Channel.SMS, user.phone) if user.phone else (Channel.EMAIL, user.email)
    if not recipient:
        log.warning("alert %s for user %r not sent: no address", template_code, user_id)
        return False
    resolved = await templates.resolve(session, template_code, Language(user.language))
    rendered = resolved.render(values)
    body = rendered.body if channel is Channel.EMAIL else f"{rendered.subject}: {rendered.body}".strip(": ")
    await ledger.queue(
        session,
        [
            ledger.NewMessage(
                origin=f"event:{event_id}",
                channel=channel,
                recipient=recipient,
                subject=rendered.subject,
                body=body,
                language=resolved.language.value,
                source_event_id=event_id,
            )
        ],
    )
    return True
