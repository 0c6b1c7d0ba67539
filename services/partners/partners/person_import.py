"""Import of contact persons: each row names the partner the person works for (by its tax
id or exact name); a person already linked to that partner with the same normalised phone
or e-mail (or, for a row without any, the same name) is not created twice."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, Violations
from crm_platform.taxids import compact
from crm_platform.text import fold
from partners.domain import Contact, ContactKind, DecisionRole, PersonData, validate_person
from partners.models import CounterpartyRow, PartnerRow, PersonLinkRow, PersonRow
from partners.repository import PersonRepository, lock_keys

TAX_ID = re.compile(r"^[0-9]{8,12}$")


@dataclass(frozen=True)
class PartnerRef:
    tax_id: str
    name: str


@dataclass(frozen=True)
class ParsedPerson:
    person: PersonData
    partner: PartnerRef


@dataclass(frozen=True)
class PersonOutcome:
    outcome: str  # "created", "merged", "duplicate"
    person_id: uuid.UUID


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]


def parse_person_row(row: dict[str, str], region: str) -> ParsedPerson:
    """The row's person and partner reference; InvalidArgument naming every bad column."""
    v = Violations()
    contacts = [Contact(ContactKind.PHONE, p) for p in _split(row.get("phone", "") or row.get("phones", ""))]
    contacts += [Contact(ContactKind.EMAIL, e) for e in _split(row.get("email", "") or row.get("emails", ""))]
    person = None
    try:
        person = validate_person(
            name=row.get("name", "") or row.get("full_name", ""),
            contacts=contacts,
            position=row.get("position", ""),
            decision_role=DecisionRole.UNSPECIFIED,
            default_phone_region=region,
            prefix="row",
        )
    except InvalidArgument as exc:
        for violation in exc.violations:
            v.add(violation.field, violation.description)
    tax_id = compact(row.get("partner_tax_id", "") or row.get("tax_id", ""))
    name = " ".join((row.get("partner", "") or row.get("company", "")).split())
    if tax_id and not TAX_ID.match(tax_id):
        v.add("row.partner_tax_id", "a tax id is 8 to 12 digits")
    if not tax_id and not name:
        v.add("row.partner", "name the partner: partner_tax_id or partner (its name)")
    v.raise_if_any()
    assert person is not None
    return ParsedPerson(person, PartnerRef(tax_id, name))


async def _resolve_partner(session, ref: PartnerRef) -> uuid.UUID:  # type: ignore[no-untyped-def]
    if ref.tax_id:
        query = select(CounterpartyRow.partner_id).where(CounterpartyRow.tax_id == ref.tax_id).distinct().limit(2)
        field, what = "row.partner_tax_id", f"tax id {ref.tax_id}"
    else:
        query = select(PartnerRow.id).where(PartnerRow.name_folded == fold(ref.name)).limit(2)
        field, what = "row.partner", f"the name «{ref.name}»"
    found = list((await session.execute(query)).scalars().all())
    if not found:
        raise InvalidArgument.single(field, f"no partner with {what}")
    if len(found) > 1:
        raise InvalidArgument.single(field, f"several partners have {what}; merge them or name another way")
    return found[0]


async def _same_person(session, partner_id: uuid.UUID, person: PersonData) -> uuid.UUID | None:  # type: ignore[no-untyped-def]
    keyed = [c for c in person.contacts if c.kind in (ContactKind.PHONE, ContactKind.EMAIL)]
    if keyed:
        found = await PersonRepository(session).linked_by_contacts(partner_id, keyed)
    else:
        query = (
            select(PersonRow.id)
            .join(PersonLinkRow, PersonLinkRow.person_id == PersonRow.id)  # type: ignore[arg-type]
            .where(PersonLinkRow.partner_id == partner_id, PersonRow.name_folded == fold(person.name))
        )
        found = list((await session.execute(query)).scalars().all())
    return min(found) if found else None


async def import_person(db: Database, parsed: ParsedPerson) -> PersonOutcome:
    async with db.transaction() as session:
        partner_id = await _resolve_partner(session, parsed.partner)
        # Two imports naming the same person at the same partner must not both create it.
        await lock_keys(session, [f"partners:persons-of:{partner_id}"])
        persons = PersonRepository(session)
        existing = await _same_person(session, partner_id, parsed.person)
        if existing is None:
            row = await persons.add(parsed.person)
            await persons.link(row.id, partner_id, parsed.person.position, "")
            return PersonOutcome("created", row.id)
        added = await persons.add_contacts(existing, list(parsed.person.contacts))
        position_set = False
        if parsed.person.position:
            link = await session.get(PersonLinkRow, (existing, partner_id))
            if link is not None and not link.position:
                link.position = parsed.person.position
                position_set = True
        if added or position_set:
            await session.execute(
                PersonRow.__table__.update().where(PersonRow.id == existing).values(updated_at=func.now())  # type: ignore[attr-defined]
            )
            return PersonOutcome("merged", existing)
        return PersonOutcome("duplicate", existing)
