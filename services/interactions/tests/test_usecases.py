"""Use cases and event handlers against the real PostgreSQL (no broker)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import AlreadyExists, FailedPrecondition
from crm_platform.events import Envelope
from crm_platform.tables import OutboxMessage
from interactions import booking, chains, reminders, tasks
from interactions.domain import Kind, Status, Subject
from interactions.events import (
    DealOpened,
    LeadConverted,
    PartnerMerged,
    PartnerState,
    PersonMerged,
    SubjectRef,
    TaskRequested,
    deal_opened,
    lead_converted,
    partner_merged,
    partner_registered,
    person_merged,
    task_requested,
)
from interactions.intake import ingest_email, parse_call, record_call
from interactions.models import InteractionRow, ReminderRow, TaskRow

if TYPE_CHECKING:
    from conftest import FakeDirectory

ENVELOPE = Envelope(id="x", type="t", source="s", subject="k", time=datetime.now(UTC), data=b"")
KYIV = ZoneInfo("Europe/Kyiv")


async def know_partner(db: Database, name: str = "ТОВ «Зоря Агро»", version: int = 1) -> uuid.UUID:
    partner_id = uuid.uuid4()
    async with db.transaction() as session:
        await partner_registered(session, PartnerState(partner_id=partner_id, name=name, version=version), ENVELOPE)
    return partner_id


async def know_deal(db: Database, partner_id: uuid.UUID, title: str = "Поставка насіння соняшнику") -> uuid.UUID:
    deal_id = uuid.uuid4()
    async with db.transaction() as session:
        await deal_opened(session, DealOpened(deal_id=deal_id, title=title, partner_id=partner_id), ENVELOPE)
    return deal_id


def draft(subject: Subject | None, **kw: object) -> chains.Draft:
    base: dict[str, object] = {"kind": Kind.OUTGOING_CALL, "title": "Дзвінок щодо оплати", "responsible_id": "olena"}
    base.update(kw)
    return chains.Draft(subject=subject, **base)  # type: ignore[arg-type]


async def outbox_types(db: Database, key: str) -> list[str]:
    async with db.reading() as session:
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        rows = await session.execute(select(table.c.event_type).where(table.c.key == key).order_by(table.c.seq))
        return list(rows.scalars())


async def test_interactions_on_a_deal_form_one_chain_with_its_title(db: Database) -> None:
    partner = await know_partner(db)
    deal = await know_deal(db, partner)
    subject = Subject("deals", "deal", deal)
    later = await chains.register(db, None, draft(subject, occurred_at=utcnow()))
    earlier = await chains.register(
        db, None, draft(subject, kind=Kind.MEETING, occurred_at=utcnow() - timedelta(days=1))
    )
    rows, title, found = await chains.chain(db, subject.chain_id)
    assert [r.id for r in rows] == [earlier.id, later.id]
    assert title == "Поставка насіння соняшнику"
    assert found == subject
    assert later.partner_id == partner  # taken from the deal
    assert await outbox_types(db, str(later.id)) == ["crm.interactions.interaction.registered"]


async def test_unknown_subject_is_refused(db: Database) -> None:
    with pytest.raises(FailedPrecondition, match="unknown subject"):
        await chains.register(db, None, draft(Subject("claims", "claim", uuid.uuid4())))


async def test_register_is_idempotent_by_request_id(db: Database) -> None:
    rid = f"req-{uuid.uuid4()}"
    first, second = await asyncio.gather(
        chains.register(db, None, draft(None, request_id=rid)), chains.register(db, None, draft(None, request_id=rid))
    )
    assert first.id == second.id


async def test_processing_publishes_once_and_leaves_the_unprocessed_list(db: Database) -> None:
    row = await chains.register(db, None, draft(None, responsible_id=f"u-{uuid.uuid4().hex[:6]}"))
    async with db.reading() as session:
        from interactions.repository import InteractionRepository

        assert [
            r.id for r in await InteractionRepository(session).unprocessed(row.responsible_id, None, 10, utcnow())
        ] == [row.id]
    await chains.update_status(db, row.id, chains.StatusChange(status=Status.PROCESSED))
    await chains.update_status(db, row.id, chains.StatusChange(status=Status.PROCESSED))
    async with db.reading() as session:
        assert list(await InteractionRepository(session).unprocessed(row.responsible_id, None, 10, utcnow())) == []
    assert (await outbox_types(db, str(row.id))).count("crm.interactions.interaction.processed") == 1


async def test_partner_merge_repoints_subjects_and_participant_resolutions(
    db: Database, directory: FakeDirectory
) -> None:
    survivor, merged = await know_partner(db, "ТОВ «Світанок»"), await know_partner(db, "ТзОВ Світанок")
    from interactions.directory import Match

    directory.contacts["+380442351780"] = Match(merged, None)
    row = await chains.register(
        db,
        directory,
        draft(Subject("partners", "partner", merged), participants=[{"name": "Іван", "phone": "+380442351780"}]),
    )
    assert row.participants[0]["partner_id"] == str(merged)
    async with db.transaction() as session:
        await partner_merged(session, PartnerMerged(partner_id=survivor, merged_ids=[merged], version=5), ENVELOPE)
    async with db.reading() as session:
        moved = await session.get(InteractionRow, row.id)
    assert moved is not None
    assert moved.subject_id == survivor
    assert moved.partner_id == survivor
    assert moved.participants[0]["partner_id"] == str(survivor)
    assert moved.chain_id == Subject("partners", "partner", survivor).chain_id
    with pytest.raises(FailedPrecondition, match="merged"):
        await chains.register(db, None, draft(Subject("partners", "partner", merged)))


async def test_contact_person_merge_repoints_the_participants_resolved_to_them(
    db: Database, directory: FakeDirectory
) -> None:
    from interactions.directory import Match

    partner = await know_partner(db, "ТОВ «Кварц»")
    survivor, merged, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    directory.contacts["+380442351781"] = Match(partner, merged)
    directory.contacts["+380442351782"] = Match(partner, other)
    row = await chains.register(
        db,
        directory,
        draft(
            Subject("partners", "partner", partner),
            participants=[
                {"name": "Петренко Ірина", "phone": "+380442351781"},
                {"name": "Іван Сидоренко", "phone": "+380442351782"},
            ],
        ),
    )
    assert [p["person_id"] for p in row.participants] == [str(merged), str(other)]
    async with db.transaction() as session:
        await person_merged(session, PersonMerged(person_id=survivor, merged_ids=[merged]), ENVELOPE)
    async with db.reading() as session:
        moved = await session.get(InteractionRow, row.id)
    assert moved is not None
    assert [p["person_id"] for p in moved.participants] == [str(survivor), str(other)]
    assert moved.participants[0]["partner_id"] == str(partner)


async def test_an_older_partner_event_does_not_overwrite_a_newer_copy(db: Database) -> None:
    partner = await know_partner(db, "Нова назва", version=3)
    async with db.transaction() as session:
        await partner_registered(session, PartnerState(partner_id=partner, name="Стара назва", version=2), ENVELOPE)
    row = await chains.register(db, None, draft(Subject("partners", "partner", partner)))
    _, title, _ = await chains.chain(db, row.chain_id)
    assert title == "Нова назва"


async def test_fifty_racing_bookings_of_one_slot_one_wins(db: Database) -> None:
    hours = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(1, 8)]
    specialist = await booking.create_specialist(db, "Коваленко Ірина", "Europe/Kyiv", hours)
    offering = await booking.create_offering(db, "Консультація агронома", 30)
    start = (utcnow() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    if start.astimezone(KYIV).hour >= 23:
        start -= timedelta(hours=2)

    async def attempt(i: int) -> str:
        try:
            await booking.book(
                db,
                booking.Booking(
                    specialist_id=specialist.id,
                    offering_id=offering.id,
                    starts_at=start + timedelta(minutes=i % 3 * 10),  # overlapping, not only identical
                    client_partner_id=None,
                    client_name=f"Клієнт {i}",
                    client_phone="",
                    request_id=None,
                ),
            )
            return "booked"
        except AlreadyExists:
            return "taken"

    outcomes = await asyncio.gather(*(attempt(i) for i in range(50)))
    assert outcomes.count("booked") == 1
    assert outcomes.count("taken") == 49


async def test_reminders_fire_once_even_when_claimed_concurrently(db: Database) -> None:
    user = f"u-{uuid.uuid4().hex[:6]}"
    for i in range(30):
        await reminders.create_note(
            db,
            author_id=user,
            title=f"Передзвонити {i}",
            text="Уточнити обсяг",
            subject=None,
            remind_at=utcnow() - timedelta(seconds=1),
            request_id=None,
        )
    await asyncio.gather(*(reminders.fire_due(db, batch=7) for _ in range(10)))
    while await reminders.fire_due(db):
        pass
    async with db.reading() as session:
        table = ReminderRow.__table__  # type: ignore[attr-defined]
        fired = await session.scalar(select(func.count()).where(table.c.user_id == user, table.c.fired_at.is_not(None)))
        events = await session.scalar(
            select(func.count()).where(OutboxMessage.__table__.c.event_type == "crm.interactions.reminder.due")  # type: ignore[attr-defined]
        )
    assert fired == 30
    assert (events or 0) >= 30


async def test_task_request_creates_one_task_however_often_it_arrives(db: Database) -> None:
    rid = f"claims:{uuid.uuid4()}:inspection"
    command = TaskRequested(
        request_id=rid,
        requested_by="claims",
        title="Огляд партії на складі",
        performer_id="andriy",
        checker_id="olena",
        deadline=utcnow() + timedelta(days=2),
        subject=SubjectRef(service="claims", type="claim", id=str(uuid.uuid4())),
    )
    for _ in range(3):
        async with db.transaction() as session:
            await task_requested(session, command, ENVELOPE)
    async with db.reading() as session:
        found = (await session.execute(select(TaskRow).where(TaskRow.request_id == rid))).scalars().all()  # type: ignore[arg-type]
    assert len(found) == 1
    task = found[0]
    with pytest.raises(FailedPrecondition, match="do not hold"):
        await tasks.forward(db, task.id, "someone-else", "petro", "")
    await tasks.accept(db, task.id, "andriy")
    await tasks.complete(db, task.id, "andriy", "Оглянуто, акт складено")
    returned = await tasks.check(db, task.id, "olena", False, "Додайте фото")
    assert returned.state == "returned"
    await tasks.complete(db, task.id, "andriy", "Фото додано")
    checked = await tasks.check(db, task.id, "olena", True, "")
    assert checked.state == "checked"
    assert await outbox_types(db, str(task.id)) == [
        "crm.interactions.task.assigned",
        "crm.interactions.task.done",
        "crm.interactions.task.checked",
        "crm.interactions.task.done",
        "crm.interactions.task.checked",
    ]


def mail(message_id: str, sender: str, subject: str, reply_to: str = "", refs: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "sales@crm.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if reply_to:
        msg["In-Reply-To"] = reply_to
    if refs:
        msg["References"] = refs
    msg.set_content("Доброго дня! Надішліть, будь ласка, рахунок.")
    return bytes(msg)


async def test_email_reply_lands_in_the_chain_of_the_message_it_answers(db: Database, directory: FakeDirectory) -> None:
    tag = uuid.uuid4().hex[:6]
    first = await ingest_email(db, directory, mail(f"<a{tag}@x.ua>", "Марія <maria@x.ua>", "Рахунок"), "olena")
    again = await ingest_email(db, directory, mail(f"<a{tag}@x.ua>", "Марія <maria@x.ua>", "Рахунок"), "olena")
    reply = await ingest_email(
        db, directory, mail(f"<b{tag}@x.ua>", "Марія <maria@x.ua>", "Re: Рахунок", refs=f"<a{tag}@x.ua>"), "olena"
    )
    other = await ingest_email(db, directory, mail(f"<c{tag}@x.ua>", "maria@x.ua", "Інше питання"), "olena")
    assert again.id == first.id
    assert reply.chain_id == first.chain_id
    assert reply.subject_id == first.subject_id
    assert first.subject_type == "lead"
    assert other.subject_id == first.subject_id  # the same unknown sender: the same lead
    assert len(directory.leads) == 1


async def test_a_converted_leads_interactions_belong_to_its_partner(db: Database, directory: FakeDirectory) -> None:
    call = parse_call({"call_id": f"call-{uuid.uuid4()}", "phone": "+380931112233"})
    row = await record_call(db, directory, call)
    assert row.partner_id is None
    partner = uuid.uuid4()
    async with db.transaction() as session:
        await lead_converted(session, LeadConverted(lead_id=row.subject_id, partner_id=partner), ENVELOPE)
    async with db.reading() as session:
        converted = await session.get(InteractionRow, row.id)
    assert converted is not None
    assert converted.partner_id == partner


async def test_webhook_call_is_idempotent_and_unknown_number_makes_one_lead(
    db: Database, directory: FakeDirectory
) -> None:
    call_id = f"call-{uuid.uuid4()}"
    call = parse_call({"call_id": call_id, "direction": "in", "phone": "067 123 45 67", "duration_seconds": 95})
    rows = [await record_call(db, directory, call) for _ in range(3)]
    second_call = parse_call({"call_id": f"{call_id}-2", "phone": "+380671234567"})
    other = await record_call(db, directory, second_call)
    assert len({r.id for r in rows}) == 1
    assert rows[0].kind == "incoming_call"
    assert rows[0].subject_type == "lead"
    assert other.subject_id == rows[0].subject_id
    assert list(directory.leads) == ["interactions:phone:+380671234567"]


async def test_day_view_shows_a_series_and_an_event_that_began_the_day_before(db: Database) -> None:
    from datetime import date

    from interactions import calendar

    owner = f"u-{uuid.uuid4().hex[:6]}"

    def event(title: str, start: datetime, hours: int, rule: str = "") -> calendar.EventDraft:
        return calendar.EventDraft(
            owner_id=owner,
            title=title,
            description="",
            location="",
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            time_zone="Europe/Kyiv",
            recurrence=rule,
            subject=None,
            request_id=None,
        )

    await calendar.plan(db, event("Виставка «Агро-2026»", datetime(2026, 6, 9, 20, tzinfo=KYIV), 40))
    await calendar.plan(db, event("Щоденний дзвінок", datetime(2026, 1, 5, 9, tzinfo=KYIV), 1, "FREQ=DAILY"))
    await calendar.plan(db, event("Минула зустріч", datetime(2026, 6, 1, 9, tzinfo=KYIV), 1))
    _, _, shown = await calendar.view(db, owner, "day", date(2026, 6, 10), KYIV, include_cancelled=False)
    assert [(s.row.title, s.starts_at.astimezone(KYIV).hour) for s in shown] == [
        ("Виставка «Агро-2026»", 20),
        ("Щоденний дзвінок", 9),
    ]
