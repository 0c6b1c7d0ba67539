"""Partners' queries: the only module that writes SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.paging import PageToken
from crm_platform.text import fold, latin
from partners.domain import Contact, ContactKind, PartnerData, PartnerRole
from partners.models import ContactRow, PartnerRow

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

    async def add(self, data: PartnerData, *, request_id: str | None) -> StoredPartner:
        row = PartnerRow(
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


def contact_of(row: ContactRow) -> Contact:
    return Contact(ContactKind(row.kind), row.value, row.label, row.address)
