"""The investigation plan: activities sent to interactions as task commands, moved by the
task events interactions answers with."""

from __future__ import annotations

import uuid
from datetime import datetime

from claims.access import visible
from claims.domain import OPEN_STATUSES, ActivityStatus, ClaimStatus, task_request_id
from claims.events import Subject, TaskRequested
from claims.models import ActivityRow, ClaimRow
from claims.registration import SOURCE
from claims.repository import ActivityRepository, ClaimRepository
from crm_platform.auth import Principal
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition
from crm_platform.outbox import add_event


async def add_activity(
    db: Database,
    principal: Principal,
    claim_id: uuid.UUID,
    *,
    request_id: str | None,
    name: str,
    description: str,
    performer_id: str,
    checker_id: str,
    due_at: datetime,
) -> ClaimRow:
    async with db.transaction() as session:
        claims = ClaimRepository(session)
        claim = visible(await claims.get(claim_id, for_update=True), principal, claim_id)
        activities = ActivityRepository(session)
        if request_id and await activities.by_request_id(claim_id, request_id) is not None:
            return claim
        if ClaimStatus(claim.status) not in OPEN_STATUSES:
            raise FailedPrecondition(
                f"the claim is {claim.status}; a closed claim's plan does not change", rule="plan_of_open_claim"
            )
        activity = await activities.add(
            ActivityRow(
                claim_id=claim.id,
                request_id=request_id,
                name=name,
                description=description,
                performer_id=performer_id,
                checker_id=checker_id,
                due_at=due_at,
                status=ActivityStatus.REQUESTED.value,
            )
        )
        add_event(
            session,
            TaskRequested(
                request_id=task_request_id(claim.id, activity.id),
                requested_by="claims",
                title=f"Претензія №{claim.number}: {name}",
                description=description,
                author_id=principal.subject,
                performer_id=performer_id,
                checker_id=checker_id,
                deadline=due_at,
                subject=Subject(service="claims", type="claim", id=str(claim.id)),
            ),
            source=SOURCE,
        )
        await claims.bump(claim)
        return claim
