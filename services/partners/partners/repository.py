"""Partners' queries: the only module that writes SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, literal, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.paging import PageToken
from crm_platform.text import fold, latin
from partners.domain import OPEN_LEAD_STATES, Contact, ContactKind, LeadData, PartnerData, PartnerRole
from partners.models import (
    ContactRow,
    LeadRow,
    PartnerRow,
    PersonContactRow,
    PersonLinkRow,
    PersonRow,
    ShopCustomerRow,
)

NAME_COLLATION = "uk-UA-x-icu"


@dataclass(frozen=True)
class PartnerFilter:
    name_contains: str = ""
    role: PartnerRole | None = None
    manager_id: str = ""
    segment: str = ""
    region: str = ""


@dataclass(frozen=True)
class StoredPartner:
    row: PartnerRow
    contacts: list[ContactRow]


class PartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_request_id(self, request_id: str) -> StoredPartner | None:
        query = select(PartnerRow).where(PartnerRow.request_id == request_id)
        row = (await self.session.execute(query)).scalars().first()
        return None if row is None else await self._with_contacts(row)

    async def get(self, partner_id: uuid.UUID) -> StoredPartner | None:
        row = await self.session.get(PartnerRow, partner_id)
        return None if row is None else await self._with_contacts(row)

    async def add(
        self, data: PartnerData, *, request_id: str | None, lead_id: uuid.UUID | None = None
    ) -> StoredPartner:
        row = PartnerRow(
            lead_id=lead_id,
            name=data.name,
            name_folded=data.name_folded,
            name_latin=data.name_latin,
            roles=[r.value for r in data.roles],
            manager_id=data.manager_id,
            segment=data.segment,
            region=data.region,
            tags=list(data.tags),
            source=data.source,
            request_id=request_id,
        )
        self.session.add(row)
        await self.session.flush()  # the contacts' foreign key needs the partner row first
        contacts = [
            ContactRow(
                partner_id=row.id,
                position=i,
                kind=c.kind.value,
                value=c.value,
                label=c.label,
                address=c.address,
            )
            for i, c in enumerate(data.contacts)
        ]
        self.session.add_all(contacts)
        await self.session.flush()
        return StoredPartner(row, contacts)

    async def list(self, flt: PartnerFilter, *, limit: int, after: PageToken | None) -> list[StoredPartner]:
        name_key = PartnerRow.__table__.c.name.collate(NAME_COLLATION)  # type: ignore[attr-defined]
        query = select(PartnerRow)
        if flt.name_contains:
            folded, latinized = fold(flt.name_contains), latin(flt.name_contains)
            query = query.where(
                or_(
                    PartnerRow.name_folded.contains(folded, autoescape=True),  # type: ignore[attr-defined]
                    PartnerRow.name_latin.contains(latinized, autoescape=True),  # type: ignore[attr-defined]
                )
            )
        if flt.role is not None:
            query = query.where(PartnerRow.roles.any(flt.role.value))  # type: ignore[attr-defined]
        for column, value in (
            (PartnerRow.manager_id, flt.manager_id),
            (PartnerRow.segment, flt.segment),
            (PartnerRow.region, flt.region),
        ):
            if value:
                query = query.where(column == value)
        if after is not None:
            query = query.where(
                tuple_(name_key, PartnerRow.id) > tuple_(literal(after.key).collate(NAME_COLLATION), after.id)
            )
        query = query.order_by(name_key, PartnerRow.id).limit(limit)
        rows = list((await self.session.execute(query)).scalars().all())
        contacts = await self._contacts_of([r.id for r in rows])
        return [StoredPartner(r, contacts.get(r.id, [])) for r in rows]

    async def _with_contacts(self, row: PartnerRow) -> StoredPartner:
        return StoredPartner(row, (await self._contacts_of([row.id])).get(row.id, []))

    async def _contacts_of(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ContactRow]]:
        if not ids:
            return {}
        query = select(ContactRow).where(ContactRow.partner_id.in_(ids)).order_by(ContactRow.position)  # type: ignore[attr-defined]
        found: dict[uuid.UUID, list[ContactRow]] = {}
        for row in (await self.session.execute(query)).scalars().all():
            found.setdefault(row.partner_id, []).append(row)
        return found


async def lock_keys(session: AsyncSession, keys: list[str]) -> None:
    """Transaction-scoped advisory locks, taken in sorted order so two callers never deadlock."""
    for key in sorted(set(keys)):
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})


@dataclass(frozen=True)
class NamedId:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class FoundPerson:
    id: uuid.UUID
    name: str
    partner_ids: list[uuid.UUID]


class ContactLookup:
    """Who owns a normalised phone or e-mail."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def partners(self, kind: ContactKind, value: str, *, limit: int = 50) -> list[NamedId]:
        query = (
            select(PartnerRow.id, PartnerRow.name)
            .join(ContactRow, ContactRow.partner_id == PartnerRow.id)  # type: ignore[arg-type]
            .where(ContactRow.kind == kind.value, func.lower(ContactRow.value) == value.lower())
            .distinct()
            .order_by(PartnerRow.id)
            .limit(limit)
        )
        return [NamedId(r.id, r.name) for r in (await self.session.execute(query)).all()]

    async def persons(self, kind: ContactKind, value: str, *, limit: int = 50) -> list[FoundPerson]:
        query = (
            select(PersonRow.id, PersonRow.name)
            .join(PersonContactRow, PersonContactRow.person_id == PersonRow.id)  # type: ignore[arg-type]
            .where(PersonContactRow.kind == kind.value, func.lower(PersonContactRow.value) == value.lower())
            .distinct()
            .order_by(PersonRow.id)
            .limit(limit)
        )
        rows = (await self.session.execute(query)).all()
        links: dict[uuid.UUID, list[uuid.UUID]] = {}
        if rows:
            link_query = (
                select(PersonLinkRow.person_id, PersonLinkRow.partner_id)
                .where(PersonLinkRow.person_id.in_([r.id for r in rows]))  # type: ignore[attr-defined]
                .order_by(PersonLinkRow.partner_id)
            )
            for link in (await self.session.execute(link_query)).all():
                links.setdefault(link.person_id, []).append(link.partner_id)
        return [FoundPerson(r.id, r.name, links.get(r.id, [])) for r in rows]

    async def open_leads(self, kind: ContactKind, value: str, *, limit: int = 50) -> list[LeadRow]:
        matches = LeadRow.phone == value if kind is ContactKind.PHONE else func.lower(LeadRow.email) == value.lower()
        query = (
            select(LeadRow)
            .where(matches, LeadRow.state.in_([s.value for s in OPEN_LEAD_STATES]))  # type: ignore[attr-defined]
            .order_by(LeadRow.created_at)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars().all())


class ShopCustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def partner_of(self, shop_id: str, shop_customer_id: str) -> uuid.UUID | None:
        query = select(ShopCustomerRow.partner_id).where(
            ShopCustomerRow.shop_id == shop_id, ShopCustomerRow.shop_customer_id == shop_customer_id
        )
        return (await self.session.execute(query)).scalar()

    async def bind(self, shop_id: str, shop_customer_id: str, partner_id: uuid.UUID) -> None:
        self.session.add(ShopCustomerRow(shop_id=shop_id, shop_customer_id=shop_customer_id, partner_id=partner_id))
        await self.session.flush()


class LeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, lead_id: uuid.UUID, *, for_update: bool = False) -> LeadRow | None:
        return await self.session.get(LeadRow, lead_id, with_for_update=for_update)

    async def by_request_id(self, request_id: str) -> LeadRow | None:
        query = select(LeadRow).where(LeadRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def add(self, data: LeadData, *, request_id: str) -> LeadRow:
        row = LeadRow(
            name=data.name,
            company=data.company,
            phone=data.phone,
            email=data.email,
            source=data.source,
            subject=data.subject,
            tags=list(data.tags),
            responsible_id=data.responsible_id,
            request_id=request_id,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def count_by_state(self) -> dict[str, int]:
        query = select(LeadRow.state, func.count()).group_by(LeadRow.state)
        return {state: count for state, count in (await self.session.execute(query)).all()}


def contact_of(row: ContactRow) -> Contact:
    return Contact(ContactKind(row.kind), row.value, row.label, row.address)
