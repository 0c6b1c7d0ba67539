"""Conversions shared by the servicers: the caller, request ids, subjects, interactions."""

from __future__ import annotations

import uuid

from crm.interactions.v1 import interactions_pb2 as pb

from crm_platform.auth import current_principal
from crm_platform.contacts import normalize_email, normalize_phone
from crm_platform.errors import InvalidArgument, Violations
from crm_platform.proto_codec import enum_out, timestamp_out
from interactions.domain import Subject, check_subject, clean_text
from interactions.models import InteractionRow


def me() -> str:
    return current_principal().subject


def request_id(value: str, v: Violations) -> str | None:
    if len(value) > 200:
        v.add("request_id", "longer than 200 characters")
    return value.strip() or None


def subject_in(message: pb.Subject, field: str, v: Violations) -> Subject | None:
    return check_subject(message.service.strip(), message.type.strip(), message.id.strip(), field, v)


def subject_out(service: str | None, kind: str | None, ident: uuid.UUID | None) -> pb.Subject | None:
    return pb.Subject(service=service, type=kind, id=str(ident)) if service and kind and ident else None


def interaction_out(row: InteractionRow, title: str = "") -> pb.Interaction:
    return pb.Interaction(
        id=str(row.id),
        kind=enum_out(row.kind, pb.InteractionKind, "INTERACTION_KIND_"),
        subject=subject_out(row.subject_service, row.subject_type, row.subject_id),
        subject_title=title,
        chain_id=str(row.chain_id),
        title=row.title,
        description=row.description,
        participants=[
            pb.Participant(
                name=p.get("name", ""),
                phone=p.get("phone", ""),
                email=p.get("email", ""),
                address=p.get("address", ""),
                partner_id=p.get("partner_id", ""),
                person_id=p.get("person_id", ""),
                resolution=enum_out(p.get("resolution", "unresolved"), pb.Resolution, "RESOLUTION_"),
            )
            for p in row.participants
        ],
        status=enum_out(row.status, pb.InteractionStatus, "INTERACTION_STATUS_"),
        importance=enum_out(row.importance, pb.Importance, "IMPORTANCE_"),
        responsible_id=row.responsible_id,
        occurred_at=timestamp_out(row.occurred_at),
        postponed_until=timestamp_out(row.postponed_until),
        partner_id=str(row.partner_id) if row.partner_id else "",
        created_at=timestamp_out(row.created_at),
        processed_at=timestamp_out(row.processed_at),
    )


def participants_in(items: list[pb.Participant], v: Violations) -> list[dict[str, str]]:
    out = []
    if len(items) > 50:
        v.add("participants", "at most 50")
    for i, item in enumerate(items[:50]):
        field = f"participants[{i}]"
        person: dict[str, str] = {}
        name = clean_text(item.name, f"{field}.name", v, required=False)
        if name:
            person["name"] = name
        for key, normalize in (("phone", normalize_phone), ("email", normalize_email)):
            value = getattr(item, key).strip()
            if value:
                try:
                    person[key] = normalize(value, f"{field}.{key}")
                except InvalidArgument as exc:
                    v.add(f"{field}.{key}", exc.violations[0].description)
        address = clean_text(item.address, f"{field}.address", v, required=False, limit=500)
        if address:
            person["address"] = address
        if not person:
            v.add(field, "give at least a name, phone, e-mail or address")
        out.append(person)
    return out
