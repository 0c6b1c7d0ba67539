"""Task events from interactions moving the investigation plan's activities."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from claims.domain import ActivityStatus, next_activity_status
from claims.repository import ActivityRepository, ClaimRepository


async def apply_task_report(
    session: AsyncSession,
    claim_id: str,
    activity_id: str,
    reported: ActivityStatus,
    *,
    task_id: str,
    at: datetime | None = None,
    comment: str = "",
) -> bool:
    """Moves the activity a task event reports on; False when the event changes nothing."""
    try:
        activity_uuid = uuid.UUID(activity_id)
        claim_uuid = uuid.UUID(claim_id)
    except ValueError:
        return False
    claims = ClaimRepository(session)
    claim = await claims.get(claim_uuid, for_update=True)  # the claim first, as add_activity locks it
    activity = await ActivityRepository(session).get_for_update(activity_uuid)
    if claim is None or activity is None or activity.claim_id != claim_uuid:
        return False
    if not activity.task_id:
        activity.task_id = task_id
    new_status = next_activity_status(ActivityStatus(activity.status), reported)
    if new_status is None:
        await session.flush()
        return False
    activity.status = new_status.value
    if new_status == ActivityStatus.DONE:
        activity.done_at = at
    elif new_status in (ActivityStatus.CHECKED, ActivityStatus.RETURNED):
        activity.checked_at = at
        activity.check_comment = comment
    await claims.bump(claim)
    return True
