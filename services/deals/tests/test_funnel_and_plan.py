"""The funnel's figures, a deal's environment and work plan, against PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_platform.auth import Principal, reset_principal, set_principal
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition
from crm_platform.money import Money
from crm_platform.tables import OutboxMessage
from deals import dealflow, processes
from deals.domain import DealKind, ParticipantRole, Stage
from deals.events import InboundTaskAssigned, InboundTaskChecked, task_assigned, task_checked
from deals.funnel import funnel
from deals.opening import NewDeal, open_deal
from deals.planning import NewTask, add_participant, list_tasks, plan_task, remove_participant
from deals.repository import DealFilter

from .conftest import Partners

HIGH_PRICE = uuid.UUID("0193b1a0-0000-7000-8000-000000000101")
NO_BUDGET = uuid.UUID("0193b1a0-0000-7000-8000-000000000103")


@pytest.fixture(autouse=True)
def manager() -> Iterator[None]:
    token = set_principal(Principal(subject="taras.shevchuk", roles=frozenset({"manager"})))
    yield
    reset_principal(token)


async def deal_in(db: Database, process_id: uuid.UUID, partner_id: uuid.UUID, amount: str, manager: str) -> uuid.UUID:
    deal = await open_deal(
        db,
        NewDeal(
            partner_id=partner_id,
            title="Ноутбуки для офісу",
            manager_id=manager,
            expected=Money(Decimal(amount), "UAH"),
            request_id=None,
            kind=DealKind.MANUAL_STAGES,
            process_id=process_id,
        ),
    )
    return deal.id


async def test_funnel_counts_open_deals_conversion_losses_and_potential(db: Database, partners_copy: Partners) -> None:
    stages = [Stage("lead", "Звернення"), Stage("offer", "Пропозиція"), Stage("contract", "Договір")]
    process_id = (await processes.create_process(db, "Продаж техніки", stages, None)).process.id
    retail = await partners_copy.known("ФОП Іваненко", segment="Роздріб")
    wholesale = await partners_copy.known("ТОВ «Техносвіт»", segment="Опт")
    a = await deal_in(db, process_id, retail, "1000", "anna")
    b = await deal_in(db, process_id, retail, "2000", "anna")
    c = await deal_in(db, process_id, wholesale, "4000", "bohdan")
    d = await deal_in(db, process_id, wholesale, "8000", "bohdan")
    e = await deal_in(db, process_id, wholesale, "500", "bohdan")
    await dealflow.move(db, b, "offer", "")
    await dealflow.move(db, c, "contract", "")
    await dealflow.win(db, c, None)
    await dealflow.move(db, d, "offer", "")
    await dealflow.lose(db, d, HIGH_PRICE, "")
    await dealflow.lose(db, e, NO_BUDGET, "")

    figures = await funnel(db, DealFilter(process_id=process_id))
    lead, offer, contract = figures.stages
    assert (lead.open_deals, lead.open_amount) == (1, {"UAH": Decimal("1000")})
    assert (offer.open_deals, offer.open_amount) == (1, {"UAH": Decimal("2000")})
    assert (lead.reached, lead.went_on, lead.conversion) == (5, 3, Decimal("0.6000"))
    assert (offer.reached, offer.went_on) == (3, 1)
    assert (contract.reached, contract.went_on, contract.conversion) == (1, 1, Decimal("1.0000"))
    assert (lead.lost_deals, lead.lost_by_reason) == (1, {str(NO_BUDGET): 1})
    assert offer.lost_by_reason == {str(HIGH_PRICE): 1}
    assert (figures.won_deals, figures.won_amount) == (1, {"UAH": Decimal("4000")})
    # Of closed deals that reached "lead", 1 of 3 was won; of those that reached "offer", 1 of 2.
    assert figures.potential_revenue == {"UAH": Decimal("1333.33")}
    assert figures.reason_names[str(HIGH_PRICE)] == "Висока ціна"

    only_anna = await funnel(db, DealFilter(process_id=process_id, manager_id="anna"))
    assert [s.open_deals for s in only_anna.stages] == [1, 1, 0]
    wholesale_only = await funnel(db, DealFilter(process_id=process_id, partner_segment="Опт"))
    assert (wholesale_only.stages[0].reached, wholesale_only.won_deals) == (3, 1)
    later = await funnel(db, DealFilter(process_id=process_id, opened_from=datetime.now(UTC) + timedelta(hours=1)))
    assert all(s.reached == 0 and s.conversion is None for s in later.stages)
    assert a


async def test_environment_lists_competitors_and_decision_makers(db: Database, partners_copy: Partners) -> None:
    client = await partners_copy.known("ТОВ «Агроцентр»")
    rival = await partners_copy.known("ТОВ «Конкурент Агро»")
    director = await partners_copy.known("Петренко Олег Іванович")
    deal = await open_deal(db, NewDeal(client, "Добрива", "", None, None))
    await add_participant(db, deal.id, rival, ParticipantRole.COMPETITOR, "пропонує знижку 5%")
    view = await add_participant(db, deal.id, director, ParticipantRole.DECISION_MAKER, "директор")
    assert {(name, p.role) for p, name in view.participants} == {
        ("ТОВ «Конкурент Агро»", "competitor"),
        ("Петренко Олег Іванович", "decision_maker"),
    }
    with pytest.raises(FailedPrecondition) as caught:
        await add_participant(db, deal.id, client, ParticipantRole.INFLUENCER, "")
    assert caught.value.rule == "own_partner"
    view = await remove_participant(db, deal.id, rival, ParticipantRole.COMPETITOR)
    assert len(view.participants) == 1


async def test_planned_task_is_requested_from_interactions_once_and_follows_its_events(
    db: Database, partners_copy: Partners
) -> None:
    deal = await open_deal(db, NewDeal(await partners_copy.known(), "Обладнання для ферми", "", None, None))
    deadline = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    new = NewTask(deal.id, "Підготувати КП", "з урахуванням знижки", "", "head.petro", deadline, f"t-{uuid.uuid4()}")
    task = await plan_task(db, new)
    again = await plan_task(db, new)
    assert task.id == again.id
    assert task.performer_id == "olena.kovalenko"
    async with db.reading() as session:
        query = select(OutboxMessage).where(OutboxMessage.topic == "crm.interactions.task-requests.v1")
        commands = [m for m in (await session.execute(query)).scalars() if m.key == task.command_request_id]
    assert len(commands) == 1
    body = json.loads(commands[0].payload)
    assert body["subject"] == {"service": "deals", "type": "deal", "id": str(deal.id)}
    assert (body["requested_by"], body["checker_id"], body["author_id"]) == ("deals", "head.petro", "taras.shevchuk")

    async with db.transaction() as session:
        await task_assigned(session, InboundTaskAssigned(task_id="it-77", request_id=task.command_request_id), None)  # type: ignore[arg-type]
        await task_assigned(session, InboundTaskAssigned(task_id="other", request_id="claims:1:2"), None)  # type: ignore[arg-type]
    assert [(t.status, t.interactions_task_id) for t in await list_tasks(db, deal.id)] == [("assigned", "it-77")]
    async with db.transaction() as session:
        checked = InboundTaskChecked(task_id="it-77", request_id=task.command_request_id, accepted=True)
        await task_checked(session, checked, None)  # type: ignore[arg-type]
    assert [t.status for t in await list_tasks(db, deal.id)] == ["accepted"]
