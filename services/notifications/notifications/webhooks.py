"""HTTP routes for the outside world: one-click unsubscribe (RFC 8058) and the SMS
gateway's delivery reports."""

from __future__ import annotations

import hmac
import html
import uuid

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.outbox import add_event
from notifications import events, ledger
from notifications.domain import verify_opt_out
from notifications.repository import OptOutRepository
from notifications.settings import NotifySettings

PAGE = """<!doctype html><html lang="uk"><meta charset="utf-8"><title>{title}</title>
<body><p>{text}</p>{form}</body></html>"""
DELIVERED = {"delivered", "DELIVRD"}
NOT_DELIVERED = {"failed", "undelivered", "rejected", "expired", "UNDELIV", "REJECTD", "EXPIRED"}


def routes(db: Database, settings: NotifySettings) -> list[Route]:
    secret = settings.unsubscribe_secret.get_secret_value().encode()
    webhook_token = settings.sms_webhook_token.get_secret_value()

    async def unsubscribe(request: Request) -> Response:
        signed = request.query_params.get("t", "")
        token = verify_opt_out(signed, secret)
        if token is None:
            return HTMLResponse(PAGE.format(title="Помилка", text="Посилання недійсне.", form=""), status_code=400)
        if request.method == "GET":
            # A GET only asks: mail scanners follow links, and must not unsubscribe anyone.
            form = (
                f'<form method="post" action="?t={html.escape(signed)}">'
                '<button type="submit">Відписатися / Unsubscribe</button></form>'
            )
            text = f"Відписати {html.escape(token.recipient)} від розсилок ({token.channel.value})?"
            return HTMLResponse(PAGE.format(title="Відписка", text=text, form=form))
        partner_id = uuid.UUID(token.partner_id) if token.partner_id else None
        async with db.transaction() as session:
            if await OptOutRepository(session).add(token.recipient, token.channel, partner_id):
                add_event(
                    session,
                    events.RecipientOptedOut(
                        recipient=token.recipient, channel=token.channel.value, partner_id=partner_id, at=utcnow()
                    ),
                    source=ledger.SOURCE,
                )
        return HTMLResponse(PAGE.format(title="Готово", text="Ви відписалися від розсилок.", form=""))

    async def sms_report(request: Request) -> Response:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given, webhook_token):
            return JSONResponse({"error": "bad token"}, status_code=401)
        try:
            report = await request.json()
            provider_id = str(report["message_id"])
            status = str(report["status"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "expected JSON with message_id and status"}, status_code=400)
        if status not in DELIVERED | NOT_DELIVERED:
            return JSONResponse({"error": f"unknown status {status!r}"}, status_code=400)
        async with db.transaction() as session:
            message = await ledger.delivered(
                session, provider_id, status in DELIVERED, str(report.get("error", ""))[:500]
            )
        if message is None:
            return JSONResponse({"error": "unknown message_id"}, status_code=404)
        return JSONResponse({"ok": True})

    return [
        Route("/unsubscribe", unsubscribe, methods=["GET", "POST"]),
        Route("/webhooks/sms/delivery", sms_report, methods=["POST"]),
    ]
