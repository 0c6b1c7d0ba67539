"""Deal kinds, stage moves, closing and reopening, against PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_platform.auth import Principal, reset_principal, set_principal
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument
from crm_platform.money import Money
from crm_platform.tables import OutboxMessage
from deals import dealflow, processes
from deals.dealflow import DealChanges
from deals.domain import DealKind, ParticipantRole, Stage, StageCondition
from deals.events import (
    InboundAgreementAgreed,
    InboundPartnerClassified,
    InboundPartnerMerged,
    InboundPartnerUpdated,
    classify_partner,
    merge_partners,
    remember_agreement,
    update_partner,
)
from deals.opening import NewDeal, open_deal
from deals.planning import add_participant

from .conftest import Partners

HIGH_PRICE = uuid.UUID("0193b1a0-0000-7000-8000-000000000101")


@pytest.fixture(autouse=True)
def manager() -> Iterator[None]:
    token = set_principal(Principal(subject="olena.kovalenko", roles=frozenset({"manager"})))
    yield
    reset_principal(token)


async def new_deal(db: Database, partner_id: uuid.UUID, kind: DealKind = DealKind.CONTROLLED, **kw) -> uuid.UUID:
    deal = await open_deal(
        db,
        NewDeal(
            partner_id=partner_id,
            title="Поставка насіння соняшнику",
            manager_id="",
            expected=kw.pop("expected", Money(Decimal("184500.00"), "UAH")),
            request_id=None,
            kind=kind,
            **kw,
        ),
    )
    return deal.id


async def rule(call) -> str:
    with pytest.raises(FailedPrecondition) as caught:
        await call
    return caught.value.rule


async def test_controlled_deal_walks_the_default_process_with_its_conditions(
    db: Database, partners_copy: Partners
) -> None:
    partner_id = await partners_copy.known()
    deal_id = await new_deal(db, partner_id)
    view = await dealflow.get_view(db, deal_id)
    assert (view.deal.stage_code, view.stage_name) == ("new", "Нова угода")
    assert view.deal.manager_id == "olena.kovalenko"

    for stage in ("first_contact", "qualification", "presentation"):
        await dealflow.move(db, deal_id, stage, "")
    assert await rule(dealflow.move(db, deal_id, "proposal", "")) == "partner_classified"

    async with db.transaction() as session:
        await classify_partner(session, InboundPartnerClassified(partner_id=partner_id, abc="A", xyz="X"), None)  # type: ignore[arg-type]
    assert await rule(dealflow.move(db, deal_id, "proposal", "")) == "agreement_set"

    async with db.transaction() as session:
        agreed = InboundAgreementAgreed(agreement_id=uuid.uuid4(), partner_id=partner_id, valid_from=date(2020, 1, 1))
        await remember_agreement(session, agreed, None)  # type: ignore[arg-type]
    moved = await dealflow.move(db, deal_id, "proposal", "клієнт класифікований, угоду підписано")
    assert moved.deal.stage_code == "proposal"
    assert await rule(dealflow.move(db, deal_id, "preparing_fulfilment", "")) == "stage_order"

    await dealflow.move(db, deal_id, "terms", "")
    assert await rule(dealflow.move(db, deal_id, "preparing_fulfilment", "")) == "counterparty_set"
    await dealflow.update(db, deal_id, DealChanges(counterparty="ТОВ «Зоря Агро Трейд»"), 0)
    await dealflow.move(db, deal_id, "preparing_fulfilment", "")
    assert await rule(dealflow.win(db, deal_id, None)) == "stage_order"
    await dealflow.move(db, deal_id, "fulfilment", "")
    won = await dealflow.win(db, deal_id, None)
    assert won.deal.status == "won"
    assert won.deal.won_amount == Decimal("184500.0000")

    history = await dealflow.history(db, deal_id)
    assert [h.to_stage for h in history][:3] == ["new", "first_contact", "qualification"]
    assert history[-1].to_status == "won"
    assert all(h.moved_by == "olena.kovalenko" for h in history)
    assert history[4].comment == "клієнт класифікований, угоду підписано"


async def test_segment_agreement_counts_for_its_partners(db: Database, partners_copy: Partners) -> None:
    segment = f"Дилери {uuid.uuid4().hex[:4]}"
    partner_id = await partners_copy.known(segment=segment)
    stages = [Stage("a", "Знайомство", (StageCondition.AGREEMENT_SET,)), Stage("b", "Б")]
    process = await processes.create_process(db, "Дилерський продаж", stages, None)
    deal_id = await new_deal(db, partner_id, process_id=process.process.id)
    assert await rule(dealflow.move(db, deal_id, "b", "")) == "agreement_set"
    async with db.transaction() as session:
        await remember_agreement(session, InboundAgreementAgreed(agreement_id=uuid.uuid4(), segment=segment), None)  # type: ignore[arg-type]
    assert (await dealflow.move(db, deal_id, "b", "")).deal.stage_code == "b"


async def test_manual_stages_deal_jumps_and_history_records_the_skip(db: Database, partners_copy: Partners) -> None:
    deal_id = await new_deal(db, await partners_copy.known(), DealKind.MANUAL_STAGES)
    await dealflow.move(db, deal_id, "terms", "клієнт одразу готовий")
    await dealflow.move(db, deal_id, "first_contact", "")
    history = await dealflow.history(db, deal_id)
    assert history[1].skipped == ["first_contact", "qualification", "presentation", "proposal"]
    assert (history[2].from_stage, history[2].to_stage) == ("terms", "first_contact")
    assert (await dealflow.win(db, deal_id, Money(Decimal("150000"), "UAH"))).deal.status == "won"


async def test_non_process_deal_has_no_stage_and_cannot_move(db: Database, partners_copy: Partners) -> None:
    deal_id = await new_deal(db, await partners_copy.known(), DealKind.NON_PROCESS)
    view = await dealflow.get_view(db, deal_id)
    assert view.deal.process_id is None
    assert view.deal.stage_code is None
    assert await rule(dealflow.move(db, deal_id, "new", "")) == "non_process_has_no_stages"


async def test_lost_deal_keeps_its_stage_and_reason_and_reopens_there(db: Database, partners_copy: Partners) -> None:
    deal_id = await new_deal(db, await partners_copy.known())
    await dealflow.move(db, deal_id, "first_contact", "")
    lost = await dealflow.lose(db, deal_id, HIGH_PRICE, "конкурент дешевший на 8%")
    assert (lost.deal.status, lost.deal.stage_code, lost.lost_reason) == ("lost", "first_contact", "Висока ціна")
    assert await rule(dealflow.move(db, deal_id, "qualification", "")) == "deal_closed"
    assert await rule(dealflow.lose(db, deal_id, HIGH_PRICE, "")) == "deal_closed"
    reopened = await dealflow.reopen(db, deal_id, "клієнт повернувся")
    assert (reopened.deal.status, reopened.deal.stage_code, reopened.lost_reason) == (
        "in_progress",
        "first_contact",
        "",
    )
    assert await rule(dealflow.reopen(db, deal_id, "")) == "deal_open"
    statuses = [(h.from_status, h.to_status) for h in await dealflow.history(db, deal_id)]
    assert statuses[-2:] == [("in_progress", "lost"), ("lost", "in_progress")]


async def test_losing_needs_a_known_active_reason(db: Database, partners_copy: Partners) -> None:
    deal_id = await new_deal(db, await partners_copy.known())
    with pytest.raises(InvalidArgument) as caught:
        await dealflow.lose(db, deal_id, uuid.uuid4(), "")
    assert caught.value.violations[0].field == "lost_reason_id"
    reason = await processes.create_lost_reason(db, f"Пішли до дилера {uuid.uuid4().hex[:4]}")
    await processes.update_lost_reason(db, reason.id, reason.name, False)
    assert await rule(dealflow.lose(db, deal_id, reason.id, "")) == "lost_reason_active"
    assert reason.id not in {r.id for r in await processes.list_lost_reasons(db, False)}
    assert reason.id in {r.id for r in await processes.list_lost_reasons(db, True)}


async def test_deal_events_are_written_to_the_outbox(db: Database, partners_copy: Partners) -> None:
    deal_id = await new_deal(db, await partners_copy.known())
    await dealflow.move(db, deal_id, "first_contact", "")
    await dealflow.lose(db, deal_id, HIGH_PRICE, "")
    await dealflow.reopen(db, deal_id, "")
    async with db.reading() as session:
        rows = (await session.execute(select(OutboxMessage).where(OutboxMessage.key == str(deal_id)))).scalars()
        types = [r.event_type for r in sorted(rows, key=lambda r: r.seq or 0)]
    assert types == [
        "crm.deals.deal.opened",
        "crm.deals.deal.stage_changed",
        "crm.deals.deal.lost",
        "crm.deals.deal.reopened",
    ]


async def test_stage_with_open_deals_cannot_be_removed_from_a_process(db: Database, partners_copy: Partners) -> None:
    stages = [Stage("call", "Дзвінок"), Stage("visit", "Зустріч"), Stage("deal", "Угода")]
    process = await processes.create_process(db, "Роздрібний продаж", stages, f"p-{uuid.uuid4()}")
    deal_id = await new_deal(db, await partners_copy.known(), DealKind.MANUAL_STAGES, process_id=process.process.id)
    await dealflow.move(db, deal_id, "visit", "")
    with pytest.raises(FailedPrecondition) as caught:
        await processes.update_process(db, process.process.id, "Роздріб", [stages[0], stages[2]], 0)
    assert caught.value.rule == "stage_has_open_deals"
    assert "visit" in caught.value.message
    renamed = [stages[0], Stage("visit", "Зустріч в офісі"), stages[2], Stage("paid", "Оплата")]
    updated = await processes.update_process(db, process.process.id, "Роздріб", renamed, 1)
    assert [s.code for s in updated.stages] == ["call", "visit", "deal", "paid"]
    with pytest.raises(FailedPrecondition):
        await processes.update_process(db, process.process.id, "Роздріб", renamed, 1)  # stale version
    assert (await dealflow.get_view(db, deal_id)).stage_name == "Зустріч в офісі"


async def test_process_created_twice_with_one_request_id_is_one_process(db: Database) -> None:
    request_id = f"p-{uuid.uuid4()}"
    stages = [Stage("one", "Один")]
    first = await processes.create_process(db, "Тендер", stages, request_id)
    again = await processes.create_process(db, "Тендер", stages, request_id)
    assert first.process.id == again.process.id


async def test_partner_copy_follows_updates_by_version_and_merges(db: Database, partners_copy: Partners) -> None:
    kept, gone = await partners_copy.known("ТОВ «Світанок»"), await partners_copy.known("ПП «Світанок»")
    deal_id = await new_deal(db, gone)
    other_deal = await new_deal(db, kept)
    await add_participant(db, other_deal, gone, ParticipantRole.COMPETITOR, "")
    async with db.transaction() as session:
        newer = InboundPartnerUpdated(partner_id=kept, name="ТОВ «Світанок Плюс»", manager_id="ivan.melnyk", version=3)
        await update_partner(session, newer, None)  # type: ignore[arg-type]
    async with db.transaction() as session:
        older = InboundPartnerUpdated(partner_id=kept, name="стара назва", manager_id="x", version=2)
        await update_partner(session, older, None)  # type: ignore[arg-type]
        await merge_partners(session, InboundPartnerMerged(partner_id=kept, merged_ids=[gone], version=4), None)  # type: ignore[arg-type]
    view = await dealflow.get_view(db, deal_id)
    assert view.deal.partner_id == kept
    assert view.partner is not None
    assert view.partner.name == "ТОВ «Світанок Плюс»"
    assert [p.partner_id for p, _ in (await dealflow.get_view(db, other_deal)).participants] == []
    assert await rule(new_deal(db, gone)) == "partner_merged"
