"""Partners' queries: the only module that writes SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Text, bindparam, delete, func, literal, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.paging import PageToken
from crm_platform.text import fold, latin
from partners.domain import OPEN_LEAD_STATES, Contact, ContactKind, LeadData, PartnerData, PartnerRole, PersonData
from partners.legal import CounterpartyData
from partners.models import (
    ActivityRow,
    BankAccountRow,
    ClassHistoryRow,
    ClassRow,
    ContactRow,
    CounterpartyContactRow,
    CounterpartyRow,
    ExchangeRateRow,
    LeadRow,
    PartnerAliasRow,
    PartnerRelationRow,
    PartnerRow,
    PersonAliasRow,
    PersonContactRow,
    PersonLinkRow,
    PersonRelationRow,
    PersonRow,
    SalesMonthRow,
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
class StoredCounterparty:
    row: CounterpartyRow
    accounts: list[BankAccountRow]
    contacts: list[CounterpartyContactRow] = field(default_factory=list)


@dataclass(frozen=True)
class StoredPartner:
    row: PartnerRow
    contacts: list[ContactRow]
    counterparties: list[StoredCounterparty] = field(default_factory=list)


class PartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_request_id(self, request_id: str) -> StoredPartner | None:
        query = select(PartnerRow).where(PartnerRow.request_id == request_id)
        row = (await self.session.execute(query)).scalars().first()
        return None if row is None else await self._with_contacts(row)

    async def get(self, partner_id: uuid.UUID, *, for_update: bool = False) -> StoredPartner | None:
        row = await self.session.get(PartnerRow, partner_id, with_for_update=for_update, populate_existing=for_update)
        if row is None:
            return None
        stored = await self._with_contacts(row)
        counterparties = await CounterpartyRepository(self.session).of_partners([row.id])
        return StoredPartner(row, stored.contacts, counterparties.get(row.id, []))

    async def exists(self, partner_id: uuid.UUID) -> bool:
        query = select(PartnerRow.id).where(PartnerRow.id == partner_id)
        return (await self.session.execute(query)).scalar() is not None

    async def survivor_of(self, merged_id: uuid.UUID) -> uuid.UUID | None:
        query = select(PartnerAliasRow.survivor_id).where(PartnerAliasRow.merged_id == merged_id)
        return (await self.session.execute(query)).scalar()

    async def update(self, row: PartnerRow, data: PartnerData) -> StoredPartner:
        row.name = data.name
        row.name_folded = data.name_folded
        row.name_latin = data.name_latin
        row.name_key = data.name_key
        row.name_blocks = data.name_blocks
        row.roles = [r.value for r in data.roles]
        row.manager_id = data.manager_id
        row.segment = data.segment
        row.region = data.region
        row.tags = list(data.tags)
        row.source = data.source
        row.version += 1
        row.updated_at = utcnow()
        await self.session.execute(delete(ContactRow).where(ContactRow.partner_id == row.id))
        contacts = self._contact_rows(row.id, data.contacts)
        self.session.add_all(contacts)
        await self.session.flush()
        return await self.get(row.id)  # type: ignore[return-value]

    def _contact_rows(self, partner_id: uuid.UUID, contacts: tuple[Contact, ...]) -> list[ContactRow]:
        return [
            ContactRow(
                partner_id=partner_id, position=i, kind=c.kind.value, value=c.value, label=c.label, address=c.address
            )
            for i, c in enumerate(contacts)
        ]

    async def add(
        self, data: PartnerData, *, request_id: str | None, lead_id: uuid.UUID | None = None
    ) -> StoredPartner:
        row = PartnerRow(
            lead_id=lead_id,
            name=data.name,
            name_folded=data.name_folded,
            name_latin=data.name_latin,
            name_key=data.name_key,
            name_blocks=data.name_blocks,
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
        contacts = self._contact_rows(row.id, data.contacts)
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
        counterparties = await CounterpartyRepository(self.session).of_partners([r.id for r in rows])
        return [StoredPartner(r, contacts.get(r.id, []), counterparties.get(r.id, [])) for r in rows]

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
        """Partners whose own contacts or whose counterparties' contacts match."""
        query = text(
            "SELECT p.id, p.name FROM partner p WHERE p.id IN ("
            " SELECT partner_id FROM partner_contact WHERE kind = :kind AND lower(value) = :value"
            " UNION SELECT c.partner_id FROM counterparty_contact cc JOIN counterparty c ON c.id = cc.counterparty_id"
            " WHERE cc.kind = :kind AND lower(cc.value) = :value) ORDER BY p.id LIMIT :limit"
        )
        rows = await self.session.execute(query, {"kind": kind.value, "value": value.lower(), "limit": limit})
        return [NamedId(r.id, r.name) for r in rows.all()]

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


@dataclass(frozen=True)
class LeadFilter:
    states: tuple[str, ...] = ()
    responsible_id: str = ""
    source: str = ""
    tag: str = ""
    text: str = ""


class LeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, lead_id: uuid.UUID, *, for_update: bool = False) -> LeadRow | None:
        return await self.session.get(LeadRow, lead_id, with_for_update=for_update, populate_existing=for_update)

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

    def _filtered(self, flt: LeadFilter):  # type: ignore[no-untyped-def]
        query = select(LeadRow)
        if flt.states:
            query = query.where(LeadRow.state.in_(flt.states))  # type: ignore[attr-defined]
        if flt.responsible_id:
            query = query.where(LeadRow.responsible_id == flt.responsible_id)
        if flt.source:
            query = query.where(LeadRow.source == flt.source)
        if flt.tag:
            query = query.where(LeadRow.tags.any(flt.tag))  # type: ignore[attr-defined]
        if flt.text:
            pattern = f"%{flt.text.lower()}%"
            query = query.where(
                or_(
                    func.lower(LeadRow.name).like(pattern),
                    func.lower(LeadRow.company).like(pattern),
                    func.lower(LeadRow.email).like(pattern),
                    LeadRow.phone.like(pattern),  # type: ignore[attr-defined]
                )
            )
        return query

    async def list(self, flt: LeadFilter, *, limit: int, after: tuple[datetime, uuid.UUID] | None) -> list[LeadRow]:
        """Newest first."""
        query = self._filtered(flt)
        if after is not None:
            query = query.where(tuple_(LeadRow.created_at, LeadRow.id) < tuple_(literal(after[0]), literal(after[1])))  # type: ignore[arg-type]
        query = query.order_by(LeadRow.created_at.desc(), LeadRow.id.desc()).limit(limit)  # type: ignore[attr-defined]
        return list((await self.session.execute(query)).scalars().all())

    async def count_by_state(self, flt: LeadFilter) -> dict[str, int]:
        inner = self._filtered(flt).subquery()
        query = select(inner.c.state, func.count()).group_by(inner.c.state)
        return {state: count for state, count in (await self.session.execute(query)).all()}


def contact_of(row: ContactRow | PersonContactRow | CounterpartyContactRow) -> Contact:
    return Contact(ContactKind(row.kind), row.value, row.label, row.address)


class CounterpartyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, partner_id: uuid.UUID, data: CounterpartyData) -> StoredCounterparty:
        row = CounterpartyRow(
            partner_id=partner_id,
            legal_form=data.legal_form.value,
            country=data.country,
            full_name=data.full_name,
            short_name=data.short_name,
            tax_id=data.tax_id,
            kpp=data.kpp,
            legal_address=data.legal_address,
            register_status=data.register_status,
        )
        self.session.add(row)
        await self.session.flush()
        accounts = [
            BankAccountRow(
                counterparty_id=row.id,
                iban=a.iban,
                account=a.account,
                bic=a.bic,
                bank_name=a.bank_name,
                currency=a.currency,
                main=a.main,
            )
            for a in data.bank_accounts
        ]
        contacts = [
            CounterpartyContactRow(
                counterparty_id=row.id, position=i, kind=c.kind.value, value=c.value, label=c.label, address=c.address
            )
            for i, c in enumerate(data.contacts)
        ]
        self.session.add_all([*accounts, *contacts])
        await self.session.flush()
        return StoredCounterparty(row, accounts, contacts)

    async def of_partners(self, partner_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[StoredCounterparty]]:
        if not partner_ids:
            return {}
        query = (
            select(CounterpartyRow)
            .where(CounterpartyRow.partner_id.in_(partner_ids))  # type: ignore[attr-defined]
            .order_by(CounterpartyRow.created_at, CounterpartyRow.id)
        )
        rows = list((await self.session.execute(query)).scalars().all())
        accounts: dict[uuid.UUID, list[BankAccountRow]] = {}
        if rows:
            account_query = (
                select(BankAccountRow)
                .where(BankAccountRow.counterparty_id.in_([r.id for r in rows]))  # type: ignore[attr-defined]
                .order_by(BankAccountRow.main.desc(), BankAccountRow.id)  # type: ignore[attr-defined]
            )
            for account in (await self.session.execute(account_query)).scalars().all():
                accounts.setdefault(account.counterparty_id, []).append(account)
        contacts: dict[uuid.UUID, list[CounterpartyContactRow]] = {}
        if rows:
            contact_query = (
                select(CounterpartyContactRow)
                .where(CounterpartyContactRow.counterparty_id.in_([r.id for r in rows]))  # type: ignore[attr-defined]
                .order_by(CounterpartyContactRow.position)
            )
            for contact in (await self.session.execute(contact_query)).scalars().all():
                contacts.setdefault(contact.counterparty_id, []).append(contact)
        found: dict[uuid.UUID, list[StoredCounterparty]] = {}
        for row in rows:
            found.setdefault(row.partner_id, []).append(
                StoredCounterparty(row, accounts.get(row.id, []), contacts.get(row.id, []))
            )
        return found


@dataclass(frozen=True)
class StoredPerson:
    row: PersonRow
    contacts: list[PersonContactRow]
    links: list[PersonLinkRow]


class PersonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, data: PersonData) -> PersonRow:
        row = PersonRow(name=data.name, name_folded=fold(data.name))
        self.session.add(row)
        await self.session.flush()
        self.session.add_all(
            PersonContactRow(
                person_id=row.id, position=i, kind=c.kind.value, value=c.value, label=c.label, address=c.address
            )
            for i, c in enumerate(data.contacts)
        )
        await self.session.flush()
        return row

    async def link(self, person_id: uuid.UUID, partner_id: uuid.UUID, position: str, decision_role: str) -> None:
        statement = insert(PersonLinkRow).values(
            person_id=person_id, partner_id=partner_id, position=position, decision_role=decision_role
        )
        statement = statement.on_conflict_do_update(
            index_elements=["person_id", "partner_id"],
            set_={"position": statement.excluded.position, "decision_role": statement.excluded.decision_role},
        )
        await self.session.execute(statement)

    async def unlink(self, person_id: uuid.UUID, partner_id: uuid.UUID) -> bool:
        statement = (
            delete(PersonLinkRow)
            .where(PersonLinkRow.person_id == person_id, PersonLinkRow.partner_id == partner_id)
            .returning(PersonLinkRow.person_id)
        )
        return (await self.session.execute(statement)).first() is not None

    async def add_contacts(self, person_id: uuid.UUID, contacts: list[Contact]) -> int:
        """Appends the contacts the person does not have yet (same kind and value, any case); how many."""
        current = (
            (await self.session.execute(select(PersonContactRow).where(PersonContactRow.person_id == person_id)))
            .scalars()
            .all()
        )
        known = {(c.kind, c.value.lower()) for c in current}
        position = max((c.position for c in current), default=-1)
        added = 0
        for contact in contacts:
            if (contact.kind.value, contact.value.lower()) in known:
                continue
            known.add((contact.kind.value, contact.value.lower()))
            position += 1
            added += 1
            self.session.add(
                PersonContactRow(
                    person_id=person_id,
                    position=position,
                    kind=contact.kind.value,
                    value=contact.value,
                    label=contact.label,
                    address=contact.address,
                )
            )
        await self.session.flush()
        return added

    async def survivor_of(self, merged_id: uuid.UUID) -> uuid.UUID | None:
        query = select(PersonAliasRow.survivor_id).where(PersonAliasRow.merged_id == merged_id)
        return (await self.session.execute(query)).scalar()

    async def linked_by_contacts(self, partner_id: uuid.UUID, contacts: list[Contact]) -> list[uuid.UUID]:
        """Persons linked to the partner that have one of the (normalised) phones or e-mails."""
        keys = [(c.kind.value, c.value.lower()) for c in contacts if c.kind in (ContactKind.PHONE, ContactKind.EMAIL)]
        if not keys:
            return []
        query = (
            select(PersonContactRow.person_id)
            .join(PersonLinkRow, PersonLinkRow.person_id == PersonContactRow.person_id)  # type: ignore[arg-type]
            .where(
                PersonLinkRow.partner_id == partner_id,
                tuple_(PersonContactRow.kind, func.lower(PersonContactRow.value)).in_(keys),
            )
            .distinct()
        )
        return list((await self.session.execute(query)).scalars().all())

    async def get(self, person_id: uuid.UUID) -> StoredPerson | None:
        found = await self._load([person_id])
        return found[0] if found else None

    async def of_partner(self, partner_id: uuid.UUID) -> list[StoredPerson]:
        query = (
            select(PersonLinkRow.person_id)
            .join(PersonRow, PersonRow.id == PersonLinkRow.person_id)  # type: ignore[arg-type]
            .where(PersonLinkRow.partner_id == partner_id)
            .order_by(PersonRow.name_folded, PersonRow.id)
        )
        return await self._load(list((await self.session.execute(query)).scalars().all()))

    async def _load(self, ids: list[uuid.UUID]) -> list[StoredPerson]:
        if not ids:
            return []
        rows = {r.id: r for r in (await self.session.execute(select(PersonRow).where(PersonRow.id.in_(ids)))).scalars()}  # type: ignore[attr-defined]
        contacts: dict[uuid.UUID, list[PersonContactRow]] = {}
        query = select(PersonContactRow).where(PersonContactRow.person_id.in_(ids)).order_by(PersonContactRow.position)  # type: ignore[attr-defined]
        for contact in (await self.session.execute(query)).scalars():
            contacts.setdefault(contact.person_id, []).append(contact)
        links: dict[uuid.UUID, list[PersonLinkRow]] = {}
        link_query = select(PersonLinkRow).where(PersonLinkRow.person_id.in_(ids)).order_by(PersonLinkRow.partner_id)  # type: ignore[attr-defined]
        for link in (await self.session.execute(link_query)).scalars():
            links.setdefault(link.person_id, []).append(link)
        return [StoredPerson(rows[i], contacts.get(i, []), links.get(i, [])) for i in ids if i in rows]


@dataclass(frozen=True)
class Edge:
    from_id: uuid.UUID
    to_id: uuid.UUID
    kind: str
    note: str


class RelationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def relate_partners(self, from_id: uuid.UUID, to_id: uuid.UUID, kind: str, note: str) -> bool:
        statement = (
            insert(PartnerRelationRow)
            .values(from_id=from_id, to_id=to_id, kind=kind, note=note, created_at=utcnow())
            .on_conflict_do_nothing()
            .returning(PartnerRelationRow.from_id)
        )
        return (await self.session.execute(statement)).first() is not None

    async def relate_persons(self, from_id: uuid.UUID, to_id: uuid.UUID, kind: str, note: str) -> bool:
        statement = (
            insert(PersonRelationRow)
            .values(from_id=from_id, to_id=to_id, kind=kind, note=note, created_at=utcnow())
            .on_conflict_do_nothing()
            .returning(PersonRelationRow.from_id)
        )
        return (await self.session.execute(statement)).first() is not None

    async def delete_partner_relation(self, from_id: uuid.UUID, to_id: uuid.UUID, kind: str) -> bool:
        statement = (
            delete(PartnerRelationRow)
            .where(PartnerRelationRow.from_id == from_id, PartnerRelationRow.to_id == to_id)
            .where(PartnerRelationRow.kind == kind)
            .returning(PartnerRelationRow.from_id)
        )
        return (await self.session.execute(statement)).first() is not None

    async def delete_person_relation(self, from_id: uuid.UUID, to_id: uuid.UUID, kind: str) -> bool:
        statement = (
            delete(PersonRelationRow)
            .where(PersonRelationRow.from_id == from_id, PersonRelationRow.to_id == to_id)
            .where(PersonRelationRow.kind == kind)
            .returning(PersonRelationRow.from_id)
        )
        return (await self.session.execute(statement)).first() is not None

    async def partner_edges(self, ids: set[uuid.UUID]) -> list[Edge]:
        query = select(PartnerRelationRow).where(
            or_(PartnerRelationRow.from_id.in_(ids), PartnerRelationRow.to_id.in_(ids))  # type: ignore[attr-defined]
        )
        return [Edge(r.from_id, r.to_id, r.kind, r.note) for r in (await self.session.execute(query)).scalars()]

    async def person_links(self, partner_ids: set[uuid.UUID], person_ids: set[uuid.UUID]) -> list[Edge]:
        query = select(PersonLinkRow).where(
            or_(PersonLinkRow.partner_id.in_(partner_ids), PersonLinkRow.person_id.in_(person_ids))  # type: ignore[attr-defined]
        )
        return [
            Edge(r.person_id, r.partner_id, "works_at", r.position)
            for r in (await self.session.execute(query)).scalars()
        ]

    async def person_edges(self, ids: set[uuid.UUID]) -> list[Edge]:
        query = select(PersonRelationRow).where(
            or_(PersonRelationRow.from_id.in_(ids), PersonRelationRow.to_id.in_(ids))  # type: ignore[attr-defined]
        )
        return [Edge(r.from_id, r.to_id, r.kind, r.note) for r in (await self.session.execute(query)).scalars()]

    async def names(self, partner_ids: set[uuid.UUID], person_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        found: dict[uuid.UUID, str] = {}
        if partner_ids:
            query = select(PartnerRow.id, PartnerRow.name).where(PartnerRow.id.in_(partner_ids))  # type: ignore[attr-defined]
            found.update({r.id: r.name for r in (await self.session.execute(query)).all()})
        if person_ids:
            query = select(PersonRow.id, PersonRow.name).where(PersonRow.id.in_(person_ids))  # type: ignore[attr-defined]
            found.update({r.id: r.name for r in (await self.session.execute(query)).all()})
        return found


@dataclass(frozen=True)
class NameHit:
    id: uuid.UUID
    name: str
    name_key: str


class DuplicateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exact(self, tax_ids: list[str], phones: list[str], emails: list[str]) -> list[tuple[str, NamedId]]:
        """Partners sharing a tax id, a phone or an e-mail, as (reason, partner) in one round trip."""
        parts, params = [], {}
        if tax_ids:
            parts.append(
                "(SELECT DISTINCT 'tax_id' AS reason, p.id, p.name FROM counterparty c "
                "JOIN partner p ON p.id = c.partner_id WHERE c.tax_id = ANY(:tax_ids) LIMIT 50)"
            )
            params["tax_ids"] = tax_ids
        for reason, values in (("phone", phones), ("email", emails)):
            if values:
                parts.append(
                    f"(SELECT DISTINCT '{reason}' AS reason, p.id, p.name FROM partner_contact pc "
                    f"JOIN partner p ON p.id = pc.partner_id WHERE pc.kind = '{reason}' "
                    f"AND lower(pc.value) = ANY(:{reason}s) LIMIT 50)"
                )
                params[f"{reason}s"] = [v.lower() for v in values]
        if not parts:
            return []
        query = text(" UNION ALL ".join(parts)).bindparams(*(bindparam(name, type_=ARRAY(Text)) for name in params))
        rows = await self.session.execute(query, params)
        return [(r.reason, NamedId(r.id, r.name)) for r in rows.all()]

    async def by_name(self, key: str, groups: list[list[str]], *, limit: int = 20) -> list[NameHit]:
        """Stored names nearest to the key by trigram similarity, among those that contain one
        of the key's words as it is, or share blocks (a word's one-typo forms) with two of its
        words; with the blocks of its one word for a one-word key. A name of several words
        reaches the match threshold only when most of its letters match, so one misspelt word
        is found through the others as they are, and names sharing a single typo form of a
        single word (very many) are never read: the GIN index intersects the words' postings."""
        if not groups:
            return []
        params: dict[str, object] = {"key": key, "limit": limit}
        for i, group in enumerate(groups):
            params[f"g{i}"] = group
        if len(groups) == 1:
            where = "name_blocks && :g0"
        else:
            params["exact"] = [group[0] for group in groups]
            pairs = [
                f"(name_blocks && :g{i} AND name_blocks && :g{j})"
                for i in range(len(groups))
                for j in range(i + 1, len(groups))
            ]
            where = " OR ".join(["name_blocks && :exact", *pairs])
        arrays = [bindparam(name, type_=ARRAY(Text)) for name in params if name not in ("key", "limit")]
        query = text(
            f"SELECT id, name, name_key FROM partner WHERE {where} "
            "ORDER BY similarity(name_key, :key) DESC LIMIT :limit"
        ).bindparams(*arrays)
        rows = await self.session.execute(query, params)
        return [NameHit(r.id, r.name, r.name_key) for r in rows.all()]


class MergeRepository:
    """Re-points everything of the merged partners to the survivor, then deletes them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def merge(self, survivor: uuid.UUID, merged: list[uuid.UUID]) -> None:
        s = self.session
        for table in (CounterpartyRow, ShopCustomerRow):
            await s.execute(update(table).where(table.partner_id.in_(merged)).values(partner_id=survivor))  # type: ignore[attr-defined]
        await s.execute(update(LeadRow).where(LeadRow.partner_id.in_(merged)).values(partner_id=survivor))  # type: ignore[union-attr]
        position = (
            await s.execute(
                select(func.coalesce(func.max(ContactRow.position), -1)).where(ContactRow.partner_id == survivor)
            )
        ).scalar_one()
        existing = {
            (k, v.lower())
            for k, v in (
                await s.execute(select(ContactRow.kind, ContactRow.value).where(ContactRow.partner_id == survivor))
            ).all()
        }
        moved = (
            (
                await s.execute(
                    select(ContactRow).where(ContactRow.partner_id.in_(merged)).order_by(ContactRow.position)
                )  # type: ignore[attr-defined]
            )
            .scalars()
            .all()
        )
        for contact in moved:
            if (contact.kind, contact.value.lower()) in existing:
                continue
            existing.add((contact.kind, contact.value.lower()))
            position += 1
            s.add(
                ContactRow(
                    partner_id=survivor,
                    position=position,
                    kind=contact.kind,
                    value=contact.value,
                    label=contact.label,
                    address=contact.address,
                )
            )
        await s.execute(
            text(
                "INSERT INTO person_link (person_id, partner_id, position, decision_role) "
                "SELECT person_id, :survivor, position, decision_role FROM person_link WHERE partner_id = ANY(:merged) "
                "ON CONFLICT DO NOTHING"
            ),
            {"survivor": survivor, "merged": merged},
        )
        # Relations of a merged partner become the survivor's; ones between merged partners vanish.
        await s.execute(
            text(
                "INSERT INTO partner_relation (from_id, to_id, kind, note, created_at) "
                "SELECT CASE WHEN from_id = ANY(:merged) THEN (:survivor)::uuid ELSE from_id END, "
                "CASE WHEN to_id = ANY(:merged) THEN (:survivor)::uuid ELSE to_id END, kind, note, created_at "
                "FROM partner_relation WHERE (from_id = ANY(:merged) OR to_id = ANY(:merged)) "
                "AND NOT ((from_id = ANY(:merged) OR from_id = :survivor) "
                "AND (to_id = ANY(:merged) OR to_id = :survivor)) "
                "ON CONFLICT DO NOTHING"
            ),
            {"survivor": survivor, "merged": merged},
        )
        await s.execute(
            update(PartnerAliasRow).where(PartnerAliasRow.survivor_id.in_(merged)).values(survivor_id=survivor)
        )  # type: ignore[attr-defined]
        # The survivor keeps its own lead, else takes one of the merged partners' leads.
        lead_query = select(PartnerRow.lead_id).where(PartnerRow.id.in_(merged), PartnerRow.lead_id.is_not(None))  # type: ignore[attr-defined,union-attr]
        inherited = (await s.execute(lead_query.limit(1))).scalar()
        if inherited is not None:
            await s.execute(
                update(PartnerRow)
                .where(PartnerRow.id == survivor, PartnerRow.lead_id.is_(None))  # type: ignore[union-attr]
                .values(lead_id=inherited)
            )
        await SalesRepository(s).move(survivor, merged)
        await s.flush()
        await s.execute(delete(PartnerRow).where(PartnerRow.id.in_(merged)))  # type: ignore[attr-defined]
        s.add_all(PartnerAliasRow(merged_id=m, survivor_id=survivor) for m in merged)
        await s.flush()


class PersonMergeRepository:
    """Re-points links, contacts and relations of merged persons to the survivor, then deletes them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def merge(self, survivor: uuid.UUID, merged: list[uuid.UUID]) -> None:
        s, params = self.session, {"survivor": survivor, "merged": merged}
        # The survivor keeps its own position and role at a partner both worked for.
        await s.execute(
            text(
                "INSERT INTO person_link (person_id, partner_id, position, decision_role) "
                "SELECT DISTINCT ON (partner_id) :survivor, partner_id, position, decision_role FROM person_link "
                "WHERE person_id = ANY(:merged) ORDER BY partner_id, position DESC ON CONFLICT DO NOTHING"
            ),
            params,
        )
        moved = (
            await s.execute(
                select(PersonContactRow)
                .where(PersonContactRow.person_id.in_(merged))  # type: ignore[attr-defined]
                .order_by(PersonContactRow.position)
            )
        ).scalars()
        await PersonRepository(s).add_contacts(
            survivor, [Contact(ContactKind(c.kind), c.value, c.label, c.address) for c in moved]
        )
        # Relations of a merged person become the survivor's; ones among the merged and the survivor vanish.
        await s.execute(
            text(
                "INSERT INTO person_relation (from_id, to_id, kind, note, created_at) "
                "SELECT CASE WHEN from_id = ANY(:merged) THEN (:survivor)::uuid ELSE from_id END, "
                "CASE WHEN to_id = ANY(:merged) THEN (:survivor)::uuid ELSE to_id END, kind, note, created_at "
                "FROM person_relation WHERE (from_id = ANY(:merged) OR to_id = ANY(:merged)) "
                "AND NOT ((from_id = ANY(:merged) OR from_id = :survivor) "
                "AND (to_id = ANY(:merged) OR to_id = :survivor)) "
                "ON CONFLICT DO NOTHING"
            ),
            params,
        )
        await s.execute(
            update(PersonAliasRow).where(PersonAliasRow.survivor_id.in_(merged)).values(survivor_id=survivor)  # type: ignore[attr-defined]
        )
        await s.execute(update(PersonRow).where(PersonRow.id == survivor).values(updated_at=utcnow()))
        await s.execute(delete(PersonRow).where(PersonRow.id.in_(merged)))  # type: ignore[attr-defined]
        s.add_all(PersonAliasRow(merged_id=m, survivor_id=survivor) for m in merged)
        await s.flush()


class SalesRepository:
    """Sales figures per partner and month, and the classification computed from them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_order(self, partner_id: uuid.UUID, amount: Decimal, currency: str, at: datetime) -> None:
        await self._add_month(partner_id, at, currency, ordered=amount, paid=Decimal(0), orders=1)
        statement = insert(ActivityRow).values(partner_id=partner_id, orders=1, first_order_at=at, last_order_at=at)
        statement = statement.on_conflict_do_update(
            index_elements=["partner_id"],
            set_={
                "orders": ActivityRow.orders + 1,
                "first_order_at": func.least(ActivityRow.first_order_at, at),
                "last_order_at": func.greatest(ActivityRow.last_order_at, at),
            },
        )
        await self.session.execute(statement)

    async def add_payment(self, partner_id: uuid.UUID, amount: Decimal, currency: str, at: datetime) -> None:
        await self._add_month(partner_id, at, currency, ordered=Decimal(0), paid=amount, orders=0)

    async def _add_month(
        self, partner_id: uuid.UUID, at: datetime, currency: str, *, ordered: Decimal, paid: Decimal, orders: int
    ) -> None:
        month = date(at.year, at.month, 1)
        statement = insert(SalesMonthRow).values(
            partner_id=partner_id, month=month, currency=currency, ordered=ordered, paid=paid, orders=orders
        )
        statement = statement.on_conflict_do_update(
            index_elements=["partner_id", "month", "currency"],
            set_={
                "ordered": SalesMonthRow.ordered + statement.excluded.ordered,
                "paid": SalesMonthRow.paid + statement.excluded.paid,
                "orders": SalesMonthRow.orders + statement.excluded.orders,
            },
        )
        await self.session.execute(statement)

    async def months_since(self, start: date) -> list[SalesMonthRow]:
        query = select(SalesMonthRow).where(SalesMonthRow.month >= start)
        return list((await self.session.execute(query)).scalars().all())

    async def activity(self) -> list[ActivityRow]:
        return list((await self.session.execute(select(ActivityRow))).scalars().all())

    async def classes(self) -> dict[uuid.UUID, ClassRow]:
        return {r.partner_id: r for r in (await self.session.execute(select(ClassRow))).scalars().all()}

    async def class_of(self, partner_id: uuid.UUID) -> ClassRow | None:
        return await self.session.get(ClassRow, partner_id)

    async def history(self, partner_id: uuid.UUID, *, limit: int = 100) -> list[ClassHistoryRow]:
        query = (
            select(ClassHistoryRow)
            .where(ClassHistoryRow.partner_id == partner_id)
            .order_by(ClassHistoryRow.classified_at.desc(), ClassHistoryRow.id.desc())  # type: ignore[attr-defined]
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars().all())

    async def set_class(self, partner_id: uuid.UUID, abc: str, xyz: str, stage: str, at: datetime) -> None:
        statement = insert(ClassRow).values(partner_id=partner_id, abc=abc, xyz=xyz, stage=stage, classified_at=at)
        statement = statement.on_conflict_do_update(
            index_elements=["partner_id"],
            set_={"abc": abc, "xyz": xyz, "stage": stage, "classified_at": at},
        )
        await self.session.execute(statement)
        self.session.add(ClassHistoryRow(partner_id=partner_id, abc=abc, xyz=xyz, stage=stage, classified_at=at))

    async def move(self, survivor: uuid.UUID, merged: list[uuid.UUID]) -> None:
        """On a merge the survivor's figures absorb the merged partners'."""
        params = {"survivor": survivor, "merged": merged}
        await self.session.execute(
            text(
                "INSERT INTO sales_month (partner_id, month, currency, ordered, paid, orders) "
                "SELECT :survivor, month, currency, sum(ordered), sum(paid), sum(orders) FROM sales_month "
                "WHERE partner_id = ANY(:merged) GROUP BY month, currency "
                "ON CONFLICT (partner_id, month, currency) DO UPDATE SET "
                "ordered = sales_month.ordered + excluded.ordered, paid = sales_month.paid + excluded.paid, "
                "orders = sales_month.orders + excluded.orders"
            ),
            params,
        )
        await self.session.execute(
            text(
                "INSERT INTO partner_activity (partner_id, orders, first_order_at, last_order_at) "
                "SELECT :survivor, sum(orders), min(first_order_at), max(last_order_at) FROM partner_activity "
                "WHERE partner_id = ANY(:merged) HAVING count(*) > 0 "
                "ON CONFLICT (partner_id) DO UPDATE SET orders = partner_activity.orders + excluded.orders, "
                "first_order_at = least(partner_activity.first_order_at, excluded.first_order_at), "
                "last_order_at = greatest(partner_activity.last_order_at, excluded.last_order_at)"
            ),
            params,
        )
        for table in ("sales_month", "partner_activity", "partner_class"):
            await self.session.execute(text(f"DELETE FROM {table} WHERE partner_id = ANY(:merged)"), params)


class RateRepository:
    """Exchange rates copied from pricing's crm.pricing.rate.set events."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(self, from_currency: str, to_currency: str, on: date, rate: Decimal) -> None:
        values = {"from_currency": from_currency, "to_currency": to_currency, "on": on, "rate": rate}
        statement = insert(ExchangeRateRow).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["from_currency", "to_currency", "on"], set_={"rate": statement.excluded.rate}
        )
        await self.session.execute(statement)

    async def all(self) -> list[ExchangeRateRow]:
        return list((await self.session.execute(select(ExchangeRateRow))).scalars().all())
