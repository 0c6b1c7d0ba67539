"""Import of partners, leads and contact persons from CSV or XLSX: every row validated and checked for
duplicates on its own, created in its own transaction, and reported (created, duplicate
of an existing record, or rejected with the fields at fault)."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from zipfile import BadZipFile

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from crm_platform.db import Database
from crm_platform.errors import FieldViolation, InvalidArgument
from partners.domain import Contact, ContactKind, PartnerRole, validate_lead, validate_partner
from partners.duplicates import Probe, find_candidates
from partners.leads import create_lead
from partners.legal import LegalForm, validate_counterparty
from partners.person_import import import_person, parse_person_row
from partners.registration import Registration, register_partner
from partners.repository import ContactLookup

MAX_ROWS = 5_000
MAX_BYTES = 5 * 1024 * 1024


class ImportKind(StrEnum):
    PARTNERS = "partners"
    LEADS = "leads"
    PERSONS = "persons"


class Outcome(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    MERGED = "merged"  # an existing record took the row's new contacts


@dataclass
class RowResult:
    row: int  # 1-based, the header being row 1
    outcome: Outcome
    id: str = ""
    duplicate_of: str = ""
    errors: list[FieldViolation] = field(default_factory=list)


def _check_headers(headers: list[str], kind: ImportKind) -> None:
    if kind is ImportKind.PERSONS:
        if "name" not in headers and "full_name" not in headers:
            raise InvalidArgument.single("content", "the header row needs a 'name' or 'full_name' column")
        if not {"partner", "partner_tax_id", "company", "tax_id"} & set(headers):
            raise InvalidArgument.single("content", "the header row needs a 'partner' or 'partner_tax_id' column")
    elif "name" not in headers and "company" not in headers:
        raise InvalidArgument.single("content", "the header row needs a 'name' or 'company' column")


def read_rows(content: bytes, file_format: str, kind: ImportKind = ImportKind.PARTNERS) -> list[dict[str, str]]:
    """Rows as {header: value}, headers lower-cased; InvalidArgument when unreadable."""
    if len(content) > MAX_BYTES:
        raise InvalidArgument.single("content", f"larger than {MAX_BYTES} bytes")
    if not content:
        raise InvalidArgument.single("content", "is empty")
    try:
        if file_format == "xlsx":
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
            table = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        else:
            text = content.decode("utf-8-sig")
            dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
            table = list(csv.reader(io.StringIO(text), dialect))
    except (UnicodeDecodeError, csv.Error, ValueError, OSError, KeyError, BadZipFile, InvalidFileException) as exc:
        raise InvalidArgument.single("content", f"not a readable {file_format.upper()} file: {exc}") from None
    if not table:
        raise InvalidArgument.single("content", "has no header row")
    headers = [h.strip().lower().replace(" ", "_").replace("-", "") for h in table[0]]
    _check_headers(headers, kind)
    rows = [dict(zip(headers, (c.strip() for c in r), strict=False)) for r in table[1:] if any(c.strip() for c in r)]
    if len(rows) > MAX_ROWS:
        raise InvalidArgument.single("content", f"more than {MAX_ROWS} rows")
    return rows


def _contacts(row: dict[str, str]) -> list[Contact]:
    found = []
    for kind in (ContactKind.PHONE, ContactKind.EMAIL, ContactKind.WEB):
        for value in row.get(kind.value, "").replace(";", ",").split(","):
            if value.strip():
                found.append(Contact(kind, value.strip()))
    return found


def _registration(row: dict[str, str], region: str) -> Registration:
    errors: list[FieldViolation] = []
    partner = None
    try:
        partner = validate_partner(
            name=row.get("name", ""),
            roles=[PartnerRole.CLIENT],
            manager_id=row.get("manager_id", ""),
            segment=row.get("segment", ""),
            region=row.get("region", ""),
            tags=[t for t in row.get("tags", "").split(",") if t.strip()],
            source=row.get("source", "import"),
            contacts=_contacts(row),
            default_phone_region=region,
            prefix="row",
        )
    except InvalidArgument as exc:
        errors += exc.violations
    counterparties = ()
    if row.get("tax_id"):
        try:
            form = LegalForm(row.get("legal_form") or LegalForm.LEGAL_ENTITY.value)
            counterparties = (
                validate_counterparty(
                    legal_form=form,
                    country=row.get("country") or region,
                    full_name=row.get("full_name") or row.get("name", ""),
                    short_name="",
                    tax_id=row["tax_id"],
                    kpp=row.get("kpp", ""),
                    legal_address=None,
                    bank_accounts=[],
                    prefix="row",
                ),
            )
        except ValueError:
            errors.append(FieldViolation("row.legal_form", f"one of {', '.join(f.value for f in LegalForm)}"))
        except InvalidArgument as exc:
            errors += exc.violations
    if errors:
        raise InvalidArgument(errors)
    assert partner is not None
    return Registration(partner, counterparties)


async def _import_partner(db: Database, row: dict[str, str], region: str, number: int) -> RowResult:
    registration = _registration(row, region)
    async with db.reading() as session:
        candidates = await find_candidates(session, Probe.of_draft(registration.partner, registration.counterparties))
    if candidates:
        return RowResult(number, Outcome.DUPLICATE, duplicate_of=str(candidates[0].partner_id))
    done = await register_partner(db, registration, request_id=None, confirm_duplicates=True)
    assert done.partner is not None
    return RowResult(number, Outcome.CREATED, id=str(done.partner.row.id))


async def _import_lead(db: Database, row: dict[str, str], region: str, number: int, batch: str) -> RowResult:
    data = validate_lead(
        name=row.get("name", ""),
        company=row.get("company", ""),
        phone=row.get("phone", ""),
        email=row.get("email", ""),
        source=row.get("source", "import"),
        subject=row.get("subject", ""),
        tags=[t for t in row.get("tags", "").split(",") if t.strip()],
        responsible_id=row.get("responsible_id", ""),
        default_phone_region=region,
    )
    async with db.reading() as session:
        lookup = ContactLookup(session)
        for kind, value in ((ContactKind.PHONE, data.phone), (ContactKind.EMAIL, data.email)):
            if value:
                leads = await lookup.open_leads(kind, value, limit=1)
                if leads:
                    return RowResult(number, Outcome.DUPLICATE, duplicate_of=str(leads[0].id))
    lead = await create_lead(db, data, request_id=f"import:{batch}:{number}")
    return RowResult(number, Outcome.CREATED, id=str(lead.id))


async def import_rows(
    db: Database, kind: ImportKind, rows: list[dict[str, str]], *, region: str, batch: str | None = None
) -> list[RowResult]:
    """A repeated lead import with the same batch id creates nothing twice."""
    batch = batch or uuid.uuid4().hex
    results = []
    for number, row in enumerate(rows, start=2):
        try:
            if kind is ImportKind.PARTNERS:
                results.append(await _import_partner(db, row, region, number))
            elif kind is ImportKind.PERSONS:
                done = await import_person(db, parse_person_row(row, region))
                results.append(
                    RowResult(number, Outcome.CREATED, id=str(done.person_id))
                    if done.outcome == "created"
                    else RowResult(number, Outcome(done.outcome), duplicate_of=str(done.person_id))
                )
            else:
                results.append(await _import_lead(db, row, region, number, batch))
        except InvalidArgument as exc:
            results.append(RowResult(number, Outcome.REJECTED, errors=exc.violations))
    return results
