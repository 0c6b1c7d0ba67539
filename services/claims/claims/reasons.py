"""The editable list of claim reasons."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from claims.domain import check_reason
from claims.models import ReasonRow
from claims.repository import ReasonRepository
from crm_platform.db import Database
from crm_platform.errors import AlreadyExists, NotFound


async def create_reason(db: Database, code: str, name: str) -> ReasonRow:
    code, name = check_reason(code, name)
    try:
        async with db.transaction() as session:
            reasons = ReasonRepository(session)
            if await reasons.get(code) is not None:
                raise AlreadyExists(f"reason {code!r} already exists")
            return await reasons.add(ReasonRow(code=code, name=name))
    except IntegrityError:
        raise AlreadyExists(f"reason {code!r} already exists") from None


async def update_reason(db: Database, code: str, name: str, archived: bool) -> ReasonRow:
    code, name = check_reason(code, name)
    async with db.transaction() as session:
        reason = await ReasonRepository(session).get(code)
        if reason is None:
            raise NotFound(f"reason {code!r} not found")
        reason.name = name
        reason.archived = archived
        await session.flush()
        return reason
