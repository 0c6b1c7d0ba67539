"""Intake from outside: incoming e-mail and calls from the telephony webhook become interactions.

A sender or caller partners does not know becomes one lead: the lead's request_id is
derived from the normalised address or number, so re-sent webhooks and later calls from
the same number find the same lead.
"""

from __future__ import annotations

import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm_platform.contacts import normalize_email, normalize_phone
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, NotFound, PlatformError, Unavailable, Violations
from interactions.chains import Draft, register, subject_of
from interactions.directory import Directory
from interactions.domain import Kind, Resolution, Subject
from interactions.mail import parse_email
from interactions.models import InteractionRow
from interactions.repository import InteractionRepository, KnownSubjectRepository


async def _lead_subject(
    directory: Directory, *, phone: str = "", email: str = "", name: str, source: str, about: str, responsible: str
) -> tuple[Subject, str, uuid.UUID | None, uuid.UUID | None]:
    """The subject for a contact: its partner, its open lead, or a lead created now."""
    match = await directory.resolve(phone=phone, email=email)
    if match is not None and match.partner_id is not None:
        return Subject("partners", "partner", match.partner_id), match.name, match.partner_id, match.person_id
    if match is not None and match.lead_id is not None:
        return Subject("partners", "lead", match.lead_id), f"Лід: {match.name}", None, None
    key = f"phone:{phone}" if phone else f"email:{email}"
    lead = await directory.create_lead(
        request_id=f"interactions:{key}",
        name=name,
        phone=phone,
        email=email,
        source=source,
        subject=about,
        responsible_id=responsible,
    )
    return Subject("partners", "lead", lead.lead_id), lead.title, None, None


async def _remember_subject(session: AsyncSession, subject: Subject, title: str, partner_id: uuid.UUID | None) -> None:
    """Partners answered directly; its event may still be on the way, so the copy learns of it now."""
    repo = KnownSubjectRepository(session)
    if await repo.get(subject) is None:
        await repo.upsert(
            subject.service, subject.type, subject.id, title=title or str(subject.id), partner_id=partner_id
        )


async def ingest_email(db: Database, directory: Directory, raw: bytes, responsible_id: str) -> InteractionRow:
    mail = parse_email(raw)
    async with db.reading() as session:
        repo = InteractionRepository(session)
        seen = await repo.email(mail.message_id)
        if seen is not None:
            return await _interaction(repo, seen.interaction_id)
        parent_ref = await repo.first_known_email(mail.parents)
        parent = await repo.get(parent_ref.interaction_id) if parent_ref else None
    sender = normalize_email(mail.sender_address, "raw_message.from")
    participant = {"name": mail.sender_name, "email": sender, "resolution": Resolution.UNRESOLVED.value}
    subject = subject_of(parent) if parent else None
    title, partner_id, person_id = "", None, None
    if subject is None:
        subject, title, partner_id, person_id = await _lead_subject(
            directory,
            email=sender,
            name=mail.sender_name or sender,
            source="e-mail",
            about=mail.subject,
            responsible=responsible_id,
        )
    elif parent is not None:
        partner_id = parent.partner_id
    if partner_id:
        participant.update(partner_id=str(partner_id), resolution=Resolution.AUTOMATIC.value)
        if person_id:
            participant["person_id"] = str(person_id)

    async def remember(session: AsyncSession, row: InteractionRow) -> None:
        await InteractionRepository(session).remember_email(mail.message_id, row.id, row.chain_id)

    draft = Draft(
        kind=Kind.EMAIL,
        title=(mail.subject or "(без теми)")[:300],
        responsible_id=parent.responsible_id if parent else responsible_id,
        subject=subject,
        description=mail.body,
        participants=[participant],
        occurred_at=mail.sent_at,
        chain_id=parent.chain_id if parent else None,
        partner_id=partner_id,
    )
    try:
        if parent is None:
            async with db.transaction() as session:
                await _remember_subject(session, subject, title, partner_id)
        return await register(db, None, draft, remember)
    except IntegrityError:  # the same message delivered twice at once
        async with db.reading() as session:
            repo = InteractionRepository(session)
            seen = await repo.email(mail.message_id)
            if seen is None:
                raise
            return await _interaction(repo, seen.interaction_id)


async def _interaction(repo: InteractionRepository, interaction_id: uuid.UUID) -> InteractionRow:
    row = await repo.get(interaction_id)
    if row is None:
        raise NotFound(f"interaction {interaction_id} not found")
    return row


@dataclass(frozen=True)
class Call:
    call_id: str
    direction: Kind
    phone: str
    started_at: datetime
    duration_seconds: int
    responsible_id: str
    note: str


def parse_call(payload: object) -> Call:
    if not isinstance(payload, dict):
        raise InvalidArgument.single("body", "must be a JSON object")
    v = Violations()
    call_id = str(payload.get("call_id", "")).strip()
    if not call_id or len(call_id) > 200:
        v.add("call_id", "required, at most 200 characters")
    direction = {"in": Kind.INCOMING_CALL, "out": Kind.OUTGOING_CALL}.get(str(payload.get("direction", "in")))
    if direction is None:
        v.add("direction", "must be 'in' or 'out'")
    phone = ""
    try:
        phone = normalize_phone(str(payload.get("phone", "")), "phone")
    except InvalidArgument as exc:
        v.add("phone", exc.violations[0].description)
    started = datetime.now(UTC)
    if payload.get("started_at"):
        try:
            started = datetime.fromisoformat(str(payload["started_at"]))
            if started.tzinfo is None:
                raise ValueError
            started = started.astimezone(UTC)
        except ValueError:
            v.add("started_at", "must be an ISO 8601 time with an offset")
    duration = payload.get("duration_seconds", 0)
    if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
        v.add("duration_seconds", "must be a whole number of seconds, not negative")
    v.raise_if_any()
    return Call(
        call_id=call_id,
        direction=direction or Kind.INCOMING_CALL,
        phone=phone,
        started_at=started,
        duration_seconds=int(duration),
        responsible_id=str(payload.get("user_id", "") or "reception")[:120],
        note=str(payload.get("note", ""))[:2000],
    )


async def record_call(db: Database, directory: Directory, call: Call) -> InteractionRow:
    async with db.reading() as session:
        repo = InteractionRepository(session)
        if (seen := await repo.call(call.call_id)) is not None:
            return await _interaction(repo, seen.interaction_id)
    subject, title, partner_id, person_id = await _lead_subject(
        directory,
        phone=call.phone,
        name=call.phone,
        source="phone call",
        about=call.note or "Вхідний дзвінок",
        responsible=call.responsible_id,
    )
    participant = {"phone": call.phone, "resolution": Resolution.UNRESOLVED.value}
    if partner_id:
        participant.update(partner_id=str(partner_id), resolution=Resolution.AUTOMATIC.value)
        if person_id:
            participant["person_id"] = str(person_id)

    async def remember(session: AsyncSession, row: InteractionRow) -> None:
        await InteractionRepository(session).remember_call(call.call_id, row.id)

    minutes, seconds = divmod(call.duration_seconds, 60)
    label = "Вхідний дзвінок" if call.direction == Kind.INCOMING_CALL else "Вихідний дзвінок"
    draft = Draft(
        kind=call.direction,
        title=f"{label} {call.phone}",
        responsible_id=call.responsible_id,
        subject=subject,
        description=f"Тривалість {minutes} хв {seconds} с. {call.note}".strip(),
        participants=[participant],
        occurred_at=call.started_at,
        partner_id=partner_id,
    )
    try:
        async with db.transaction() as session:
            await _remember_subject(session, subject, title, partner_id)
        return await register(db, None, draft, remember)
    except IntegrityError:  # the webhook re-sent while the first delivery was being stored
        async with db.reading() as session:
            repo = InteractionRepository(session)
            if (seen := await repo.call(call.call_id)) is None:
                raise
            return await _interaction(repo, seen.interaction_id)


def telephony_route(db: Database, directory: Directory, secret: str) -> Route:
    """POST /webhooks/telephony with header X-Telephony-Secret; JSON {call_id, direction, phone, ...}."""

    async def webhook(request: Request) -> JSONResponse:
        if not hmac.compare_digest(request.headers.get("x-telephony-secret", ""), secret):
            return JSONResponse({"error": "bad or missing X-Telephony-Secret"}, status_code=401)
        try:
            payload = json.loads(await request.body() or b"null")
            row = await record_call(db, directory, parse_call(payload))
        except json.JSONDecodeError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        except InvalidArgument as exc:
            fields = {v.field: v.description for v in exc.violations}
            return JSONResponse({"error": "invalid call", "fields": fields}, status_code=400)
        except Unavailable as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        except PlatformError as exc:
            return JSONResponse({"error": exc.message}, status_code=422)
        return JSONResponse(
            {
                "interaction_id": str(row.id),
                "chain_id": str(row.chain_id),
                "subject": subject_of(row).as_dict() if subject_of(row) else None,
            }
        )

    return Route("/webhooks/telephony", webhook, methods=["POST"])


def email_route(db: Database, directory: Directory, secret: str) -> Route:
    """POST /webhooks/email with header X-Mail-Secret and the raw RFC 5322 message as the body
    (what a mail gateway's pipe or "raw MIME" forwarding sends); ?responsible=<user> for new threads."""

    async def webhook(request: Request) -> JSONResponse:
        if not hmac.compare_digest(request.headers.get("x-mail-secret", ""), secret):
            return JSONResponse({"error": "bad or missing X-Mail-Secret"}, status_code=401)
        responsible = request.query_params.get("responsible", "").strip()[:120] or "sales"
        try:
            row = await ingest_email(db, directory, await request.body(), responsible)
        except InvalidArgument as exc:
            fields = {v.field: v.description for v in exc.violations}
            return JSONResponse({"error": "invalid message", "fields": fields}, status_code=400)
        except Unavailable as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        except PlatformError as exc:
            return JSONResponse({"error": exc.message}, status_code=422)
        return JSONResponse({"interaction_id": str(row.id), "chain_id": str(row.chain_id)})

    return Route("/webhooks/email", webhook, methods=["POST"])
