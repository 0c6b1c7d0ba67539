"""crm.partners.v1.PartnersService: decode, call the use case, encode."""

from __future__ import annotations

from crm.common.v1 import common_pb2
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, NotFound, Violations
from crm_platform.grpc_server import GrpcService
from crm_platform.ids import parse_id
from crm_platform.paging import PageToken, page_size
from crm_platform.proto_codec import enum_in, enum_out, timestamp_out
from partners.domain import Contact, ContactKind, PartnerRole, validate_partner
from partners.partner_cache import PartnerCache
from partners.registration import register_partner
from partners.repository import PartnerFilter, PartnerRepository, StoredPartner, contact_of

MAX_REQUEST_ID = 120


def partner_out(stored: StoredPartner) -> pb.Partner:
    row = stored.row
    return pb.Partner(
        id=str(row.id),
        name=row.name,
        roles=[enum_out(r, pb.PartnerRole, "PARTNER_ROLE_") for r in row.roles],
        manager_id=row.manager_id,
        segment=row.segment,
        region=row.region,
        tags=list(row.tags),
        source=row.source,
        contacts=[_contact_out(contact_of(c)) for c in stored.contacts],
        created_at=timestamp_out(row.created_at),
        updated_at=timestamp_out(row.updated_at),
        version=row.version,
    )


def _contact_out(contact: Contact) -> pb.ContactInfo:
    message = pb.ContactInfo(
        kind=enum_out(contact.kind, pb.ContactKind, "CONTACT_KIND_"), value=contact.value, label=contact.label
    )
    if contact.address:
        message.address.CopyFrom(common_pb2.Address(**contact.address))
    return message


def _contact_in(message: pb.ContactInfo, field: str) -> Contact:
    kind = enum_in(message.kind, pb.ContactKind, "CONTACT_KIND_", ContactKind, f"{field}.kind")
    address = None
    if message.HasField("address"):
        address = {f.name: v for f, v in message.address.ListFields()}
    return Contact(kind, message.value, message.label, address)


class PartnersApi(pb_grpc.PartnersServiceServicer):
    def __init__(self, db: Database, cache: PartnerCache) -> None:
        self.db = db
        self.cache = cache

    async def RegisterPartner(
        self, request: pb.RegisterPartnerRequest, context: ServicerContext
    ) -> pb.RegisterPartnerResponse:
        if len(request.request_id) > MAX_REQUEST_ID:
            raise InvalidArgument.single("request_id", f"longer than {MAX_REQUEST_ID} characters")
        if not request.HasField("partner"):
            raise InvalidArgument.single("partner", "is required")
        draft = request.partner
        v = Violations()
        roles: list[PartnerRole] = []
        for i, value in enumerate(draft.roles):
            try:
                roles.append(enum_in(value, pb.PartnerRole, "PARTNER_ROLE_", PartnerRole, f"partner.roles[{i}]"))
            except InvalidArgument as exc:
                v.add(exc.violations[0].field, exc.violations[0].description)
        contacts: list[Contact] = []
        for i, message in enumerate(draft.contacts):
            try:
                contacts.append(_contact_in(message, f"partner.contacts[{i}]"))
            except InvalidArgument as exc:
                v.add(exc.violations[0].field, exc.violations[0].description)
        v.raise_if_any()
        data = validate_partner(
            name=draft.name,
            roles=roles,
            manager_id=draft.manager_id,
            segment=draft.segment,
            region=draft.region,
            tags=list(draft.tags),
            source=draft.source,
            contacts=contacts,
            default_phone_region=request.default_phone_region or "UA",
        )
        stored = await register_partner(self.db, data, request_id=request.request_id or None)
        return pb.RegisterPartnerResponse(partner=partner_out(stored))

    async def GetPartner(self, request: pb.GetPartnerRequest, context: ServicerContext) -> pb.Partner:
        partner_id = parse_id(request.id, "id")
        cached = await self.cache.get(partner_id)
        if cached is not None:
            return cached
        async with self.db.reading() as session:
            stored = await PartnerRepository(session).get(partner_id)
        if stored is None:
            raise NotFound(f"partner {partner_id} not found")
        message = partner_out(stored)
        await self.cache.put(partner_id, message)
        return message

    async def ListPartners(self, request: pb.ListPartnersRequest, context: ServicerContext) -> pb.ListPartnersResponse:
        size = page_size(request.page.page_size)
        after = PageToken.decode(request.page.page_token)
        role = None
        if request.role:
            role = enum_in(request.role, pb.PartnerRole, "PARTNER_ROLE_", PartnerRole, "role")
        if len(request.name_contains) > 300:
            raise InvalidArgument.single("name_contains", "longer than 300 characters")
        flt = PartnerFilter(
            name_contains=request.name_contains.strip(),
            role=role,
            manager_id=request.manager_id,
            segment=request.segment,
            region=request.region,
        )
        async with self.db.reading() as session:
            found = await PartnerRepository(session).list(flt, limit=size + 1, after=after)
        page = found[:size]
        next_token = ""
        if len(found) > size:
            last = page[-1].row
            next_token = PageToken(last.name, last.id).encode()
        return pb.ListPartnersResponse(
            partners=[partner_out(p) for p in page],
            page=common_pb2.PageResponse(next_page_token=next_token, total_size=-1),
        )


def grpc_service(db: Database, cache: PartnerCache) -> GrpcService:
    return GrpcService(
        full_name=pb.DESCRIPTOR.services_by_name["PartnersService"].full_name,
        servicer=PartnersApi(db, cache),
        add_to_server=pb_grpc.add_PartnersServiceServicer_to_server,
    )
