"""Events claims publishes (its own and the task commands it sends to interactions), and
interactions' events it consumes, declared as claims reads them (a tolerant reader)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from claims.domain import ActivityStatus, parse_task_request_id
from claims.models import InteractionRow
from claims.plan_tracking import apply_task_report
from claims.repository import InteractionRepository, KnownPartnerRepository
from crm_platform.events import DomainEvent, Envelope
from crm_platform.messaging import EventConsumer

CLAIM_TOPIC = "crm.claims.claim.v1"
TASK_REQUESTS_TOPIC = "crm.interactions.task-requests.v1"
TASK_TOPIC = "crm.interactions.task.v1"
INTERACTION_TOPIC = "crm.interactions.interaction.v1"


class Subject(BaseModel):
    service: str
    type: str
    id: str


class ClaimRegistered(DomainEvent):
    """A claim was registered, by staff or by the client itself."""

    TOPIC: ClassVar[str] = CLAIM_TOPIC
    TYPE: ClassVar[str] = "crm.claims.claim.registered"
    KEY_FIELD: ClassVar[str] = "claim_id"

    claim_id: uuid.UUID
    number: str
    partner_id: uuid.UUID
    deal_id: uuid.UUID | None
    order_id: uuid.UUID | None
    responsible_id: str
    manager_id: str
    department: str
    culprit_employee_id: str
    reasons: list[str]
    registered_by: str
    registered_at: datetime


class ClaimStatusChanged(DomainEvent):
    """A claim moved along its status process."""

    TOPIC: ClassVar[str] = CLAIM_TOPIC
    TYPE: ClassVar[str] = "crm.claims.claim.status_changed"
    KEY_FIELD: ClassVar[str] = "claim_id"

    claim_id: uuid.UUID
    partner_id: uuid.UUID
    from_status: str
    to_status: str
    changed_by: str
    changed_at: datetime
    responsible_id: str


class ClaimClosed(DomainEvent):
    """A claim was closed with its result: satisfied, partly satisfied, rejected or withdrawn."""

    TOPIC: ClassVar[str] = CLAIM_TOPIC
    TYPE: ClassVar[str] = "crm.claims.claim.closed"
    KEY_FIELD: ClassVar[str] = "claim_id"

    claim_id: uuid.UUID
    partner_id: uuid.UUID
    responsible_id: str
    manager_id: str
    status: str
    result: str
    reasons: list[str]
    closed_at: datetime


class TaskRequested(DomainEvent):
    """A command to interactions: create the task for an investigation plan activity (once per request_id)."""

    TOPIC: ClassVar[str] = TASK_REQUESTS_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.task.requested"
    KEY_FIELD: ClassVar[str] = "request_id"

    request_id: str
    requested_by: str
    title: str
    description: str
    author_id: str
    performer_id: str
    checker_id: str
    deadline: datetime
    subject: Subject


PUBLISHED: list[type[DomainEvent]] = [ClaimRegistered, ClaimStatusChanged, ClaimClosed, TaskRequested]


class TaskAssigned(DomainEvent):
    TOPIC: ClassVar[str] = TASK_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.task.assigned"
    KEY_FIELD: ClassVar[str] = "task_id"

    task_id: str
    request_id: str | None = None
    performer_id: str = ""


class TaskDone(DomainEvent):
    TOPIC: ClassVar[str] = TASK_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.task.done"
    KEY_FIELD: ClassVar[str] = "task_id"

    task_id: str
    request_id: str | None = None
    done_at: datetime


class TaskChecked(DomainEvent):
    TOPIC: ClassVar[str] = TASK_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.task.checked"
    KEY_FIELD: ClassVar[str] = "task_id"

    task_id: str
    request_id: str | None = None
    accepted: bool
    comment: str = ""
    checked_at: datetime


class InteractionRegistered(DomainEvent):
    TOPIC: ClassVar[str] = INTERACTION_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.interaction.registered"
    KEY_FIELD: ClassVar[str] = "interaction_id"

    interaction_id: uuid.UUID
    kind: str
    subject: Subject | None = None
    partner_id: str | None = None
    responsible_id: str = ""
    occurred_at: datetime


class PartnerRegistered(DomainEvent):
    TOPIC: ClassVar[str] = "crm.partners.partner.v1"
    TYPE: ClassVar[str] = "crm.partners.partner.registered"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    name: str
    manager_id: str = ""
    version: int = 0


class PartnerUpdated(PartnerRegistered):
    TYPE: ClassVar[str] = "crm.partners.partner.updated"


class PartnerMerged(DomainEvent):
    TOPIC: ClassVar[str] = "crm.partners.partner.v1"
    TYPE: ClassVar[str] = "crm.partners.partner.merged"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    merged_ids: list[uuid.UUID]
    version: int = 0


class InteractionProcessed(DomainEvent):
    TOPIC: ClassVar[str] = INTERACTION_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.interaction.processed"
    KEY_FIELD: ClassVar[str] = "interaction_id"

    interaction_id: uuid.UUID
    processed_at: datetime


consumer = EventConsumer("claims")


@consumer.on(TaskAssigned)
async def task_assigned(session: AsyncSession, event: TaskAssigned, envelope: Envelope) -> None:
    if (ids := parse_task_request_id(event.request_id)) is not None:
        await apply_task_report(session, *ids, ActivityStatus.ASSIGNED, task_id=event.task_id)


@consumer.on(TaskDone)
async def task_done(session: AsyncSession, event: TaskDone, envelope: Envelope) -> None:
    if (ids := parse_task_request_id(event.request_id)) is not None:
        await apply_task_report(session, *ids, ActivityStatus.DONE, task_id=event.task_id, at=event.done_at)


@consumer.on(TaskChecked)
async def task_checked(session: AsyncSession, event: TaskChecked, envelope: Envelope) -> None:
    if (ids := parse_task_request_id(event.request_id)) is not None:
        reported = ActivityStatus.CHECKED if event.accepted else ActivityStatus.RETURNED
        await apply_task_report(
            session, *ids, reported, task_id=event.task_id, at=event.checked_at, comment=event.comment
        )


@consumer.on(InteractionRegistered)
async def interaction_registered(session: AsyncSession, event: InteractionRegistered, envelope: Envelope) -> None:
    subject = event.subject
    if subject is None or subject.service != "claims" or subject.type != "claim":
        return
    try:
        claim_id = uuid.UUID(subject.id)
    except ValueError:
        return
    await InteractionRepository(session).remember(
        InteractionRow(
            interaction_id=event.interaction_id,
            claim_id=claim_id,
            kind=event.kind,
            partner_id=event.partner_id or "",
            responsible_id=event.responsible_id,
            occurred_at=event.occurred_at,
        )
    )


@consumer.on(InteractionProcessed)
async def interaction_processed(session: AsyncSession, event: InteractionProcessed, envelope: Envelope) -> None:
    await InteractionRepository(session).processed(event.interaction_id, event.processed_at)


@consumer.on(PartnerRegistered)
async def partner_registered(session: AsyncSession, event: PartnerRegistered, envelope: Envelope) -> None:
    await KnownPartnerRepository(session).upsert(
        event.partner_id, name=event.name, manager_id=event.manager_id, version=event.version
    )


@consumer.on(PartnerUpdated)
async def partner_updated(session: AsyncSession, event: PartnerUpdated, envelope: Envelope) -> None:
    await partner_registered(session, event, envelope)


@consumer.on(PartnerMerged)
async def partner_merged(session: AsyncSession, event: PartnerMerged, envelope: Envelope) -> None:
    merged = [m for m in event.merged_ids if m != event.partner_id]
    if merged:
        await KnownPartnerRepository(session).merge(merged, event.partner_id)
