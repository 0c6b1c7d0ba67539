"""Partners' rules: what a valid partner is. Pure Python, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from crm_platform.contacts import normalize_email, normalize_phone
from crm_platform.errors import FailedPrecondition, InvalidArgument, Violations
from crm_platform.text import fold, latin
from partners.matching import name_blocks, name_key

MAX_NAME = 300
MAX_TAG = 60
MAX_TAGS = 30
MAX_CONTACTS = 50
MAX_SHORT = 120


class PartnerRole(StrEnum):
    CLIENT = "client"
    SUPPLIER = "supplier"
    COMPETITOR = "competitor"
    CARRIER = "carrier"
    DEALER = "dealer"
    OTHER = "other"


class ContactKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    ADDRESS = "address"
    WEB = "web"
    MESSENGER = "messenger"


@dataclass(frozen=True)
class Contact:
    kind: ContactKind
    value: str
    label: str = ""
    address: dict[str, str] | None = None


@dataclass(frozen=True)
class PartnerData:
    name: str
    roles: tuple[PartnerRole, ...]
    manager_id: str = ""
    segment: str = ""
    region: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""
    contacts: tuple[Contact, ...] = field(default_factory=tuple)

    @property
    def name_folded(self) -> str:
        return fold(self.name)

    @property
    def name_latin(self) -> str:
        return latin(self.name)

    @property
    def name_key(self) -> str:
        return name_key(self.name)

    @property
    def name_blocks(self) -> list[str]:
        return name_blocks(self.name_key)


def _check_short(violations: Violations, field_name: str, value: str) -> str:
    value = value.strip()
    if len(value) > MAX_SHORT:
        violations.add(field_name, f"longer than {MAX_SHORT} characters")
    return value


def validate_partner(
    *,
    name: str,
    roles: list[PartnerRole],
    manager_id: str,
    segment: str,
    region: str,
    tags: list[str],
    source: str,
    contacts: list[Contact],
    default_phone_region: str,
    prefix: str = "partner",
) -> PartnerData:
    """Checks every field, reports all bad ones at once, normalises phones and e-mails."""
    v = Violations()
    clean_name = " ".join(name.split())
    if not clean_name:
        v.add(f"{prefix}.name", "must not be empty")
    elif len(clean_name) > MAX_NAME:
        v.add(f"{prefix}.name", f"longer than {MAX_NAME} characters")
    if len(tags) > MAX_TAGS:
        v.add(f"{prefix}.tags", f"at most {MAX_TAGS} tags")
    clean_tags: list[str] = []
    for i, tag in enumerate(tags):
        tag = " ".join(tag.split())
        if not tag or len(tag) > MAX_TAG:
            v.add(f"{prefix}.tags[{i}]", f"must be 1 to {MAX_TAG} characters")
        elif tag not in clean_tags:
            clean_tags.append(tag)
    if len(contacts) > MAX_CONTACTS:
        v.add(f"{prefix}.contacts", f"at most {MAX_CONTACTS} contacts")
    clean_contacts: list[Contact] = []
    for i, contact in enumerate(contacts):
        field_name = f"{prefix}.contacts[{i}].value"
        try:
            clean_contacts.append(normalize_contact(contact, field_name, default_phone_region))
        except InvalidArgument as exc:
            for violation in exc.violations:
                v.add(violation.field, violation.description)
    data = PartnerData(
        name=clean_name,
        roles=tuple(dict.fromkeys(roles or [PartnerRole.CLIENT])),
        manager_id=_check_short(v, f"{prefix}.manager_id", manager_id),
        segment=_check_short(v, f"{prefix}.segment", segment),
        region=_check_short(v, f"{prefix}.region", region),
        tags=tuple(clean_tags),
        source=_check_short(v, f"{prefix}.source", source),
        contacts=tuple(clean_contacts),
    )
    v.raise_if_any()
    return data


def normalize_contact(contact: Contact, field_name: str, default_phone_region: str) -> Contact:
    value = contact.value.strip()
    if contact.kind is ContactKind.PHONE:
        value = normalize_phone(value, field_name, default_phone_region)
    elif contact.kind is ContactKind.EMAIL:
        value = normalize_email(value, field_name)
    elif contact.kind is ContactKind.ADDRESS:
        if not value and contact.address:
            value = ", ".join(p for p in contact.address.values() if p)
        if not value:
            raise InvalidArgument.single(field_name, "address is empty")
    elif not value:
        raise InvalidArgument.single(field_name, "must not be empty")
    if len(value) > 500:
        raise InvalidArgument.single(field_name, "longer than 500 characters")
    return Contact(contact.kind, value, contact.label.strip()[:MAX_SHORT], contact.address)


def validate_contacts(
    v: Violations, contacts: list[Contact], prefix: str, default_phone_region: str
) -> tuple[Contact, ...]:
    """Normalised contacts; every bad one is added to `v` as `{prefix}.contacts[i].value`."""
    if len(contacts) > MAX_CONTACTS:
        v.add(f"{prefix}.contacts", f"at most {MAX_CONTACTS} contacts")
    clean: list[Contact] = []
    for i, contact in enumerate(contacts):
        try:
            clean.append(normalize_contact(contact, f"{prefix}.contacts[{i}].value", default_phone_region))
        except InvalidArgument as exc:
            for violation in exc.violations:
                v.add(violation.field, violation.description)
    return tuple(clean)


MAX_SUBJECT = 4000


class LeadState(StrEnum):
    NEW = "new"
    IN_WORK = "in_work"
    CONVERTED = "converted"
    LOST = "lost"


OPEN_LEAD_STATES = (LeadState.NEW, LeadState.IN_WORK)


@dataclass(frozen=True)
class LeadData:
    name: str
    company: str
    phone: str
    email: str
    source: str
    subject: str
    tags: tuple[str, ...]
    responsible_id: str

    @property
    def display_name(self) -> str:
        return self.name or self.company or self.phone or self.email


def _clean_name(v: Violations, field_name: str, value: str) -> str:
    clean = " ".join(value.split())
    if len(clean) > MAX_NAME:
        v.add(field_name, f"longer than {MAX_NAME} characters")
    return clean


def _clean_tags(v: Violations, field_name: str, tags: list[str]) -> tuple[str, ...]:
    if len(tags) > MAX_TAGS:
        v.add(field_name, f"at most {MAX_TAGS} tags")
    clean: list[str] = []
    for i, tag in enumerate(tags):
        tag = " ".join(tag.split())
        if not tag or len(tag) > MAX_TAG:
            v.add(f"{field_name}[{i}]", f"must be 1 to {MAX_TAG} characters")
        elif tag not in clean:
            clean.append(tag)
    return tuple(clean)


def optional_phone(v: Violations, field_name: str, value: str, region: str) -> str:
    if not value.strip():
        return ""
    try:
        return normalize_phone(value, field_name, region)
    except InvalidArgument as exc:
        for violation in exc.violations:
            v.add(violation.field, violation.description)
        return ""


def optional_email(v: Violations, field_name: str, value: str) -> str:
    if not value.strip():
        return ""
    if len(value) > 320:
        v.add(field_name, "longer than 320 characters")
        return ""
    try:
        return normalize_email(value, field_name)
    except InvalidArgument as exc:
        for violation in exc.violations:
            v.add(violation.field, violation.description)
        return ""


def validate_lead(
    *,
    name: str,
    company: str,
    phone: str,
    email: str,
    source: str,
    subject: str,
    tags: list[str],
    responsible_id: str,
    default_phone_region: str,
) -> LeadData:
    v = Violations()
    data = LeadData(
        name=_clean_name(v, "name", name),
        company=_clean_name(v, "company", company),
        phone=optional_phone(v, "phone", phone, default_phone_region),
        email=optional_email(v, "email", email),
        source=_check_short(v, "source", source),
        subject=subject.strip(),
        tags=_clean_tags(v, "tags", tags),
        responsible_id=_check_short(v, "responsible_id", responsible_id),
    )
    if len(data.subject) > MAX_SUBJECT:
        v.add("subject", f"longer than {MAX_SUBJECT} characters")
    if not v and not (data.name or data.company or data.phone or data.email):
        v.add("name", "a lead needs a name, a company, a phone or an e-mail")
    v.raise_if_any()
    return data


@dataclass(frozen=True)
class ShopCustomerData:
    shop_id: str
    shop_customer_id: str
    name: str
    phone: str
    email: str


def validate_shop_customer(
    *, shop_id: str, shop_customer_id: str, name: str, phone: str, email: str, default_phone_region: str
) -> ShopCustomerData:
    v = Violations()
    ids = {}
    for field_name, value in (("shop_id", shop_id), ("shop_customer_id", shop_customer_id)):
        value = value.strip()
        if not value:
            v.add(field_name, "is required")
        elif len(value) > MAX_SHORT:
            v.add(field_name, f"longer than {MAX_SHORT} characters")
        ids[field_name] = value
    data = ShopCustomerData(
        shop_id=ids["shop_id"],
        shop_customer_id=ids["shop_customer_id"],
        name=_clean_name(v, "customer.name", name),
        phone=optional_phone(v, "customer.phone", phone, default_phone_region),
        email=optional_email(v, "customer.email", email),
    )
    if not v and not data.name:
        v.add("customer.name", "must not be empty")
    v.raise_if_any()
    return data


def shop_customer_partner(data: ShopCustomerData) -> PartnerData:
    """The partner registered for a shop's new customer."""
    contacts = []
    if data.phone:
        contacts.append(Contact(ContactKind.PHONE, data.phone))
    if data.email:
        contacts.append(Contact(ContactKind.EMAIL, data.email))
    return PartnerData(
        name=data.name,
        roles=(PartnerRole.CLIENT,),
        source=f"shop:{data.shop_id}",
        contacts=tuple(contacts),
    )


def contact_query(phone: str, email: str, default_phone_region: str) -> tuple[ContactKind, str]:
    """The one normalised contact a lookup asks about: exactly one of phone and e-mail."""
    if phone.strip() and email.strip():
        raise InvalidArgument.single("email", "give either a phone or an e-mail, not both")
    if email.strip():
        if len(email) > 320:
            raise InvalidArgument.single("email", "longer than 320 characters")
        return ContactKind.EMAIL, normalize_email(email, "email")
    if phone.strip():
        return ContactKind.PHONE, normalize_phone(phone, "phone", default_phone_region)
    raise InvalidArgument.single("phone", "a phone or an e-mail is required")


class DecisionRole(StrEnum):
    UNSPECIFIED = "unspecified"
    DECISION_MAKER = "decision_maker"
    INFLUENCER = "influencer"
    USER = "user"
    GATEKEEPER = "gatekeeper"
    INITIATOR = "initiator"


class PartnerRelationKind(StrEnum):
    PARENT_OF = "parent_of"
    DEALER_OF = "dealer_of"
    COMPETITOR_OF = "competitor_of"
    SUPPLIER_OF = "supplier_of"
    CARRIER_OF = "carrier_of"
    PARTNER_OF = "partner_of"
    SUBCONTRACTOR_OF = "subcontractor_of"


class PersonRelationKind(StrEnum):
    KNOWS = "knows"
    REPORTS_TO = "reports_to"
    INFLUENCES = "influences"


MAX_PERSONS = 50
MAX_NOTE = 500


@dataclass(frozen=True)
class PersonData:
    name: str
    contacts: tuple[Contact, ...]
    position: str = ""
    decision_role: DecisionRole = DecisionRole.UNSPECIFIED


def validate_person(
    *,
    name: str,
    contacts: list[Contact],
    position: str,
    decision_role: DecisionRole,
    default_phone_region: str,
    prefix: str,
) -> PersonData:
    v = Violations()
    clean_name = " ".join(name.split())
    if not clean_name:
        v.add(f"{prefix}.name", "must not be empty")
    elif len(clean_name) > MAX_NAME:
        v.add(f"{prefix}.name", f"longer than {MAX_NAME} characters")
    if len(contacts) > MAX_CONTACTS:
        v.add(f"{prefix}.contacts", f"at most {MAX_CONTACTS} contacts")
    clean_contacts: list[Contact] = []
    for i, contact in enumerate(contacts):
        try:
            clean_contacts.append(normalize_contact(contact, f"{prefix}.contacts[{i}].value", default_phone_region))
        except InvalidArgument as exc:
            for violation in exc.violations:
                v.add(violation.field, violation.description)
    data = PersonData(
        name=clean_name,
        contacts=tuple(clean_contacts),
        position=_check_short(v, f"{prefix}.position", position),
        decision_role=decision_role,
    )
    v.raise_if_any()
    return data


def check_note(note: str, field_name: str = "note") -> str:
    note = " ".join(note.split())
    if len(note) > MAX_NOTE:
        raise InvalidArgument.single(field_name, f"longer than {MAX_NOTE} characters")
    return note


LEAD_TRANSITIONS: dict[LeadState, frozenset[LeadState]] = {
    LeadState.NEW: frozenset({LeadState.IN_WORK, LeadState.CONVERTED, LeadState.LOST}),
    LeadState.IN_WORK: frozenset({LeadState.CONVERTED, LeadState.LOST}),
    LeadState.LOST: frozenset({LeadState.IN_WORK}),  # a lost lead may be taken up again
    LeadState.CONVERTED: frozenset(),
}


def check_lead_transition(current: LeadState, target: LeadState) -> None:
    if target not in LEAD_TRANSITIONS[current]:
        raise FailedPrecondition(f"a {current.value} lead cannot become {target.value}", rule="lead_state")


def lost_reason(reason: str, comment: str) -> tuple[str, str]:
    v = Violations()
    reason = " ".join(reason.split())
    if not reason:
        v.add("reason", "losing a lead needs a reason")
    elif len(reason) > MAX_NAME:
        v.add("reason", f"longer than {MAX_NAME} characters")
    comment = comment.strip()
    if len(comment) > MAX_SUBJECT:
        v.add("comment", f"longer than {MAX_SUBJECT} characters")
    v.raise_if_any()
    return reason, comment


def lead_partner(lead: LeadData) -> PartnerData:
    """The partner a lead becomes when the caller gives no draft of its own."""
    contacts = []
    if lead.phone:
        contacts.append(Contact(ContactKind.PHONE, lead.phone))
    if lead.email:
        contacts.append(Contact(ContactKind.EMAIL, lead.email))
    return PartnerData(
        name=lead.company or lead.name or lead.phone or lead.email,
        roles=(PartnerRole.CLIENT,),
        manager_id=lead.responsible_id,
        tags=lead.tags,
        source=lead.source,
        contacts=tuple(contacts),
    )
