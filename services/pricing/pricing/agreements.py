"""Agreements: typical (a partner segment) and individual (one partner, based on a typical one)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import date

from sqlalchemy.exc import IntegrityError

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from crm_platform.outbox import add_event
from pricing.domain import (
    AgreementKind,
    AgreementStatus,
    PaymentForm,
    SaleKind,
    TaxRegime,
    Terms,
    check_terms_values,
    check_transition,
    check_validity,
    clean_text,
    refuse_overlap,
)
from pricing.events import SOURCE, AgreementAgreed, AgreementClosed, AgreementUpdated
from pricing.models import AgreementRow
from pricing.price_tables import PriceTables
from pricing.repository import AgreementRepository, PriceTypeRepository

TERM_COLUMNS = tuple(Terms.__dataclass_fields__)


def terms_of(row: AgreementRow) -> Terms:
    return Terms(
        price_type_id=row.price_type_id,
        currency=row.currency,
        discount_percent=row.discount_percent,
        manual_discount_limit_percent=row.manual_discount_limit_percent,
        prepayment_percent=row.prepayment_percent,
        credit_days=row.credit_days,
        payment_form=PaymentForm(row.payment_form),
        tax_regime=TaxRegime(row.tax_regime),
        delivery_terms=row.delivery_terms,
        sale_kind=SaleKind(row.sale_kind),
        contract_required=row.contract_required,
        returnable_packaging=row.returnable_packaging,
    )


async def create_agreement(
    db: Database,
    *,
    name: str,
    kind: AgreementKind,
    segment: str,
    partner_id: uuid.UUID | None,
    base_id: uuid.UUID | None,
    overrides: dict[str, object],
    valid_from: date,
    valid_to: date | None,
    request_id: str | None,
) -> AgreementRow:
    name = clean_text(name, "name")
    check_validity(valid_from, valid_to)
    if kind == AgreementKind.TYPICAL:
        segment = clean_text(segment, "segment", 120)
        if partner_id is not None:
            raise InvalidArgument.single("partner_id", "a typical agreement is for a segment, not a partner")
    elif partner_id is None:
        raise InvalidArgument.single("partner_id", "an individual agreement needs its partner")
    try:
        async with db.transaction() as session:
            repo = AgreementRepository(session)
            if request_id and (earlier := await repo.by_request_id(request_id)) is not None:
                return earlier
            terms = Terms()
            if base_id is not None:
                if kind != AgreementKind.INDIVIDUAL:
                    raise InvalidArgument.single("base_agreement_id", "only an individual agreement has a base")
                base = await repo.get(base_id)
                if base is None or base.kind != AgreementKind.TYPICAL:
                    raise InvalidArgument.single("base_agreement_id", "no such typical agreement")
                terms = terms_of(base)
            terms = terms.overridden(overrides)
            check_terms_values(terms)
            if terms.price_type_id is not None and await PriceTypeRepository(session).get(terms.price_type_id) is None:
                raise InvalidArgument.single("terms.price_type_id", "no such price type")
            row = AgreementRow(
                name=name,
                kind=kind.value,
                segment=segment if kind == AgreementKind.TYPICAL else "",
                partner_id=partner_id,
                base_agreement_id=base_id,
                valid_from=valid_from,
                valid_to=valid_to,
                status=AgreementStatus.DRAFT.value,
                request_id=request_id,
                **{k: (v.value if hasattr(v, "value") else v) for k, v in asdict(terms).items()},
            )
            return await repo.add(row)
    except IntegrityError:
        if request_id:
            async with db.reading() as session:
                if (earlier := await AgreementRepository(session).by_request_id(request_id)) is not None:
                    return earlier
        raise AlreadyExists("agreement already exists") from None


def _party(row: AgreementRow) -> str:
    return str(row.partner_id) if row.kind == AgreementKind.INDIVIDUAL else f"segment:{row.segment}"


async def _refuse_overlap(repo: AgreementRepository, row: AgreementRow, valid_to: date | None) -> None:
    """Another agreed agreement of the same partner (individual) or segment (typical) in the period."""
    others = await repo.agreed_of_party(
        partner_id=row.partner_id if row.kind == AgreementKind.INDIVIDUAL else None,
        segment=row.segment,
        exclude=row.id,
    )
    refuse_overlap(
        row.valid_from,
        valid_to,
        [(o.id, o.valid_from, o.valid_to) for o in others],
        "partner" if row.kind == AgreementKind.INDIVIDUAL else "segment",
    )


def _agreed_event(row: AgreementRow) -> AgreementAgreed:
    return AgreementAgreed(
        agreement_id=row.id,
        kind=row.kind,
        partner_id=row.partner_id,
        segment=row.segment,
        price_type_id=row.price_type_id,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


async def transition(
    db: Database, tables: PriceTables, agreement_id: uuid.UUID, target: AgreementStatus
) -> AgreementRow:
    async with db.transaction() as session:
        repo = AgreementRepository(session)
        row = await repo.get(agreement_id)
        if row is None:
            raise NotFound(f"agreement {agreement_id} not found")
        await repo.lock_party(_party(row))
        row = await repo.get(agreement_id, lock=True)
        assert row is not None
        await session.refresh(row)
        if row.status == target:  # a retried call: already done, nothing to announce again
            return row
        check_transition(AgreementStatus(row.status), target)
        if target == AgreementStatus.AGREED:
            if row.price_type_id is None:
                raise FailedPrecondition("an agreement needs a price type before it is agreed", rule="price_type")
            await _refuse_overlap(repo, row, row.valid_to)
        row.status = target.value
        row.version += 1
        row.updated_at = utcnow()
        await session.flush()
        if target == AgreementStatus.AGREED:
            event: AgreementAgreed | AgreementClosed = _agreed_event(row)
        else:
            event = AgreementClosed(agreement_id=row.id, closed_at=row.updated_at)
        add_event(session, event, source=SOURCE)
    tables.drop_agreements()
    return row


@dataclass(frozen=True)
class AgreementChanges:
    """What UpdateAgreement asks to change (validated); None keeps the value."""

    name: str | None = None
    terms: dict[str, object] = field(default_factory=dict)
    valid_from: date | None = None
    valid_to_set: bool = False
    valid_to: date | None = None  # None with valid_to_set: open-ended


def _refuse_agreed_change(
    row: AgreementRow, current: Terms, terms: Terms, valid_from: date, valid_to: date | None
) -> None:
    """An agreed agreement is a signed contract: only its name and a later end may change."""
    fixed = [f"terms.{k}" for k in TERM_COLUMNS if getattr(terms, k) != getattr(current, k)]
    if valid_from != row.valid_from:
        fixed.append("valid_from")
    if fixed:
        raise FailedPrecondition(
            f"agreement {row.id} is agreed: its {', '.join(fixed)} cannot change; close it and create a new "
            "agreement with the new terms (only the name may change and valid_to be extended)",
            rule="agreement_agreed",
        )
    if valid_to is not None and (row.valid_to is None or valid_to < row.valid_to):
        raise FailedPrecondition(
            f"agreement {row.id} is agreed until {row.valid_to or 'further notice'}: its validity may be "
            f"extended, not shortened to {valid_to}; close it (CloseAgreement) to end it now",
            rule="agreement_agreed",
        )


async def update_agreement(
    db: Database, tables: PriceTables, agreement_id: uuid.UUID, changes: AgreementChanges, expected_version: int
) -> AgreementRow:
    async with db.transaction() as session:
        repo = AgreementRepository(session)
        row = await repo.get(agreement_id)
        if row is None:
            raise NotFound(f"agreement {agreement_id} not found")
        await repo.lock_party(_party(row))  # overlap checks of the party see each other
        row = await repo.get(agreement_id, lock=True)
        assert row is not None
        await session.refresh(row)
        if expected_version and expected_version != row.version:
            raise FailedPrecondition(
                f"the agreement changed meanwhile (version {row.version}, expected {expected_version})", rule="version"
            )
        current = terms_of(row)
        terms = current.overridden(changes.terms)
        name = changes.name if changes.name is not None else row.name
        valid_from = changes.valid_from or row.valid_from
        valid_to = changes.valid_to if changes.valid_to_set else row.valid_to
        if (name, terms, valid_from, valid_to) == (row.name, current, row.valid_from, row.valid_to):
            return row  # a retry, or the values it already has: nothing to announce
        status = AgreementStatus(row.status)
        if status == AgreementStatus.CLOSED:
            raise FailedPrecondition(
                f"agreement {row.id} is closed and cannot change; create a new one", rule="agreement_status"
            )
        if valid_to is not None and valid_to < valid_from:
            field_name = "valid_to" if changes.valid_to_set else "valid_from"
            raise InvalidArgument.single(
                field_name, f"the validity would end ({valid_to}) before it starts ({valid_from})"
            )
        if status == AgreementStatus.AGREED:
            _refuse_agreed_change(row, current, terms, valid_from, valid_to)
            if valid_to != row.valid_to:
                await _refuse_overlap(repo, row, valid_to)
        else:
            check_terms_values(terms)
            if (
                terms.price_type_id is not None
                and terms.price_type_id != current.price_type_id
                and await PriceTypeRepository(session).get(terms.price_type_id) is None
            ):
                raise InvalidArgument.single("terms.price_type_id", "no such price type")
        extended = status == AgreementStatus.AGREED and valid_to != row.valid_to
        row.name, row.valid_from, row.valid_to = name, valid_from, valid_to
        for key, value in asdict(terms).items():
            setattr(row, key, value.value if hasattr(value, "value") else value)
        row.version += 1
        row.updated_at = utcnow()
        await session.flush()
        add_event(
            session,
            AgreementUpdated(
                agreement_id=row.id,
                name=row.name,
                kind=row.kind,
                status=row.status,
                partner_id=row.partner_id,
                segment=row.segment,
                price_type_id=row.price_type_id,
                currency=row.currency,
                discount_percent=row.discount_percent,
                valid_from=row.valid_from,
                valid_to=row.valid_to,
                version=row.version,
            ),
            source=SOURCE,
        )
        if extended:  # whoever keeps agreed agreements (deals) learns the new end the way it learnt the first
            add_event(session, _agreed_event(row), source=SOURCE)
    tables.drop_agreements()
    return row
