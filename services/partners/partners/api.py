"""crm.partners.v1.PartnersService: decode, call the use case, encode."""

from __future__ import annotations

from crm.common.v1 import common_pb2
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.auth import Role
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, NotFound, Violations
from crm_platform.grpc_server import GrpcService
from crm_platform.ids import parse_id
from crm_platform.paging import PageToken, page_size
from crm_platform.proto_codec import enum_in, enum_out, timestamp_out
from partners.domain import (
    Contact,
    ContactKind,
    PartnerRole,
    contact_query,
    validate_lead,
    validate_partner,
    validate_shop_customer,
)
from partners.leads import create_lead
from partners.models import LeadRow
from partners.partner_cache import PartnerCache
from partners.registration import register_partner
from partners.repository import (
    ContactLookup,
    LeadRepository,
    PartnerFilter,
    PartnerRepository,
    StoredPartner,
    contact_of,
)
from partners.shop_customers import find_or_create

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
        lead_id=str(row.lead_id) if row.lead_id else "",
    )


def lead_out(row: LeadRow) -> pb.Lead:
    return pb.Lead(
        id=str(row.id),
        name=row.name,
        company=row.company,
        phone=row.phone,
        email=row.email,
        source=row.source,
        subject=row.subject,
        tags=list(row.tags),
        responsible_id=row.responsible_id,
        state=enum_out(row.state, pb.LeadState, "LEAD_STATE_"),
        lost_reason=row.lost_reason,
        lost_comment=row.lost_comment,
        partner_id=str(row.partner_id) if row.partner_id else "",
        created_at=timestamp_out(row.created_at),
        updated_at=timestamp_out(row.updated_at),
        version=row.version,
    )


def _request_id(value: str, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidArgument.single("request_id", "is required")
    if len(value) > MAX_REQUEST_ID:
        raise InvalidArgument.single("request_id", f"longer than {MAX_REQUEST_ID} characters")
    return value


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
        request_id = _request_id(request.request_id, required=False)
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
        stored = await register_partner(self.db, data, request_id=request_id or None)
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

    async def FindOrCreateByShopCustomer(
        self, request: pb.FindOrCreateByShopCustomerRequest, context: ServicerContext
    ) -> pb.FindOrCreateByShopCustomerResponse:
        data = validate_shop_customer(
            shop_id=request.shop_id,
            shop_customer_id=request.shop_customer_id,
            name=request.customer.name,
            phone=request.customer.phone,
            email=request.customer.email,
            default_phone_region=request.default_phone_region or "UA",
        )
        result = await find_or_create(self.db, data)
        return pb.FindOrCreateByShopCustomerResponse(
            partner_id=str(result.partner_id), created=result.created, matched_by=result.matched_by
        )

    async def ResolveContact(
        self, request: pb.ResolveContactRequest, context: ServicerContext
    ) -> pb.ResolveContactResponse:
        kind, value = contact_query(request.phone, request.email, request.default_phone_region or "UA")
        async with self.db.reading() as session:
            lookup = ContactLookup(session)
            partners = await lookup.partners(kind, value)
            persons = await lookup.persons(kind, value)
            leads = await lookup.open_leads(kind, value)
        return pb.ResolveContactResponse(
            normalized=value,
            partners=[pb.ResolvedPartner(partner_id=str(p.id), name=p.name) for p in partners],
            persons=[
                pb.ResolvedPerson(person_id=str(p.id), name=p.name, partner_ids=[str(i) for i in p.partner_ids])
                for p in persons
            ],
            leads=[
                pb.ResolvedLead(
                    lead_id=str(r.id),
                    name=r.name,
                    company=r.company,
                    state=enum_out(r.state, pb.LeadState, "LEAD_STATE_"),
                )
                for r in leads
            ],
        )

    async def CreateLead(self, request: pb.CreateLeadRequest, context: ServicerContext) -> pb.Lead:
        request_id = _request_id(request.request_id, required=True)
        data = validate_lead(
            name=request.name,
            company=request.company,
            phone=request.phone,
            email=request.email,
            source=request.source,
            subject=request.subject,
            tags=list(request.tags),
            responsible_id=request.responsible_id,
            default_phone_region=request.default_phone_region or "UA",
        )
        return lead_out(await create_lead(self.db, data, request_id=request_id))

    async def GetLead(self, request: pb.GetLeadRequest, context: ServicerContext) -> pb.Lead:
        lead_id = parse_id(request.id, "id")
        async with self.db.reading() as session:
            row = await LeadRepository(session).get(lead_id)
        if row is None:
            raise NotFound(f"lead {lead_id} not found")
        return lead_out(row)


SERVICES_ONLY = frozenset({Role.SERVICE, Role.OPS})


def grpc_service(db: Database, cache: PartnerCache) -> GrpcService:
    return GrpcService(
        full_name=pb.DESCRIPTOR.services_by_name["PartnersService"].full_name,
        servicer=PartnersApi(db, cache),
        add_to_server=pb_grpc.add_PartnersServiceServicer_to_server,
        access={"FindOrCreateByShopCustomer": SERVICES_ONLY},
    )
