"""A deal's environment (competitors, influencers, ...) and its plan of work (tasks)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, NotFound
from crm_platform.outbox import add_event
from deals.dealflow import DealView, view
from deals.domain import DealStatus, ParticipantRole, TaskStatus, require_open
from deals.events import TASK_REQUEST_PREFIX, Subject, TaskRequested
from deals.models import ParticipantRow, TaskRow
from deals.opening import SOURCE, actor
from deals.repository import DealRepository, KnownPartnerRepository, TaskRepository


async def add_participant(
    db: Database, deal_id: uuid.UUID, partner_id: uuid.UUID, role: ParticipantRole, note: str
) -> DealView:
    async with db.transaction() as session:
        deals = DealRepository(session)
        deal = await deals.lock(deal_id)
        if deal is None:
            raise NotFound(f"deal {deal_id} not found")
        partner = await KnownPartnerRepository(session).get(partner_id)
        if partner is None:
            raise FailedPrecondition(f"partner {partner_id} is not known to deals", rule="partner_known")
        if partner_id == deal.partner_id:
            raise FailedPrecondition("the deal's own partner is not part of its environment", rule="own_partner")
        await deals.add_participant(ParticipantRow(deal_id=deal_id, partner_id=partner_id, role=role.value, note=note))
        deal.version += 1
        await session.flush()
        return await view(session, deal)


async def remove_participant(
    db: Database, deal_id: uuid.UUID, partner_id: uuid.UUID, role: ParticipantRole
) -> DealView:
    async with db.transaction() as session:
        deals = DealRepository(session)
        deal = await deals.lock(deal_id)
        if deal is None:
            raise NotFound(f"deal {deal_id} not found")
        if not await deals.remove_participant(deal_id, partner_id, role.value):
            raise NotFound(f"partner {partner_id} is not a {role.value} of deal {deal_id}")
        deal.version += 1
        await session.flush()
        return await view(session, deal)


@dataclass(frozen=True)
class NewTask:
    deal_id: uuid.UUID
    title: str
    description: str
    performer_id: str
    checker_id: str
    deadline: datetime
    request_id: str | None


async def plan_task(db: Database, new: NewTask) -> TaskRow:
    try:
        return await _plan(db, new)
    except IntegrityError:
        if not new.request_id:
            raise
        async with db.reading() as session:
            earlier = await TaskRepository(session).by_request_id(new.request_id)
        if earlier is None:
            raise
        return earlier


async def _plan(db: Database, new: NewTask) -> TaskRow:
    async with db.transaction() as session:
        tasks = TaskRepository(session)
        if new.request_id and (earlier := await tasks.by_request_id(new.request_id)) is not None:
            return earlier
        deal = await DealRepository(session).get(new.deal_id)
        if deal is None:
            raise NotFound(f"deal {new.deal_id} not found")
        require_open(DealStatus(deal.status))
        task_id = uuid.uuid4()
        command_id = f"{TASK_REQUEST_PREFIX}{deal.id}:{task_id}"
        task = await tasks.add(
            TaskRow(
                id=task_id,
                deal_id=deal.id,
                request_id=new.request_id,
                command_request_id=command_id,
                title=new.title,
                description=new.description,
                performer_id=new.performer_id or deal.manager_id,
                checker_id=new.checker_id,
                deadline=new.deadline,
                status=TaskStatus.REQUESTED.value,
            )
        )
        add_event(
            session,
            TaskRequested(
                request_id=command_id,
                title=task.title,
                description=task.description,
                author_id=actor(),
                performer_id=task.performer_id,
                checker_id=task.checker_id,
                deadline=task.deadline,
                subject=Subject(service="deals", type="deal", id=str(deal.id)),
            ),
            source=SOURCE,
        )
        return task


async def list_tasks(db: Database, deal_id: uuid.UUID) -> list[TaskRow]:
    async with db.reading() as session:
        if await DealRepository(session).get(deal_id) is None:
            raise NotFound(f"deal {deal_id} not found")
        return await TaskRepository(session).of_deal(deal_id)
