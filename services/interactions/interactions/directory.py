"""Who is behind a phone or an e-mail address, and leads for strangers: partners' gRPC API."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

import grpc
from crm.partners.v1 import partners_pb2 as ppb
from crm.partners.v1 import partners_pb2_grpc as ppb_grpc

from crm_platform.errors import Unavailable
from crm_platform.grpc_client import ServiceClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Match:
    partner_id: uuid.UUID | None
    person_id: uuid.UUID | None
    lead_id: uuid.UUID | None = None
    name: str = ""


@dataclass(frozen=True)
class NewLead:
    lead_id: uuid.UUID
    title: str


class Directory(Protocol):
    async def resolve(self, *, phone: str = "", email: str = "") -> Match | None: ...

    async def create_lead(
        self, *, request_id: str, name: str, phone: str, email: str, source: str, subject: str, responsible_id: str
    ) -> NewLead: ...


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class PartnersDirectory:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client
        self._stub = ppb_grpc.PartnersServiceStub(client.channel)

    async def resolve(self, *, phone: str = "", email: str = "") -> Match | None:
        """The one partner (and person) the contact belongs to; None when nobody or several."""
        try:
            found = await self._client.call(
                self._stub.ResolveContact, ppb.ResolveContactRequest(phone=phone, email=email), idempotent=True
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise Unavailable(f"partners: {exc.details()}") from None
            raise
        partners = {p.partner_id: p.name for p in found.partners}
        for person in found.persons:
            partners.update({pid: partners.get(pid, "") for pid in person.partner_ids})
        if len(partners) == 1:
            partner_id, name = next(iter(partners.items()))
            person = found.persons[0] if len(found.persons) == 1 else None
            return Match(_uuid(partner_id), _uuid(person.person_id) if person else None, None, name)
        if not partners and len(found.leads) == 1:
            lead = found.leads[0]
            return Match(None, None, _uuid(lead.lead_id), lead.name or lead.company)
        return None

    async def create_lead(
        self, *, request_id: str, name: str, phone: str, email: str, source: str, subject: str, responsible_id: str
    ) -> NewLead:
        request = ppb.CreateLeadRequest(
            request_id=request_id,
            name=name[:300],
            phone=phone,
            email=email,
            source=source,
            subject=subject[:4000],
            responsible_id=responsible_id,
        )
        try:
            lead = await self._client.call(self._stub.CreateLead, request, idempotent=True)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise Unavailable(f"partners: {exc.details()}") from None
            raise
        title = " — ".join(p for p in (lead.name, lead.company) if p) or lead.phone or lead.email
        return NewLead(uuid.UUID(lead.id), f"Лід: {title}")
