"""Opening a deal with a partner deals already knows of."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition
from crm_platform.money import Money
from crm_platform.outbox import add_event
from deals.domain import DealStatus
from deals.events import DealOpened
from deals.models import DealRow
from deals.repository import DealRepository, KnownPartnerRepository

SOURCE = "crm/deals"


async def open_deal(
    db: Database,
    *,
    partner_id: uuid.UUID,
    title: str,
    manager_id: str,
    expected: Money | None,
    request_id: str | None,
) -> DealRow:
    try:
        return await _open(db, partner_id, title, manager_id, expected, request_id)
    except IntegrityError:
        if not request_id:
            raise
        async with db.reading() as session:
            earlier = await DealRepository(session).by_request_id(request_id)
        if earlier is None:
            raise
        return earlier


async def _open(
    db: Database,
    partner_id: uuid.UUID,
    title: str,
    manager_id: str,
    expected: Money | None,
    request_id: str | None,
) -> DealRow:
    async with db.transaction() as session:
        deals = DealRepository(session)
        if request_id and (earlier := await deals.by_request_id(request_id)) is not None:
            return earlier
        partner = await KnownPartnerRepository(session).get(partner_id)
        if partner is None:
            raise FailedPrecondition(
                f"partner {partner_id} is not known to deals (not registered, or its event not yet received)",
                rule="partner_known",
            )
        deal = await deals.add(
            DealRow(
                title=title,
                partner_id=partner_id,
                manager_id=manager_id or partner.manager_id,
                status=DealStatus.IN_PROGRESS.value,
                expected_amount=expected.amount if expected else None,
                currency=expected.currency if expected else None,
                request_id=request_id,
            )
        )
        add_event(
            session,
            DealOpened(
                deal_id=deal.id,
                title=deal.title,
                partner_id=partner_id,
                manager_id=deal.manager_id,
                expected_amount=deal.expected_amount,
                currency=deal.currency,
                opened_at=deal.created_at,
            ),
            source=SOURCE,
        )
        return deal
