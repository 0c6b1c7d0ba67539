"""The status process: registered → under investigation → satisfied / partly satisfied /
rejected, and withdrawn; each change recorded with who and when."""

from __future__ import annotations

import uuid

from claims.access import is_client, visible
from claims.domain import CLOSED_STATUSES, MAX_ID, MAX_TEXT, ClaimStatus, check_transition
from claims.events import ClaimClosed, ClaimStatusChanged
from claims.models import ClaimRow, StatusChangeRow
from claims.registration import SOURCE
from claims.repository import ClaimRepository
from crm_platform.auth import Principal
from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from crm_platform.outbox import add_event


async def change_status(
    db: Database,
    principal: Principal,
    claim_id: uuid.UUID,
    target: ClaimStatus,
    *,
    result: str,
    comment: str,
    responsible_id: str,
    expected_version: int,
) -> ClaimRow:
    if len(comment) > MAX_TEXT:
        raise InvalidArgument.single("comment", f"longer than {MAX_TEXT} characters")
    if len(responsible_id) > MAX_ID:
        raise InvalidArgument.single("responsible_id", f"longer than {MAX_ID} characters")
    async with db.transaction() as session:
        claims = ClaimRepository(session)
        claim = visible(await claims.get(claim_id, for_update=True), principal, claim_id)
        if is_client(principal) and target != ClaimStatus.WITHDRAWN:
            raise PermissionDenied("a client may only withdraw its claim")
        if expected_version and claim.version != expected_version:
            raise FailedPrecondition(
                f"the claim changed meanwhile (version {claim.version}, expected {expected_version})", rule="version"
            )
        current = ClaimStatus(claim.status)
        clean_result = check_transition(current, target, result)
        now = utcnow()
        if target == ClaimStatus.UNDER_INVESTIGATION:
            if responsible_id.strip():
                claim.responsible_id = responsible_id.strip()
            elif not claim.responsible_id:
                raise InvalidArgument.single(
                    "responsible_id", "name who investigates: the claim has no responsible yet"
                )
        claim.status = target.value
        if target in CLOSED_STATUSES:
            claim.result = clean_result or comment.strip()
            claim.closed_at = now
        await claims.bump(claim)
        await claims.add_change(
            StatusChangeRow(
                claim_id=claim.id,
                from_status=current.value,
                to_status=target.value,
                changed_by=principal.subject,
                changed_at=now,
                comment=comment.strip(),
            )
        )
        add_event(
            session,
            ClaimStatusChanged(
                claim_id=claim.id,
                partner_id=claim.partner_id,
                from_status=current.value,
                to_status=target.value,
                changed_by=principal.subject,
                changed_at=now,
                responsible_id=claim.responsible_id,
            ),
            source=SOURCE,
        )
        if target in CLOSED_STATUSES:
            add_event(
                session,
                ClaimClosed(
                    claim_id=claim.id,
                    partner_id=claim.partner_id,
                    responsible_id=claim.responsible_id,
                    manager_id=claim.manager_id,
                    status=target.value,
                    result=claim.result,
                    reasons=claim.reason_codes,
                    closed_at=now,
                ),
                source=SOURCE,
            )
        return claim
