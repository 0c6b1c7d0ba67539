"""Opening a deal with a partner deals already knows of."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError

from crm_platform.auth import current_principal
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, NotFound, Unauthenticated
from crm_platform.money import Money
from crm_platform.outbox import add_event
from deals.domain import DealKind, DealStatus
from deals.events import DealOpened
from deals.models import DealHistoryRow, DealRow
from deals.repository import DealRepository, KnownPartnerRepository, ProcessRepository

SOURCE = "crm/deals"


def actor() -> str:
    """Who is acting: the caller's subject, or "system" for work no caller started."""
    try:
        return current_principal().subject
    except Unauthenticated:
        return "system"


@dataclass(frozen=True)
class NewDeal:
    partner_id: uuid.UUID
    title: str
    manager_id: str
    expected: Money | None
    request_id: str | None
    kind: DealKind = DealKind.CONTROLLED
    process_id: uuid.UUID | None = None
    counterparty: str = ""
    source: str = ""
    expected_close_date: date | None = None


async def open_deal(db: Database, new: NewDeal) -> DealRow:
    try:
        return await _open(db, new)
    except IntegrityError:
        if not new.request_id:
            raise
        async with db.reading() as session:
            earlier = await DealRepository(session).by_request_id(new.request_id)
        if earlier is None:
            raise
        return earlier


async def _open(db: Database, new: NewDeal) -> DealRow:
    async with db.transaction() as session:
        deals = DealRepository(session)
        if new.request_id and (earlier := await deals.by_request_id(new.request_id)) is not None:
            return earlier
        partner = await KnownPartnerRepository(session).get(new.partner_id)
        if partner is None:
            raise FailedPrecondition(
                f"partner {new.partner_id} is not known to deals (not registered, or its event not yet received)",
                rule="partner_known",
            )
        if partner.merged_into is not None:
            raise FailedPrecondition(
                f"partner {new.partner_id} was merged into {partner.merged_into}", rule="partner_merged"
            )
        process_id, stage = None, None
        if new.kind != DealKind.NON_PROCESS:
            processes = ProcessRepository(session)
            process = await (processes.get(new.process_id) if new.process_id else processes.default())
            if process is None:
                raise NotFound(f"sales process {new.process_id} not found")
            stages = await processes.stages(process.id)
            process_id, stage = process.id, stages[0].code
        deal = await deals.add(
            DealRow(
                title=new.title,
                partner_id=new.partner_id,
                manager_id=new.manager_id or partner.manager_id,
                status=DealStatus.IN_PROGRESS.value,
                expected_amount=new.expected.amount if new.expected else None,
                currency=new.expected.currency if new.expected else None,
                request_id=new.request_id,
                kind=new.kind.value,
                process_id=process_id,
                stage_code=stage,
                counterparty=new.counterparty,
                source=new.source,
                expected_close_date=new.expected_close_date,
            )
        )
        await deals.add_history(
            DealHistoryRow(
                deal_id=deal.id,
                to_stage=stage or "",
                to_status=DealStatus.IN_PROGRESS.value,
                moved_by=actor(),
                moved_at=deal.created_at,
                comment="opened",
            )
        )
        add_event(
            session,
            DealOpened(
                deal_id=deal.id,
                title=deal.title,
                partner_id=new.partner_id,
                manager_id=deal.manager_id,
                expected_amount=deal.expected_amount,
                currency=deal.currency,
                opened_at=deal.created_at,
                kind=deal.kind,
                process_id=process_id,
                stage=stage,
            ),
            source=SOURCE,
        )
        return deal
