"""A deal's life: stage moves, won, lost, reopened, field changes, and how it reads back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from crm_platform.money import Money
from crm_platform.outbox import add_event
from deals import domain
from deals.domain import DealFacts, DealKind, DealStatus, ParticipantRole, Stage
from deals.events import DealLost, DealReopened, DealStageChanged, DealWon
from deals.models import DealHistoryRow, DealRow, KnownPartner, LostReasonRow, ParticipantRow
from deals.opening import SOURCE, actor
from deals.repository import (
    AgreementRepository,
    DealRepository,
    KnownPartnerRepository,
    LostReasonRepository,
    ProcessRepository,
)


@dataclass(frozen=True)
class DealView:
    deal: DealRow
    partner: KnownPartner | None
    stage_name: str
    lost_reason: str
    participants: list[tuple[ParticipantRow, str]]


async def view(session: AsyncSession, deal: DealRow) -> DealView:
    partner = await KnownPartnerRepository(session).get(deal.partner_id)
    stage_name = ""
    if deal.process_id and deal.stage_code:
        stages = await ProcessRepository(session).stages(deal.process_id)
        stage_name = next((s.name for s in stages if s.code == deal.stage_code), "")
    reason = await LostReasonRepository(session).get(deal.lost_reason_id) if deal.lost_reason_id else None
    participants = await DealRepository(session).participants(deal.id)
    return DealView(deal, partner, stage_name, reason.name if reason else "", participants)


async def get_view(db: Database, deal_id: uuid.UUID) -> DealView:
    async with db.reading() as session:
        deal = await DealRepository(session).get(deal_id)
        if deal is None:
            raise NotFound(f"deal {deal_id} not found")
        return await view(session, deal)


async def _locked(session: AsyncSession, deal_id: uuid.UUID) -> DealRow:
    deal = await DealRepository(session).lock(deal_id)
    if deal is None:
        raise NotFound(f"deal {deal_id} not found")
    return deal


async def facts_of(session: AsyncSession, deal: DealRow) -> DealFacts:
    partner = await KnownPartnerRepository(session).get(deal.partner_id)
    agreement = partner is not None and await AgreementRepository(session).in_force(partner, date.today())
    roles = {ParticipantRole(row.role) for row, _ in await DealRepository(session).participants(deal.id)}
    return DealFacts(
        partner_classified=bool(partner and partner.abc_class),
        agreement_set=agreement,
        counterparty=deal.counterparty,
        expected_amount=Money(deal.expected_amount, deal.currency or "") if deal.expected_amount is not None else None,
        roles_present=frozenset(roles),
    )


async def _stages(session: AsyncSession, deal: DealRow) -> list[Stage]:
    return await ProcessRepository(session).stages(deal.process_id) if deal.process_id else []


def _history(deal: DealRow, *, to_stage: str, to_status: str, comment: str, skipped: list[str] | None = None):
    return DealHistoryRow(
        deal_id=deal.id,
        from_stage=deal.stage_code or "",
        to_stage=to_stage,
        from_status=deal.status,
        to_status=to_status,
        skipped=skipped or [],
        moved_by=actor(),
        moved_at=utcnow(),
        comment=comment,
    )


async def move(db: Database, deal_id: uuid.UUID, target: str, comment: str) -> DealView:
    async with db.transaction() as session:
        deal = await _locked(session, deal_id)
        stages = await _stages(session, deal)
        skipped = domain.plan_move(
            DealKind(deal.kind),
            DealStatus(deal.status),
            stages,
            deal.stage_code or "",
            target,
            await facts_of(session, deal),
        )
        entry = _history(deal, to_stage=target, to_status=deal.status, comment=comment, skipped=skipped)
        await DealRepository(session).add_history(entry)
        from_stage = deal.stage_code or ""
        deal.stage_code = target
        deal.reached_position = max(deal.reached_position, domain.position_of(stages, target))
        deal.version += 1
        add_event(
            session,
            DealStageChanged(
                deal_id=deal.id,
                partner_id=deal.partner_id,
                manager_id=deal.manager_id,
                from_stage=from_stage,
                to_stage=target,
                changed_by=entry.moved_by,
                changed_at=entry.moved_at,
                process_id=deal.process_id,
                skipped_stages=skipped,
            ),
            source=SOURCE,
        )
        await session.flush()
        return await view(session, deal)


async def win(db: Database, deal_id: uuid.UUID, amount: Money | None) -> DealView:
    async with db.transaction() as session:
        deal = await _locked(session, deal_id)
        domain.check_win(
            DealKind(deal.kind),
            DealStatus(deal.status),
            await _stages(session, deal),
            deal.stage_code or "",
            await facts_of(session, deal),
        )
        if amount is not None:
            if deal.currency and amount.currency != deal.currency:
                raise InvalidArgument.single("amount.currency", f"the deal is in {deal.currency}")
            deal.currency = amount.currency
        won = amount.amount if amount is not None else deal.expected_amount
        entry = _history(deal, to_stage=deal.stage_code or "", to_status=DealStatus.WON.value, comment="won")
        await DealRepository(session).add_history(entry)
        deal.status, deal.won_amount, deal.closed_at = DealStatus.WON.value, won, entry.moved_at
        deal.version += 1
        add_event(
            session,
            DealWon(
                deal_id=deal.id,
                partner_id=deal.partner_id,
                manager_id=deal.manager_id,
                amount=won,
                currency=deal.currency,
                won_at=entry.moved_at,
            ),
            source=SOURCE,
        )
        await session.flush()
        return await view(session, deal)


async def lose(db: Database, deal_id: uuid.UUID, reason_id: uuid.UUID, comment: str) -> DealView:
    async with db.transaction() as session:
        deal = await _locked(session, deal_id)
        domain.require_open(DealStatus(deal.status))
        reason: LostReasonRow | None = await LostReasonRepository(session).get(reason_id)
        if reason is None:
            raise InvalidArgument.single("lost_reason_id", "no such lost reason")
        if not reason.active:
            raise FailedPrecondition(f"lost reason {reason.name!r} is no longer in use", rule="lost_reason_active")
        entry = _history(deal, to_stage=deal.stage_code or "", to_status=DealStatus.LOST.value, comment=comment)
        await DealRepository(session).add_history(entry)
        deal.status, deal.lost_reason_id, deal.lost_comment = DealStatus.LOST.value, reason.id, comment
        deal.closed_at = entry.moved_at
        deal.version += 1
        add_event(
            session,
            DealLost(
                deal_id=deal.id,
                partner_id=deal.partner_id,
                manager_id=deal.manager_id,
                reason=reason.name,
                stage=deal.stage_code,
                lost_at=entry.moved_at,
                reason_id=reason.id,
            ),
            source=SOURCE,
        )
        await session.flush()
        return await view(session, deal)


async def reopen(db: Database, deal_id: uuid.UUID, comment: str) -> DealView:
    async with db.transaction() as session:
        deal = await _locked(session, deal_id)
        domain.check_reopen(DealStatus(deal.status))
        entry = _history(
            deal, to_stage=deal.stage_code or "", to_status=DealStatus.IN_PROGRESS.value, comment=comment or "reopened"
        )
        await DealRepository(session).add_history(entry)
        previous = deal.status
        deal.status, deal.closed_at, deal.won_amount = DealStatus.IN_PROGRESS.value, None, None
        deal.lost_reason_id, deal.lost_comment = None, ""
        deal.version += 1
        add_event(
            session,
            DealReopened(
                deal_id=deal.id,
                partner_id=deal.partner_id,
                manager_id=deal.manager_id,
                from_status=previous,
                stage=deal.stage_code,
                reopened_by=entry.moved_by,
                reopened_at=entry.moved_at,
            ),
            source=SOURCE,
        )
        await session.flush()
        return await view(session, deal)


@dataclass(frozen=True)
class DealChanges:
    title: str | None = None
    counterparty: str | None = None
    source: str | None = None
    expected: Money | None = None
    clear_expected: bool = False
    expected_close_date: date | None = None
    clear_close_date: bool = False
    manager_id: str | None = None


async def update(db: Database, deal_id: uuid.UUID, changes: DealChanges, expected_version: int) -> DealView:
    async with db.transaction() as session:
        deal = await _locked(session, deal_id)
        if expected_version and expected_version != deal.version:
            raise FailedPrecondition(
                f"the deal changed meanwhile (version {deal.version}, expected {expected_version})", rule="version"
            )
        if changes.title is not None:
            deal.title = changes.title
        if changes.counterparty is not None:
            deal.counterparty = changes.counterparty
        if changes.source is not None:
            deal.source = changes.source
        if changes.manager_id is not None:
            deal.manager_id = changes.manager_id
        if changes.expected is not None:
            deal.expected_amount, deal.currency = changes.expected.amount, changes.expected.currency
        elif changes.clear_expected:
            deal.expected_amount, deal.currency = None, None
        if changes.expected_close_date is not None or changes.clear_close_date:
            deal.expected_close_date = changes.expected_close_date
        deal.version += 1
        await session.flush()
        return await view(session, deal)


async def history(db: Database, deal_id: uuid.UUID) -> list[DealHistoryRow]:
    async with db.reading() as session:
        if await DealRepository(session).get(deal_id) is None:
            raise NotFound(f"deal {deal_id} not found")
        return await DealRepository(session).history(deal_id)


async def follow_order(
    session: AsyncSession, deal: DealRow, comment: str, *, stages: list[Stage] | None = None
) -> None:
    """An order placed moves its deal to the process's last stage (fulfilment), whatever
    the kind: the order itself is the proof the earlier stages asked for. stages: the
    deal's process stages when the caller has already read them."""
    if deal.status != DealStatus.IN_PROGRESS or not deal.process_id:
        return
    if stages is None:
        stages = await _stages(session, deal)
    last = stages[-1].code
    if deal.stage_code == last:
        return
    here = domain.position_of(stages, deal.stage_code or stages[0].code)
    entry = _history(deal, to_stage=last, to_status=deal.status, comment=comment)
    entry.skipped = [s.code for s in stages[here + 1 : -1]]
    await DealRepository(session).add_history(entry)
    from_stage = deal.stage_code or ""
    deal.stage_code, deal.reached_position = last, len(stages) - 1
    deal.version += 1
    add_event(
        session,
        DealStageChanged(
            deal_id=deal.id,
            partner_id=deal.partner_id,
            manager_id=deal.manager_id,
            from_stage=from_stage,
            to_stage=last,
            changed_by=entry.moved_by,
            changed_at=entry.moved_at,
            process_id=deal.process_id,
            skipped_stages=entry.skipped,
        ),
        source=SOURCE,
    )


async def win_by_orders(session: AsyncSession, deal: DealRow, amount: Money, comment: str) -> None:
    """Every order of the deal paid and shipped: the deal is won with their amount."""
    if deal.status != DealStatus.IN_PROGRESS:
        return
    entry = _history(deal, to_stage=deal.stage_code or "", to_status=DealStatus.WON.value, comment=comment)
    await DealRepository(session).add_history(entry)
    deal.status, deal.won_amount, deal.closed_at = DealStatus.WON.value, amount.amount, entry.moved_at
    deal.currency = deal.currency or amount.currency
    deal.version += 1
    add_event(
        session,
        DealWon(
            deal_id=deal.id,
            partner_id=deal.partner_id,
            manager_id=deal.manager_id,
            amount=amount.amount,
            currency=amount.currency,
            won_at=entry.moved_at,
        ),
        source=SOURCE,
    )
