"""Registering a claim, by staff or by the client itself."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from claims.domain import ClaimData, ClaimStatus
from claims.events import ClaimRegistered
from claims.models import ClaimRow, StatusChangeRow
from claims.repository import ClaimRepository, KnownPartnerRepository, ReasonRepository
from crm_platform.db import Database
from crm_platform.errors import Violations
from crm_platform.outbox import add_event

SOURCE = "crm/claims"


async def register_claim(
    db: Database, data: ClaimData, *, registered_by: str, user: str, request_id: str | None
) -> ClaimRow:
    try:
        return await _register(db, data, registered_by, user, request_id)
    except IntegrityError:
        if not request_id:
            raise
        async with db.reading() as session:
            earlier = await ClaimRepository(session).by_request_id(request_id)
        if earlier is None:
            raise
        return earlier


async def _register(db: Database, data: ClaimData, registered_by: str, user: str, request_id: str | None) -> ClaimRow:
    async with db.transaction() as session:
        claims = ClaimRepository(session)
        if request_id and (earlier := await claims.by_request_id(request_id)) is not None:
            return earlier
        await _check_reasons(ReasonRepository(session), data.reason_codes)
        partner = await KnownPartnerRepository(session).get(uuid.UUID(data.partner_id))
        manager_id = data.manager_id or (partner.manager_id if partner else "")
        claim = await claims.add(
            ClaimRow(
                partner_id=uuid.UUID(data.partner_id),
                claimant_kind=data.claimant_kind.value,
                contact_person=data.contact_person,
                culprit_department=data.culprit_department,
                culprit_employee_id=data.culprit_employee_id,
                essence=data.essence,
                reason_codes=list(data.reason_codes),
                desired_result=data.desired_result,
                deal_id=uuid.UUID(data.deal_id) if data.deal_id else None,
                order_id=uuid.UUID(data.order_id) if data.order_id else None,
                responsible_id=data.responsible_id,
                manager_id=manager_id,
                status=ClaimStatus.REGISTERED.value,
                registered_by=registered_by,
                registered_by_user=user,
                request_id=request_id,
            )
        )
        await claims.add_change(
            StatusChangeRow(
                claim_id=claim.id,
                from_status="",
                to_status=ClaimStatus.REGISTERED.value,
                changed_by=user,
                changed_at=claim.registered_at,
            )
        )
        add_event(
            session,
            ClaimRegistered(
                claim_id=claim.id,
                number=str(claim.number),
                partner_id=claim.partner_id,
                deal_id=claim.deal_id,
                order_id=claim.order_id,
                responsible_id=claim.responsible_id,
                manager_id=claim.manager_id,
                department=claim.culprit_department,
                culprit_employee_id=claim.culprit_employee_id,
                reasons=claim.reason_codes,
                registered_by=registered_by,
                registered_at=claim.registered_at,
            ),
            source=SOURCE,
        )
        return claim


async def _check_reasons(reasons: ReasonRepository, codes: tuple[str, ...]) -> None:
    known = await reasons.by_codes(codes)
    v = Violations()
    for i, code in enumerate(codes):
        reason = known.get(code)
        if reason is None:
            v.add(f"claim.reason_codes[{i}]", f"no reason {code!r} in the reasons list")
        elif reason.archived:
            v.add(f"claim.reason_codes[{i}]", f"the reason {code!r} is archived")
    v.raise_if_any()
