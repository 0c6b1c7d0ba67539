"""Between crm.partners.v1 messages and the service's domain values."""

from __future__ import annotations

from crm.common.v1 import common_pb2
from crm.partners.v1 import partners_pb2 as pb

from crm_platform.errors import InvalidArgument, Violations
from crm_platform.proto_codec import enum_in, enum_out, timestamp_out
from partners.domain import (
    Contact,
    ContactKind,
    DecisionRole,
    PartnerData,
    PartnerRole,
    PersonData,
    normalize_contact,
    validate_partner,
    validate_person,
)
from partners.legal import COUNTRIES, BankAccountData, CounterpartyData, LegalForm, validate_counterparty
from partners.matching import Candidate
from partners.models import LeadRow
from partners.repository import StoredCounterparty, StoredPartner, StoredPerson, contact_of


def contact_out(contact: Contact) -> pb.ContactInfo:
    message = pb.ContactInfo(
        kind=enum_out(contact.kind, pb.ContactKind, "CONTACT_KIND_"), value=contact.value, label=contact.label
    )
    if contact.address:
        message.address.CopyFrom(common_pb2.Address(**contact.address))
    return message


def contact_in(message: pb.ContactInfo, field: str) -> Contact:
    kind = enum_in(message.kind, pb.ContactKind, "CONTACT_KIND_", ContactKind, f"{field}.kind")
    address = None
    if message.HasField("address"):
        address = {f.name: v for f, v in message.address.ListFields()}
    return Contact(kind, message.value, message.label, address)


def _address_out(address: dict[str, str] | None) -> common_pb2.Address | None:
    return common_pb2.Address(**address) if address else None


def counterparty_out(stored: StoredCounterparty) -> pb.Counterparty:
    row = stored.row
    message = pb.Counterparty(
        id=str(row.id),
        partner_id=str(row.partner_id),
        legal_form=enum_out(row.legal_form, pb.LegalForm, "LEGAL_FORM_"),
        country=row.country,
        full_name=row.full_name,
        short_name=row.short_name,
        tax_id=row.tax_id,
        kpp=row.kpp,
        bank_accounts=[
            pb.BankAccount(
                id=str(a.id),
                iban=a.iban,
                account=a.account,
                bic=a.bic,
                bank_name=a.bank_name,
                currency=a.currency,
                main=a.main,
            )
            for a in stored.accounts
        ],
        register_status=enum_out(row.register_status or "unspecified", pb.RegisterStatus, "REGISTER_STATUS_"),
        contacts=[contact_out(contact_of(c)) for c in stored.contacts],
    )
    address = _address_out(row.legal_address)
    if address is not None:
        message.legal_address.CopyFrom(address)
    return message


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
        contacts=[contact_out(contact_of(c)) for c in stored.contacts],
        created_at=timestamp_out(row.created_at),
        updated_at=timestamp_out(row.updated_at),
        version=row.version,
        lead_id=str(row.lead_id) if row.lead_id else "",
        counterparties=[counterparty_out(c) for c in stored.counterparties],
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


def person_out(stored: StoredPerson) -> pb.Person:
    return pb.Person(
        id=str(stored.row.id),
        name=stored.row.name,
        contacts=[contact_out(Contact(ContactKind(c.kind), c.value, c.label, c.address)) for c in stored.contacts],
        links=[
            pb.PersonLink(
                partner_id=str(link.partner_id),
                position=link.position,
                decision_role=enum_out(link.decision_role or "unspecified", pb.DecisionRole, "DECISION_ROLE_"),
            )
            for link in stored.links
        ],
    )


_REASONS = {
    "tax_id": pb.DUPLICATE_REASON_TAX_ID,
    "phone": pb.DUPLICATE_REASON_PHONE,
    "email": pb.DUPLICATE_REASON_EMAIL,
    "name": pb.DUPLICATE_REASON_NAME,
}


def candidate_out(candidate: Candidate) -> pb.DuplicateCandidate:
    return pb.DuplicateCandidate(
        partner_id=str(candidate.partner_id),
        name=candidate.name,
        score=candidate.score,
        reasons=[
            pb.DuplicateMatch(reason=_REASONS[reason], score=round(score, 4))
            for reason, score in sorted(candidate.reasons.items(), key=lambda item: -item[1])
        ],
    )


def decision_role_in(value: int, field: str) -> DecisionRole:
    if value == pb.DECISION_ROLE_UNSPECIFIED:
        return DecisionRole.UNSPECIFIED
    return enum_in(value, pb.DecisionRole, "DECISION_ROLE_", DecisionRole, field)


def partner_in(draft: pb.PartnerDraft, region: str, prefix: str = "partner") -> PartnerData:
    v = Violations()
    roles: list[PartnerRole] = []
    for i, value in enumerate(draft.roles):
        try:
            roles.append(enum_in(value, pb.PartnerRole, "PARTNER_ROLE_", PartnerRole, f"{prefix}.roles[{i}]"))
        except InvalidArgument as exc:
            _add_all(v, exc)
    contacts: list[Contact] = []
    for i, message in enumerate(draft.contacts):
        try:
            contacts.append(contact_in(message, f"{prefix}.contacts[{i}]"))
        except InvalidArgument as exc:
            _add_all(v, exc)
    try:
        data = validate_partner(
            name=draft.name,
            roles=roles,
            manager_id=draft.manager_id,
            segment=draft.segment,
            region=draft.region,
            tags=list(draft.tags),
            source=draft.source,
            contacts=contacts,
            default_phone_region=region,
            prefix=prefix,
        )
    except InvalidArgument as exc:
        _add_all(v, exc)
    v.raise_if_any()
    return data


def _add_all(v: Violations, exc: InvalidArgument) -> None:
    for violation in exc.violations:
        v.add(violation.field, violation.description)


def counterparty_in(message: pb.CounterpartyDraft, prefix: str, region: str = "") -> CounterpartyData:
    form = enum_in(message.legal_form, pb.LegalForm, "LEGAL_FORM_", LegalForm, f"{prefix}.legal_form")
    v = Violations()
    contacts: list[Contact] = []
    country = message.country.strip().upper()
    phone_region = region or (country if country in COUNTRIES else "UA")
    for i, contact in enumerate(message.contacts):
        # Normalised here, each under its own index, so a bad kind does not shift the others' names.
        try:
            contacts.append(
                normalize_contact(
                    contact_in(contact, f"{prefix}.contacts[{i}]"), f"{prefix}.contacts[{i}].value", phone_region
                )
            )
        except InvalidArgument as exc:
            _add_all(v, exc)
    address = None
    if message.HasField("legal_address"):
        address = {f.name: value for f, value in message.legal_address.ListFields()}
    try:
        data = validate_counterparty(
            legal_form=form,
            country=message.country,
            full_name=message.full_name,
            short_name=message.short_name,
            tax_id=message.tax_id,
            kpp=message.kpp,
            legal_address=address,
            bank_accounts=[
                BankAccountData(
                    iban=a.iban, account=a.account, bic=a.bic, bank_name=a.bank_name, currency=a.currency, main=a.main
                )
                for a in message.bank_accounts
            ],
            prefix=prefix,
            contacts=contacts,
            default_phone_region=region,
        )
    except InvalidArgument as exc:
        _add_all(v, exc)
    v.raise_if_any()
    return data


def person_in(message: pb.PersonDraft, region: str, prefix: str) -> PersonData:
    v = Violations()
    contacts: list[Contact] = []
    for i, contact in enumerate(message.contacts):
        try:
            contacts.append(contact_in(contact, f"{prefix}.contacts[{i}]"))
        except InvalidArgument as exc:
            _add_all(v, exc)
    role = DecisionRole.UNSPECIFIED
    try:
        role = decision_role_in(message.decision_role, f"{prefix}.decision_role")
    except InvalidArgument as exc:
        _add_all(v, exc)
    try:
        data = validate_person(
            name=message.name,
            contacts=contacts,
            position=message.position,
            decision_role=role,
            default_phone_region=region,
            prefix=prefix,
        )
    except InvalidArgument as exc:
        _add_all(v, exc)
    v.raise_if_any()
    return data
