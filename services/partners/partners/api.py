"""crm.partners.v1.PartnersService: decode, call the use case, encode."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from enum import StrEnum

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
from crm_platform.taxids import TaxIdKind, compact, validate_tax_id
from partners import environment as env
from partners import leads
from partners.changes import merge_partners, update_partner
from partners.codec import (
    candidate_out,
    counterparty_in,
    counterparty_out,
    decision_role_in,
    lead_out,
    partner_in,
    partner_out,
    person_in,
    person_out,
)
from partners.domain import (
    LeadState,
    PartnerRelationKind,
    PartnerRole,
    PersonRelationKind,
    check_note,
    contact_query,
    lost_reason,
    validate_lead,
    validate_shop_customer,
)
from partners.duplicates import DEFAULT_LIMIT, MAX_LIMIT, Probe, find_candidates
from partners.importing import ImportKind, Outcome, import_rows, read_rows
from partners.leads import create_lead
from partners.legal import COUNTRIES, CounterpartyData
from partners.models import ClassHistoryRow, ClassRow
from partners.partner_cache import PartnerCache
from partners.reclassify import reclassify
from partners.register import StateRegister
from partners.registration import Registration, register_partner
from partners.repository import (
    ContactLookup,
    CounterpartyRepository,
    LeadFilter,
    LeadRepository,
    PartnerFilter,
    PartnerRepository,
    PersonRepository,
    SalesRepository,
)
from partners.shop_customers import find_or_create

MAX_REQUEST_ID = 120
MAX_WIZARD_ITEMS = 20


def _request_id(value: str, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidArgument.single("request_id", "is required")
    if len(value) > MAX_REQUEST_ID:
        raise InvalidArgument.single("request_id", f"longer than {MAX_REQUEST_ID} characters")
    return value


def _limit(value: int, field: str = "limit") -> int:
    if value < 0 or value > MAX_LIMIT:
        raise InvalidArgument.single(field, f"must be between 0 and {MAX_LIMIT}")
    return value or DEFAULT_LIMIT


def _registration_in(draft: pb.PartnerDraft, region: str) -> Registration:
    v = Violations()
    partner = None
    for field, items in (("partner.counterparties", draft.counterparties), ("partner.persons", draft.persons)):
        if len(items) > MAX_WIZARD_ITEMS:
            v.add(field, f"at most {MAX_WIZARD_ITEMS}")
    try:
        partner = partner_in(draft, region)
    except InvalidArgument as exc:
        for violation in exc.violations:
            v.add(violation.field, violation.description)
    found_counterparties = []
    for i, message in enumerate(draft.counterparties):
        try:
            found_counterparties.append(counterparty_in(message, f"partner.counterparties[{i}]", region))
        except InvalidArgument as exc:
            for violation in exc.violations:
                v.add(violation.field, violation.description)
    found_persons = []
    for i, message in enumerate(draft.persons):
        try:
            found_persons.append(person_in(message, region, f"partner.persons[{i}]"))
        except InvalidArgument as exc:
            for violation in exc.violations:
                v.add(violation.field, violation.description)
    v.raise_if_any()
    assert partner is not None
    return Registration(partner, tuple(found_counterparties), tuple(found_persons))


class PartnersApi(pb_grpc.PartnersServiceServicer):
    def __init__(self, db: Database, cache: PartnerCache, register: StateRegister) -> None:
        self.db = db
        self.cache = cache
        self.register = register

    async def _checked(self, counterparty: CounterpartyData) -> CounterpartyData:
        if not counterparty.tax_id:
            return counterparty
        record = await self.register.lookup(counterparty.country, counterparty.tax_id)
        return dataclasses.replace(counterparty, register_status=record.status.value if record else "")

    async def LookupRegister(
        self, request: pb.LookupRegisterRequest, context: ServicerContext
    ) -> pb.LookupRegisterResponse:
        country = request.country.strip().upper()
        if country not in COUNTRIES:
            raise InvalidArgument.single("country", f"must be one of {', '.join(COUNTRIES)}")
        if not request.tax_id.strip():
            raise InvalidArgument.single("tax_id", "is required")
        number = compact(request.tax_id)
        kind = TaxIdKind.UA_EDRPOU if country == "UA" and len(number) == 8 else None
        kind = kind or (TaxIdKind.UA_IPN if country == "UA" else TaxIdKind.RU_INN)
        tax_id = validate_tax_id(kind, number, "tax_id")
        record = await self.register.lookup(country, tax_id)
        if record is None:
            return pb.LookupRegisterResponse(found=False)
        draft = pb.CounterpartyDraft(
            legal_form=enum_out(record.legal_form, pb.LegalForm, "LEGAL_FORM_"),
            country=record.country,
            full_name=record.full_name,
            short_name=record.short_name,
            tax_id=record.tax_id,
            kpp=record.kpp,
            # The register's phones are the legal entity's own: ready to keep as its contacts.
            contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_PHONE, value=p, label="register") for p in record.phones],
        )
        if record.legal_address:
            draft.legal_address.CopyFrom(common_pb2.Address(**record.legal_address))
        return pb.LookupRegisterResponse(
            found=True,
            counterparty=draft,
            phones=list(record.phones),
            status=enum_out(record.status, pb.RegisterStatus, "REGISTER_STATUS_"),
        )

    async def RegisterPartner(
        self, request: pb.RegisterPartnerRequest, context: ServicerContext
    ) -> pb.RegisterPartnerResponse:
        request_id = _request_id(request.request_id, required=False)
        if not request.HasField("partner"):
            raise InvalidArgument.single("partner", "is required")
        registration = _registration_in(request.partner, request.default_phone_region or "UA")
        registration = dataclasses.replace(
            registration, counterparties=tuple([await self._checked(c) for c in registration.counterparties])
        )
        result = await register_partner(
            self.db, registration, request_id=request_id or None, confirm_duplicates=request.confirm_duplicates
        )
        if result.partner is None:
            return pb.RegisterPartnerResponse(duplicates=[candidate_out(c) for c in result.duplicates])
        return pb.RegisterPartnerResponse(
            partner=partner_out(result.partner), persons=[person_out(p) for p in result.persons]
        )

    async def GetPartner(self, request: pb.GetPartnerRequest, context: ServicerContext) -> pb.Partner:
        partner_id = parse_id(request.id, "id")
        cached = await self.cache.get(partner_id)
        if cached is not None:
            return cached
        token = self.cache.token()
        async with self.db.reading() as session:
            repo = PartnerRepository(session)
            stored = await repo.get(partner_id)
            if stored is None:
                survivor = await repo.survivor_of(partner_id)
                stored = await repo.get(survivor) if survivor else None
        if stored is None:
            raise NotFound(f"partner {partner_id} not found")
        message = partner_out(stored)
        if stored.row.id == partner_id:  # a merged id is not cached: the survivor's changes would not drop it
            await self.cache.put(partner_id, message, token)
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

    async def UpdatePartner(self, request: pb.UpdatePartnerRequest, context: ServicerContext) -> pb.Partner:
        partner_id = parse_id(request.id, "id")
        if request.expected_version < 0:
            raise InvalidArgument.single("expected_version", "must not be negative")
        if not request.HasField("partner"):
            raise InvalidArgument.single("partner", "is required")
        data = partner_in(request.partner, request.default_phone_region or "UA")
        stored = await update_partner(self.db, self.cache, partner_id, data, expected_version=request.expected_version)
        return partner_out(stored)

    async def CheckDuplicates(
        self, request: pb.CheckDuplicatesRequest, context: ServicerContext
    ) -> pb.DuplicatesResponse:
        limit = _limit(request.limit)
        if not request.HasField("partner"):
            raise InvalidArgument.single("partner", "is required")
        registration = _registration_in(request.partner, request.default_phone_region or "UA")
        async with self.db.reading() as session:
            found = await find_candidates(
                session, Probe.of_draft(registration.partner, registration.counterparties), limit=limit
            )
        return pb.DuplicatesResponse(candidates=[candidate_out(c) for c in found])

    async def FindDuplicates(
        self, request: pb.FindDuplicatesRequest, context: ServicerContext
    ) -> pb.DuplicatesResponse:
        partner_id = parse_id(request.partner_id, "partner_id")
        limit = _limit(request.limit)
        async with self.db.reading() as session:
            stored = await PartnerRepository(session).get(partner_id)
            if stored is None:
                raise NotFound(f"partner {partner_id} not found")
            found = await find_candidates(session, Probe.of_stored(stored), exclude=partner_id, limit=limit)
        return pb.DuplicatesResponse(candidates=[candidate_out(c) for c in found])

    async def MergePartners(self, request: pb.MergePartnersRequest, context: ServicerContext) -> pb.Partner:
        _request_id(request.request_id, required=False)
        survivor = parse_id(request.survivor_id, "survivor_id")
        merged = [parse_id(value, f"merged_ids[{i}]") for i, value in enumerate(request.merged_ids)]
        return partner_out(await merge_partners(self.db, self.cache, survivor, merged))

    async def AddCounterparty(self, request: pb.AddCounterpartyRequest, context: ServicerContext) -> pb.Counterparty:
        partner_id = parse_id(request.partner_id, "partner_id")
        if not request.HasField("counterparty"):
            raise InvalidArgument.single("counterparty", "is required")
        data = await self._checked(
            counterparty_in(request.counterparty, "counterparty", request.default_phone_region.strip().upper())
        )
        async with self.db.transaction() as session:
            if await PartnerRepository(session).get(partner_id) is None:
                raise NotFound(f"partner {partner_id} not found")
            stored = await CounterpartyRepository(session).add(partner_id, data)
        await self.cache.invalidate(partner_id)
        return counterparty_out(stored)

    async def AddPerson(self, request: pb.AddPersonRequest, context: ServicerContext) -> pb.Person:
        data = person_in(request.person, request.default_phone_region or "UA", "person")
        links = [self._link_in(link, f"person.links[{i}]") for i, link in enumerate(request.person.links)]
        return person_out(await env.add_person(self.db, data, links))

    async def LinkPerson(self, request: pb.LinkPersonRequest, context: ServicerContext) -> pb.Person:
        person_id = parse_id(request.person_id, "person_id")
        return person_out(await env.link_person(self.db, person_id, self._link_in(request.link, "link")))

    async def UnlinkPerson(self, request: pb.UnlinkPersonRequest, context: ServicerContext) -> pb.Person:
        person_id = parse_id(request.person_id, "person_id")
        partner_id = parse_id(request.partner_id, "partner_id")
        return person_out(await env.unlink_person(self.db, person_id, partner_id))

    async def MergeContactPersons(self, request: pb.MergeContactPersonsRequest, context: ServicerContext) -> pb.Person:
        _request_id(request.request_id, required=False)
        survivor = parse_id(request.survivor_id, "survivor_id")
        merged = [parse_id(value, f"merged_ids[{i}]") for i, value in enumerate(request.merged_ids)]
        return person_out(await env.merge_persons(self.db, survivor, merged))

    async def DeletePartnerRelation(
        self, request: pb.DeletePartnerRelationRequest, context: ServicerContext
    ) -> pb.DeleteRelationResponse:
        from_id = parse_id(request.from_partner_id, "from_partner_id")
        to_id = parse_id(request.to_partner_id, "to_partner_id")
        kind = enum_in(request.kind, pb.PartnerRelationKind, "PARTNER_RELATION_KIND_", PartnerRelationKind, "kind")
        return pb.DeleteRelationResponse(removed=await env.delete_partner_relation(self.db, from_id, to_id, kind.value))

    async def DeletePersonRelation(
        self, request: pb.DeletePersonRelationRequest, context: ServicerContext
    ) -> pb.DeleteRelationResponse:
        from_id = parse_id(request.from_person_id, "from_person_id")
        to_id = parse_id(request.to_person_id, "to_person_id")
        kind = enum_in(request.kind, pb.PersonRelationKind, "PERSON_RELATION_KIND_", PersonRelationKind, "kind")
        return pb.DeleteRelationResponse(removed=await env.delete_person_relation(self.db, from_id, to_id, kind.value))

    @staticmethod
    def _link_in(message: pb.PersonLink, prefix: str) -> env.Link:
        partner_id = parse_id(message.partner_id, f"{prefix}.partner_id")
        position = " ".join(message.position.split())
        if len(position) > 120:
            raise InvalidArgument.single(f"{prefix}.position", "longer than 120 characters")
        return env.Link(partner_id, position, decision_role_in(message.decision_role, f"{prefix}.decision_role"))

    async def GetPerson(self, request: pb.GetPersonRequest, context: ServicerContext) -> pb.Person:
        return person_out(await env.get_person(self.db, parse_id(request.id, "id")))

    async def ListPersons(self, request: pb.ListPersonsRequest, context: ServicerContext) -> pb.ListPersonsResponse:
        partner_id = parse_id(request.partner_id, "partner_id")
        async with self.db.reading() as session:
            found = await PersonRepository(session).of_partner(partner_id)
        return pb.ListPersonsResponse(persons=[person_out(p) for p in found])

    async def RelatePartners(
        self, request: pb.RelatePartnersRequest, context: ServicerContext
    ) -> pb.RelatePartnersResponse:
        from_id = parse_id(request.from_partner_id, "from_partner_id")
        to_id = parse_id(request.to_partner_id, "to_partner_id")
        kind = enum_in(request.kind, pb.PartnerRelationKind, "PARTNER_RELATION_KIND_", PartnerRelationKind, "kind")
        created = await env.relate_partners(self.db, from_id, to_id, kind.value, check_note(request.note))
        return pb.RelatePartnersResponse(created=created)

    async def RelatePersons(
        self, request: pb.RelatePersonsRequest, context: ServicerContext
    ) -> pb.RelatePersonsResponse:
        from_id = parse_id(request.from_person_id, "from_person_id")
        to_id = parse_id(request.to_person_id, "to_person_id")
        kind = enum_in(request.kind, pb.PersonRelationKind, "PERSON_RELATION_KIND_", PersonRelationKind, "kind")
        created = await env.relate_persons(self.db, from_id, to_id, kind.value, check_note(request.note))
        return pb.RelatePersonsResponse(created=created)

    async def GetEnvironment(self, request: pb.GetEnvironmentRequest, context: ServicerContext) -> pb.Environment:
        partner_id = parse_id(request.partner_id, "partner_id")
        if request.depth < 0 or request.depth > env.MAX_DEPTH:
            raise InvalidArgument.single("depth", f"must be between 0 and {env.MAX_DEPTH}")
        graph = await env.environment(self.db, partner_id, request.depth or 1)
        kinds = {"partner": pb.EnvironmentNode.KIND_PARTNER, "person": pb.EnvironmentNode.KIND_PERSON}
        return pb.Environment(
            nodes=[
                pb.EnvironmentNode(kind=kinds[n.kind], id=str(n.id), name=n.name, distance=n.distance)
                for n in graph.nodes
            ],
            edges=[
                pb.EnvironmentEdge(from_id=str(e.from_id), to_id=str(e.to_id), kind=e.kind, note=e.note)
                for e in graph.edges
            ],
        )

    async def ImportRecords(self, request: pb.ImportRecordsRequest, context: ServicerContext) -> pb.ImportReport:
        request_id = _request_id(request.request_id, required=False)
        kind = enum_in(request.kind, pb.ImportKind, "IMPORT_KIND_", ImportKind, "kind")
        file_format = enum_in(request.format, pb.ImportFormat, "IMPORT_FORMAT_", _Format, "format")
        rows = read_rows(request.content, file_format.value, kind)
        region = request.default_phone_region or "UA"
        results = await import_rows(self.db, kind, rows, region=region, batch=request_id or None)
        outcomes = {
            Outcome.CREATED: pb.ImportRowResult.OUTCOME_CREATED,
            Outcome.DUPLICATE: pb.ImportRowResult.OUTCOME_DUPLICATE,
            Outcome.REJECTED: pb.ImportRowResult.OUTCOME_REJECTED,
            Outcome.MERGED: pb.ImportRowResult.OUTCOME_MERGED,
        }
        return pb.ImportReport(
            created=sum(r.outcome is Outcome.CREATED for r in results),
            duplicates=sum(r.outcome is Outcome.DUPLICATE for r in results),
            rejected=sum(r.outcome is Outcome.REJECTED for r in results),
            merged=sum(r.outcome is Outcome.MERGED for r in results),
            rows=[
                pb.ImportRowResult(
                    row=r.row,
                    outcome=outcomes[r.outcome],
                    id=r.id,
                    duplicate_of=r.duplicate_of,
                    errors=[pb.RowError(field=e.field, reason=e.description) for e in r.errors],
                )
                for r in results
            ],
        )

    async def GetClassification(
        self, request: pb.GetClassificationRequest, context: ServicerContext
    ) -> pb.ClassificationResponse:
        partner_id = parse_id(request.partner_id, "partner_id")
        async with self.db.reading() as session:
            if await PartnerRepository(session).get(partner_id) is None:
                raise NotFound(f"partner {partner_id} not found")
            sales = SalesRepository(session)
            current = await sales.class_of(partner_id)
            history = await sales.history(partner_id)
        return pb.ClassificationResponse(
            current=_class_out(current) if current else None, history=[_class_out(h) for h in history]
        )

    async def ClassifyPartners(
        self, request: pb.ClassifyPartnersRequest, context: ServicerContext
    ) -> pb.ClassifyPartnersResponse:
        return pb.ClassifyPartnersResponse(changed=await reclassify(self.db))

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

    async def ListLeads(self, request: pb.ListLeadsRequest, context: ServicerContext) -> pb.ListLeadsResponse:
        size = page_size(request.page.page_size)
        after = _lead_cursor(request.page.page_token)
        flt = _lead_filter(request.filter)
        async with self.db.reading() as session:
            found = await LeadRepository(session).list(flt, limit=size + 1, after=after)
        page = found[:size]
        next_token = ""
        if len(found) > size:
            next_token = PageToken(page[-1].created_at.isoformat(), page[-1].id).encode()
        return pb.ListLeadsResponse(
            leads=[lead_out(r) for r in page], page=common_pb2.PageResponse(next_page_token=next_token, total_size=-1)
        )

    async def GetLeadBoard(self, request: pb.GetLeadBoardRequest, context: ServicerContext) -> pb.LeadBoard:
        if request.per_column < 0 or request.per_column > MAX_PER_COLUMN:
            raise InvalidArgument.single("per_column", f"must be between 0 and {MAX_PER_COLUMN}")
        per_column = request.per_column or 20
        flt = _lead_filter(request.filter)
        states = [LeadState(s) for s in flt.states] if flt.states else list(LeadState)
        columns = []
        async with self.db.reading() as session:
            repo = LeadRepository(session)
            counts = await repo.count_by_state(flt)
            for state in states:
                column_filter = dataclasses.replace(flt, states=(state.value,))
                leads = await repo.list(column_filter, limit=per_column, after=None)
                columns.append(
                    pb.LeadColumn(
                        state=enum_out(state, pb.LeadState, "LEAD_STATE_"),
                        count=counts.get(state.value, 0),
                        leads=[lead_out(r) for r in leads],
                    )
                )
        return pb.LeadBoard(columns=columns)

    async def TakeLeadInWork(self, request: pb.TakeLeadInWorkRequest, context: ServicerContext) -> pb.Lead:
        lead_id = parse_id(request.id, "id")
        responsible = request.responsible_id.strip()
        if len(responsible) > 120:
            raise InvalidArgument.single("responsible_id", "longer than 120 characters")
        row = await leads.take_in_work(
            self.db, lead_id, responsible_id=responsible, expected_version=_version(request.expected_version)
        )
        return lead_out(row)

    async def LoseLead(self, request: pb.LoseLeadRequest, context: ServicerContext) -> pb.Lead:
        lead_id = parse_id(request.id, "id")
        reason, comment = lost_reason(request.reason, request.comment)
        row = await leads.lose(
            self.db, lead_id, reason=reason, comment=comment, expected_version=_version(request.expected_version)
        )
        return lead_out(row)

    async def ConvertLead(self, request: pb.ConvertLeadRequest, context: ServicerContext) -> pb.ConvertLeadResponse:
        lead_id = parse_id(request.id, "id")
        existing = parse_id(request.existing_partner_id, "existing_partner_id") if request.existing_partner_id else None
        draft = None
        if request.HasField("partner"):
            if existing is not None:
                raise InvalidArgument.single("partner", "give either a partner draft or existing_partner_id")
            draft = partner_in(request.partner, request.default_phone_region or "UA")
        title = " ".join(request.deal_title.split())
        if len(title) > 300:
            raise InvalidArgument.single("deal_title", "longer than 300 characters")
        done = await leads.convert(
            self.db,
            self.cache,
            lead_id,
            draft=draft,
            existing_partner_id=existing,
            open_deal=request.open_deal,
            deal_title=title,
            confirm_duplicates=request.confirm_duplicates,
        )
        return pb.ConvertLeadResponse(
            lead=lead_out(done.lead),
            partner=partner_out(done.partner) if done.partner else None,
            duplicates=[candidate_out(c) for c in done.duplicates],
        )


MAX_PER_COLUMN = 100


class _Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def _class_out(row: ClassRow | ClassHistoryRow) -> pb.PartnerClass:
    return pb.PartnerClass(
        abc=row.abc,
        xyz=row.xyz,
        stage=enum_out(row.stage, pb.RelationshipStage, "RELATIONSHIP_STAGE_"),
        classified_at=timestamp_out(row.classified_at),
    )


def _version(value: int) -> int:
    if value < 0:
        raise InvalidArgument.single("expected_version", "must not be negative")
    return value


def _lead_cursor(token: str) -> tuple[datetime, uuid.UUID] | None:
    decoded = PageToken.decode(token)
    if decoded is None:
        return None
    try:
        return datetime.fromisoformat(decoded.key), decoded.id
    except ValueError:
        raise InvalidArgument.single("page.page_token", "not a page token this service issued") from None


def _lead_filter(message: pb.LeadFilter) -> LeadFilter:
    states = tuple(
        dict.fromkeys(
            enum_in(s, pb.LeadState, "LEAD_STATE_", LeadState, f"filter.states[{i}]").value
            for i, s in enumerate(message.states)
        )
    )
    for name in ("responsible_id", "source", "tag", "text"):
        if len(getattr(message, name)) > 120:
            raise InvalidArgument.single(f"filter.{name}", "longer than 120 characters")
    return LeadFilter(
        states=states,
        responsible_id=message.responsible_id.strip(),
        source=message.source.strip(),
        tag=message.tag.strip(),
        text=message.text.strip(),
    )


SERVICES_ONLY = frozenset({Role.SERVICE, Role.OPS})


def grpc_service(db: Database, cache: PartnerCache, register: StateRegister) -> GrpcService:
    return GrpcService(
        full_name=pb.DESCRIPTOR.services_by_name["PartnersService"].full_name,
        servicer=PartnersApi(db, cache, register),
        add_to_server=pb_grpc.add_PartnersServiceServicer_to_server,
        access={
            "FindOrCreateByShopCustomer": SERVICES_ONLY,
            "ClassifyPartners": frozenset({Role.HEAD, Role.OPS, Role.SERVICE}),
        },
    )
