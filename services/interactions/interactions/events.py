"""Events interactions publishes, and the events of other services it consumes.

Consumed events are declared here as interactions' own view of them (tolerant readers):
only the fields it uses, the rest ignored, so publishers can add fields freely.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.events import DomainEvent, Envelope
from crm_platform.messaging import EventConsumer
from interactions.domain import Subject
from interactions.repository import InteractionRepository, KnownSubjectRepository, MergeRepository

INTERACTION_TOPIC = "crm.interactions.interaction.v1"
TASK_TOPIC = "crm.interactions.task.v1"
TASK_REQUESTS_TOPIC = "crm.interactions.task-requests.v1"


class SubjectRef(BaseModel):
    service: str
    type: str
    id: str


# --- Published ------------------------------------------------------------------------


class InteractionRegistered(DomainEvent):
    TOPIC: ClassVar[str] = INTERACTION_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.interaction.registered"
    KEY_FIELD: ClassVar[str] = "interaction_id"

    interaction_id: uuid.UUID
    kind: str
    subject: SubjectRef | None
    partner_id: uuid.UUID | None
    responsible_id: str
    occurred_at: datetime
    chain_id: uuid.UUID
    title: str


class InteractionProcessed(DomainEvent):
    TOPIC: ClassVar[str] = INTERACTION_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.interaction.processed"
    KEY_FIELD: ClassVar[str] = "interaction_id"

    interaction_id: uuid.UUID
    subject: SubjectRef | None
    processed_at: datetime
    responsible_id: str


class CalendarEventChanged(DomainEvent):
    TOPIC: ClassVar[str] = INTERACTION_TOPIC
    KEY_FIELD: ClassVar[str] = "event_id"

    event_id: uuid.UUID
    owner_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    recurrence: str = ""


class EventPlanned(CalendarEventChanged):
    TYPE: ClassVar[str] = "crm.interactions.event.planned"


class EventCompleted(CalendarEventChanged):
    TYPE: ClassVar[str] = "crm.interactions.event.completed"


class EventCancelled(CalendarEventChanged):
    TYPE: ClassVar[str] = "crm.interactions.event.cancelled"


class AppointmentChanged(DomainEvent):
    TOPIC: ClassVar[str] = INTERACTION_TOPIC
    KEY_FIELD: ClassVar[str] = "appointment_id"

    appointment_id: uuid.UUID
    specialist_id: uuid.UUID
    partner_id: uuid.UUID | None
    starts_at: datetime
    ends_at: datetime


class AppointmentBooked(AppointmentChanged):
    TYPE: ClassVar[str] = "crm.interactions.appointment.booked"


class AppointmentCancelled(AppointmentChanged):
    TYPE: ClassVar[str] = "crm.interactions.appointment.cancelled"


class TaskAssigned(DomainEvent):
    TOPIC: ClassVar[str] = TASK_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.task.assigned"
    KEY_FIELD: ClassVar[str] = "task_id"

    task_id: uuid.UUID
    request_id: str | None
    title: str
    author_id: str
    performer_id: str
    checker_id: str
    deadline: datetime | None
    subject: SubjectRef | None


class TaskDone(DomainEvent):
    TOPIC: ClassVar[str] = TASK_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.task.done"
    KEY_FIELD: ClassVar[str] = "task_id"

    task_id: uuid.UUID
    request_id: str | None
    performer_id: str
    subject: SubjectRef | None
    done_at: datetime


class TaskChecked(DomainEvent):
    TOPIC: ClassVar[str] = TASK_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.task.checked"
    KEY_FIELD: ClassVar[str] = "task_id"

    task_id: uuid.UUID
    request_id: str | None
    checker_id: str
    accepted: bool
    comment: str
    subject: SubjectRef | None
    checked_at: datetime


class ReminderDue(DomainEvent):
    TOPIC: ClassVar[str] = TASK_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.reminder.due"
    KEY_FIELD: ClassVar[str] = "reminder_id"

    reminder_id: uuid.UUID
    user_id: str
    title: str
    text: str
    due_at: datetime
    subject: SubjectRef | None


PUBLISHED: list[type[DomainEvent]] = [
    InteractionRegistered,
    InteractionProcessed,
    EventPlanned,
    EventCompleted,
    EventCancelled,
    AppointmentBooked,
    AppointmentCancelled,
    TaskAssigned,
    TaskDone,
    TaskChecked,
    ReminderDue,
]


# --- Consumed (tolerant readers) --------------------------------------------------------


class PartnerState(DomainEvent):
    TOPIC: ClassVar[str] = "crm.partners.partner.v1"
    TYPE: ClassVar[str] = "crm.partners.partner.registered"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    name: str
    version: int = 0


class PartnerUpdated(PartnerState):
    TYPE: ClassVar[str] = "crm.partners.partner.updated"


class PartnerMerged(DomainEvent):
    TOPIC: ClassVar[str] = "crm.partners.partner.v1"
    TYPE: ClassVar[str] = "crm.partners.partner.merged"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    merged_ids: list[uuid.UUID]
    version: int = 0


class LeadCreated(DomainEvent):
    TOPIC: ClassVar[str] = "crm.partners.lead.v1"
    TYPE: ClassVar[str] = "crm.partners.lead.created"
    KEY_FIELD: ClassVar[str] = "lead_id"

    lead_id: uuid.UUID
    name: str = ""
    company: str = ""
    phone: str = ""
    email: str = ""


class LeadConverted(DomainEvent):
    TOPIC: ClassVar[str] = "crm.partners.lead.v1"
    TYPE: ClassVar[str] = "crm.partners.lead.converted"
    KEY_FIELD: ClassVar[str] = "lead_id"

    lead_id: uuid.UUID
    partner_id: uuid.UUID


class DealOpened(DomainEvent):
    TOPIC: ClassVar[str] = "crm.deals.deal.v1"
    TYPE: ClassVar[str] = "crm.deals.deal.opened"
    KEY_FIELD: ClassVar[str] = "deal_id"

    deal_id: uuid.UUID
    title: str
    partner_id: uuid.UUID | None = None


class OrderPlaced(DomainEvent):
    TOPIC: ClassVar[str] = "crm.deals.order.v1"
    TYPE: ClassVar[str] = "crm.deals.order.placed"
    KEY_FIELD: ClassVar[str] = "order_id"

    order_id: uuid.UUID
    deal_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None
    placed_at: datetime | None = None


class ClaimRegistered(DomainEvent):
    TOPIC: ClassVar[str] = "crm.claims.claim.v1"
    TYPE: ClassVar[str] = "crm.claims.claim.registered"
    KEY_FIELD: ClassVar[str] = "claim_id"

    claim_id: uuid.UUID
    number: str | int = ""
    partner_id: uuid.UUID | None = None


class TaskRequested(DomainEvent):
    """A command from another service (claims' investigation plan, deals' work plan)."""

    TOPIC: ClassVar[str] = TASK_REQUESTS_TOPIC
    TYPE: ClassVar[str] = "crm.interactions.task.requested"
    KEY_FIELD: ClassVar[str] = "request_id"

    request_id: str
    requested_by: str = ""
    title: str
    description: str = ""
    author_id: str = ""
    performer_id: str
    checker_id: str = ""
    deadline: datetime | None = None
    subject: SubjectRef | None = None


consumer = EventConsumer("interactions")


@consumer.on(PartnerState)
async def partner_registered(session: AsyncSession, event: PartnerState, envelope: Envelope) -> None:
    await KnownSubjectRepository(session).upsert(
        "partners", "partner", event.partner_id, title=event.name, partner_id=event.partner_id, version=event.version
    )


@consumer.on(PartnerUpdated)
async def partner_updated(session: AsyncSession, event: PartnerUpdated, envelope: Envelope) -> None:
    await partner_registered(session, event, envelope)


class PersonMerged(DomainEvent):
    TOPIC: ClassVar[str] = "crm.partners.person.v1"
    TYPE: ClassVar[str] = "crm.partners.person.merged"
    KEY_FIELD: ClassVar[str] = "person_id"

    person_id: uuid.UUID
    merged_ids: list[uuid.UUID]


@consumer.on(PartnerMerged)
async def partner_merged(session: AsyncSession, event: PartnerMerged, envelope: Envelope) -> None:
    """References to the merged partners (subjects, participants, tasks, notes) now name the survivor."""
    merged = [m for m in event.merged_ids if m != event.partner_id]
    if merged:
        await MergeRepository(session).repoint_partners(merged, event.partner_id, event.version)


@consumer.on(PersonMerged)
async def person_merged(session: AsyncSession, event: PersonMerged, envelope: Envelope) -> None:
    """Participants resolved to the merged contact persons now name the survivor."""
    merged = [m for m in event.merged_ids if m != event.person_id]
    if merged:
        await MergeRepository(session).repoint_persons(merged, event.person_id)


@consumer.on(LeadCreated)
async def lead_created(session: AsyncSession, event: LeadCreated, envelope: Envelope) -> None:
    title = " — ".join(p for p in (event.name, event.company) if p) or event.phone or event.email
    await KnownSubjectRepository(session).upsert("partners", "lead", event.lead_id, title=f"Лід: {title}")


@consumer.on(LeadConverted)
async def lead_converted(session: AsyncSession, event: LeadConverted, envelope: Envelope) -> None:
    await KnownSubjectRepository(session).set_partner("partners", "lead", event.lead_id, event.partner_id)
    await InteractionRepository(session).attach_partner(Subject("partners", "lead", event.lead_id), event.partner_id)


@consumer.on(DealOpened)
async def deal_opened(session: AsyncSession, event: DealOpened, envelope: Envelope) -> None:
    await KnownSubjectRepository(session).upsert(
        "deals", "deal", event.deal_id, title=event.title, partner_id=event.partner_id
    )


@consumer.on(OrderPlaced)
async def order_placed(session: AsyncSession, event: OrderPlaced, envelope: Envelope) -> None:
    on = f" від {event.placed_at:%d.%m.%Y}" if event.placed_at else ""
    await KnownSubjectRepository(session).upsert(
        "deals",
        "order",
        event.order_id,
        title=f"Замовлення {str(event.order_id)[-8:]}{on}",
        partner_id=event.partner_id,
    )


@consumer.on(ClaimRegistered)
async def claim_registered(session: AsyncSession, event: ClaimRegistered, envelope: Envelope) -> None:
    title = f"Претензія № {event.number}" if event.number else f"Претензія {str(event.claim_id)[-8:]}"
    await KnownSubjectRepository(session).upsert(
        "claims", "claim", event.claim_id, title=title, partner_id=event.partner_id
    )


@consumer.on(TaskRequested)
async def task_requested(session: AsyncSession, event: TaskRequested, envelope: Envelope) -> None:
    from interactions.tasks import create_requested_task

    await create_requested_task(session, event)
