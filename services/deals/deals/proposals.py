"""Commercial proposals: priced by pricing, versioned, approved, agreed, compared with competitors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from crm_platform.money import Money
from crm_platform.outbox import add_event
from deals.domain import DealStatus, Importance, ProposalAction, ProposalStatus, proposal_next, require_open
from deals.events import ProposalAgreed
from deals.models import CompetitorOfferRow, KnownPartner, ProposalRow, ProposalVersionRow
from deals.opening import SOURCE, actor
from deals.pricing_gateway import LineRequest, Priced, PricingGateway
from deals.repository import DealRepository, KnownPartnerRepository


@dataclass(frozen=True)
class ProposalView:
    proposal: ProposalRow
    offers: list[tuple[CompetitorOfferRow, str]]


@dataclass(frozen=True)
class ProposalDraft:
    lines: list[LineRequest]
    valid_until: date
    importance: Importance
    comment: str
    currency: str = ""


def _today() -> date:
    return utcnow().date()


def check_draft(draft: ProposalDraft) -> None:
    if not draft.lines:
        raise InvalidArgument.single("lines", "at least one line is required")
    if draft.valid_until < _today():
        raise InvalidArgument.single("valid_until", "must not be in the past")


def _needs_approval(priced: Priced) -> list[str]:
    return [v["message"] for v in priced.violations if v["code"] == "DISCOUNT_OVER_LIMIT"]


async def _view(session: AsyncSession, proposal: ProposalRow) -> ProposalView:
    query = (
        select(CompetitorOfferRow, KnownPartner.name)
        .join(KnownPartner, KnownPartner.id == CompetitorOfferRow.competitor_id, isouter=True)
        .where(CompetitorOfferRow.proposal_id == proposal.id)
        .order_by(CompetitorOfferRow.total)
    )
    offers = [(row, name or "") for row, name in (await session.execute(query)).all()]
    return ProposalView(proposal, offers)


async def _deal_partner(db: Database, deal_id: uuid.UUID) -> uuid.UUID:
    async with db.reading() as session:
        deal = await DealRepository(session).get(deal_id)
    if deal is None:
        raise NotFound(f"deal {deal_id} not found")
    require_open(DealStatus(deal.status))
    return deal.partner_id


def _version(proposal: ProposalRow, comment: str) -> ProposalVersionRow:
    return ProposalVersionRow(
        proposal_id=proposal.id,
        version=proposal.version,
        lines=proposal.lines,
        totals=proposal.totals,
        valid_until=proposal.valid_until,
        created_by=actor(),
        comment=comment,
    )


async def create(
    db: Database, pricing: PricingGateway, deal_id: uuid.UUID, draft: ProposalDraft, request_id: str | None
) -> ProposalView:
    check_draft(draft)
    if request_id:
        async with db.reading() as session:
            earlier = await _by_request(session, request_id)
            if earlier is not None:
                return await _view(session, earlier)
    partner_id = await _deal_partner(db, deal_id)
    priced = await pricing.quote(draft.lines, partner_id=str(partner_id), currency=draft.currency)
    try:
        async with db.transaction() as session:
            proposal = ProposalRow(
                deal_id=deal_id,
                request_id=request_id,
                status=ProposalStatus.DRAFT.value,
                importance=draft.importance.value,
                valid_until=draft.valid_until,
                currency=priced.currency,
                agreement_id=priced.agreement_id,
                lines=priced.lines,
                totals=priced.totals,
                approval_reasons=_needs_approval(priced),
            )
            session.add(proposal)
            await session.flush()
            session.add(_version(proposal, draft.comment))
            return await _view(session, proposal)
    except IntegrityError:
        if not request_id:
            raise
        async with db.reading() as session:
            earlier = await _by_request(session, request_id)
            if earlier is None:
                raise
            return await _view(session, earlier)


async def _by_request(session: AsyncSession, request_id: str) -> ProposalRow | None:
    query = select(ProposalRow).where(ProposalRow.request_id == request_id)
    return (await session.execute(query)).scalars().first()


async def _locked(session: AsyncSession, proposal_id: uuid.UUID) -> ProposalRow:
    query = select(ProposalRow).where(ProposalRow.id == proposal_id).with_for_update()
    proposal = (await session.execute(query)).scalars().first()
    if proposal is None:
        raise NotFound(f"proposal {proposal_id} not found")
    return proposal


async def revise(
    db: Database, pricing: PricingGateway, proposal_id: uuid.UUID, draft: ProposalDraft, expected_version: int
) -> ProposalView:
    check_draft(draft)
    async with db.reading() as session:
        current = await session.get(ProposalRow, proposal_id)
        if current is None:
            raise NotFound(f"proposal {proposal_id} not found")
    partner_id = await _deal_partner(db, current.deal_id)
    priced = await pricing.quote(draft.lines, partner_id=str(partner_id), currency=current.currency)
    async with db.transaction() as session:
        proposal = await _locked(session, proposal_id)
        if expected_version and expected_version != proposal.version:
            raise FailedPrecondition(
                f"the proposal changed meanwhile (version {proposal.version}, expected {expected_version})",
                rule="version",
            )
        proposal_next(
            ProposalStatus(proposal.status), ProposalAction.REVISE, needs_approval=False, approved=False, expired=False
        )
        proposal.status = ProposalStatus.DRAFT.value
        proposal.version += 1
        proposal.lines, proposal.totals = priced.lines, priced.totals
        proposal.agreement_id = priced.agreement_id
        proposal.approval_reasons = _needs_approval(priced)
        proposal.valid_until, proposal.importance = draft.valid_until, draft.importance.value
        proposal.approved_by, proposal.updated_at = "", utcnow()
        session.add(_version(proposal, draft.comment))
        await session.flush()
        return await _view(session, proposal)


async def act(db: Database, proposal_id: uuid.UUID, action: ProposalAction) -> ProposalView:
    async with db.transaction() as session:
        proposal = await _locked(session, proposal_id)
        target = proposal_next(
            ProposalStatus(proposal.status),
            action,
            needs_approval=bool(proposal.approval_reasons),
            approved=proposal.approved_version == proposal.version,
            expired=proposal.valid_until < _today(),
        )
        if action == ProposalAction.APPROVE:
            proposal.approved_version, proposal.approved_by = proposal.version, actor()
        proposal.status, proposal.updated_at = target.value, utcnow()
        if target == ProposalStatus.AGREED:
            deal = await DealRepository(session).get(proposal.deal_id)
            assert deal is not None
            add_event(
                session,
                ProposalAgreed(
                    proposal_id=proposal.id,
                    deal_id=proposal.deal_id,
                    partner_id=deal.partner_id,
                    version=proposal.version,
                    amount=Decimal(proposal.totals["total"]),
                    currency=proposal.currency,
                    approved_by=proposal.approved_by,
                    agreed_at=proposal.updated_at,
                ),
                source=SOURCE,
            )
        await session.flush()
        return await _view(session, proposal)


async def add_competitor_offer(
    db: Database, proposal_id: uuid.UUID, competitor_id: uuid.UUID, total: Money, note: str
) -> ProposalView:
    async with db.transaction() as session:
        proposal = await _locked(session, proposal_id)
        if total.currency != proposal.currency:
            raise InvalidArgument.single("total.currency", f"the proposal is in {proposal.currency}")
        if await KnownPartnerRepository(session).get(competitor_id) is None:
            raise FailedPrecondition(f"partner {competitor_id} is not known to deals", rule="partner_known")
        session.add(
            CompetitorOfferRow(
                proposal_id=proposal.id,
                competitor_id=competitor_id,
                total=total.amount,
                currency=total.currency,
                note=note,
            )
        )
        await session.flush()
        return await _view(session, proposal)


async def get(db: Database, proposal_id: uuid.UUID) -> ProposalView:
    async with db.reading() as session:
        proposal = await session.get(ProposalRow, proposal_id)
        if proposal is None:
            raise NotFound(f"proposal {proposal_id} not found")
        return await _view(session, proposal)


async def of_deal(db: Database, deal_id: uuid.UUID) -> list[ProposalView]:
    async with db.reading() as session:
        query = select(ProposalRow).where(ProposalRow.deal_id == deal_id).order_by(ProposalRow.created_at)
        return [await _view(session, p) for p in (await session.execute(query)).scalars().all()]


async def versions(db: Database, proposal_id: uuid.UUID) -> list[ProposalVersionRow]:
    async with db.reading() as session:
        if await session.get(ProposalRow, proposal_id) is None:
            raise NotFound(f"proposal {proposal_id} not found")
        query = (
            select(ProposalVersionRow)
            .where(ProposalVersionRow.proposal_id == proposal_id)
            .order_by(ProposalVersionRow.version)
        )
        return list((await session.execute(query)).scalars().all())
