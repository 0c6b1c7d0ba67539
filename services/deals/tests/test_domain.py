"""Deal kinds, stage moves and process validation, without I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_platform.errors import FailedPrecondition, InvalidArgument
from crm_platform.money import Money
from deals.domain import (
    DEFAULT_STAGES,
    DealFacts,
    DealKind,
    DealStatus,
    ParticipantRole,
    ProposalAction,
    ProposalStatus,
    Stage,
    StageCondition,
    advance,
    check_invoice,
    check_reopen,
    check_win,
    fully_shipped,
    overdue,
    parse_date,
    plan_move,
    plan_shipment,
    proposal_next,
    require_settleable,
    to_pay,
    validate_process,
)

ALL_MET = DealFacts(
    partner_classified=True,
    agreement_set=True,
    counterparty="ТОВ «Зоря Агро»",
    expected_amount=Money(Decimal("1000"), "UAH"),
    roles_present=frozenset({ParticipantRole.DECISION_MAKER}),
)
OPEN = DealStatus.IN_PROGRESS


def rule_of(call) -> str:
    with pytest.raises(FailedPrecondition) as caught:
        call()
    return caught.value.rule


def test_controlled_deal_moves_one_stage_forward() -> None:
    assert plan_move(DealKind.CONTROLLED, OPEN, DEFAULT_STAGES, "new", "first_contact", DealFacts()) == []


def test_controlled_deal_cannot_skip_a_stage() -> None:
    assert rule_of(lambda: plan_move(DealKind.CONTROLLED, OPEN, DEFAULT_STAGES, "new", "qualification", ALL_MET)) == (
        "stage_order"
    )


def test_controlled_deal_cannot_reach_proposal_before_classification_and_agreement() -> None:
    facts = DealFacts(agreement_set=True)
    assert (
        rule_of(lambda: plan_move(DealKind.CONTROLLED, OPEN, DEFAULT_STAGES, "presentation", "proposal", facts))
        == "partner_classified"
    )
    facts = DealFacts(partner_classified=True)
    with pytest.raises(FailedPrecondition) as caught:
        plan_move(DealKind.CONTROLLED, OPEN, DEFAULT_STAGES, "presentation", "proposal", facts)
    assert caught.value.rule == "agreement_set"
    assert "agreement" in caught.value.message
    assert plan_move(DealKind.CONTROLLED, OPEN, DEFAULT_STAGES, "presentation", "proposal", ALL_MET) == []


def test_controlled_deal_may_go_back_without_conditions() -> None:
    assert plan_move(DealKind.CONTROLLED, OPEN, DEFAULT_STAGES, "terms", "first_contact", DealFacts()) == []


def test_manual_stages_deal_jumps_and_the_skipped_stages_are_named() -> None:
    skipped = plan_move(DealKind.MANUAL_STAGES, OPEN, DEFAULT_STAGES, "new", "proposal", DealFacts())
    assert skipped == ["first_contact", "qualification", "presentation"]


def test_non_process_deal_has_no_stages() -> None:
    assert rule_of(lambda: plan_move(DealKind.NON_PROCESS, OPEN, [], "", "new", ALL_MET)) == (
        "non_process_has_no_stages"
    )


def test_closed_deal_does_not_move() -> None:
    assert rule_of(
        lambda: plan_move(DealKind.MANUAL_STAGES, DealStatus.LOST, DEFAULT_STAGES, "new", "terms", ALL_MET)
    ) == ("deal_closed")


def test_unknown_target_stage_is_invalid() -> None:
    with pytest.raises(InvalidArgument) as caught:
        plan_move(DealKind.MANUAL_STAGES, OPEN, DEFAULT_STAGES, "new", "nowhere", ALL_MET)
    assert caught.value.violations[0].field == "stage_code"


def test_controlled_deal_is_won_only_from_the_last_stage() -> None:
    assert rule_of(lambda: check_win(DealKind.CONTROLLED, OPEN, DEFAULT_STAGES, "terms", ALL_MET)) == "stage_order"
    check_win(DealKind.CONTROLLED, OPEN, DEFAULT_STAGES, "fulfilment", ALL_MET)
    check_win(DealKind.MANUAL_STAGES, OPEN, DEFAULT_STAGES, "new", DealFacts())
    check_win(DealKind.NON_PROCESS, OPEN, [], "", DealFacts())


def test_last_stage_exit_conditions_hold_for_winning() -> None:
    stages = [Stage("a", "А"), Stage("b", "Б", (StageCondition.DECISION_MAKER_KNOWN,))]
    assert rule_of(lambda: check_win(DealKind.CONTROLLED, OPEN, stages, "b", DealFacts())) == "decision_maker_known"


def test_only_closed_deals_reopen() -> None:
    assert rule_of(lambda: check_reopen(OPEN)) == "deal_open"
    check_reopen(DealStatus.LOST)
    check_reopen(DealStatus.WON)


def test_zero_expected_amount_does_not_count_as_set() -> None:
    facts = DealFacts(expected_amount=Money(Decimal(0), "UAH"))
    assert not facts.holds(StageCondition.EXPECTED_AMOUNT_SET)


def test_process_needs_stages_with_unique_codes_and_names() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_process(" ", [Stage("a", "А"), Stage("a", "Б"), Stage("Bad Code", ""), Stage("c", "В")])
    fields = {v.field for v in caught.value.violations}
    assert fields == {"name", "stages[1].code", "stages[2].code", "stages[2].name"}
    with pytest.raises(InvalidArgument):
        validate_process("Порожній", [])


@given(st.text(max_size=20))
def test_any_text_is_a_valid_date_or_a_field_named_error(text: str) -> None:
    errors: list[InvalidArgument] = []
    try:
        parsed = parse_date(text, "expected_close_date")
    except InvalidArgument as exc:
        errors.append(exc)
        parsed = None
    if errors:
        assert errors[0].violations[0].field == "expected_close_date"
    elif text:
        assert parsed is not None


@given(st.dates())
def test_every_date_written_as_iso_is_read_back(day: date) -> None:
    assert parse_date(day.isoformat(), "expected_close_date") == day


@given(st.from_regex(r"[a-z0-9_]{1,40}", fullmatch=True), st.text(min_size=1, max_size=50).filter(str.strip))
def test_well_formed_stage_is_accepted(code: str, name: str) -> None:
    assert validate_process("Процес", [Stage(code, name)]) == "Процес"


# ---------------------------------------------------------------- proposals and orders


P = ProposalStatus
A = ProposalAction


def proposal_rule(status: ProposalStatus, action: ProposalAction, **kw: bool) -> str:
    flags = {"needs_approval": False, "approved": False, "expired": False, **kw}
    with pytest.raises(FailedPrecondition) as caught:
        proposal_next(status, action, **flags)
    return caught.value.rule


@pytest.mark.parametrize(
    ("status", "action", "flags", "after"),
    [
        (P.DRAFT, A.AGREE, {}, P.AGREED),
        (P.DRAFT, A.AGREE, {"needs_approval": True, "approved": True}, P.AGREED),
        (P.DRAFT, A.REQUEST_APPROVAL, {"needs_approval": True}, P.AWAITING_APPROVAL),
        (P.AWAITING_APPROVAL, A.APPROVE, {"needs_approval": True}, P.AGREED),
        (P.AWAITING_APPROVAL, A.DECLINE, {"needs_approval": True}, P.DRAFT),
        (P.AGREED, A.REJECT, {}, P.REJECTED),
        (P.REJECTED, A.REVISE, {}, P.DRAFT),
        (P.AGREED, A.REVISE, {}, P.DRAFT),
        (P.AGREED, A.CANCEL, {}, P.CANCELLED),
        (P.DRAFT, A.CANCEL, {}, P.CANCELLED),
    ],
)
def test_proposal_transitions(
    status: ProposalStatus, action: ProposalAction, flags: dict, after: ProposalStatus
) -> None:
    full = {"needs_approval": False, "approved": False, "expired": False, **flags}
    assert proposal_next(status, action, **full) == after


def test_proposal_transitions_that_are_refused() -> None:
    assert proposal_rule(P.DRAFT, A.AGREE, needs_approval=True) == "approval_required"
    assert proposal_rule(P.DRAFT, A.AGREE, expired=True) == "proposal_expired"
    assert proposal_rule(P.DRAFT, A.REQUEST_APPROVAL) == "approval_not_needed"
    assert proposal_rule(P.AWAITING_APPROVAL, A.APPROVE, needs_approval=True, expired=True) == "proposal_expired"
    assert proposal_rule(P.CANCELLED, A.REVISE) == "proposal_status"
    assert proposal_rule(P.CANCELLED, A.CANCEL) == "proposal_status"
    assert proposal_rule(P.DRAFT, A.REJECT) == "proposal_status"
    assert proposal_rule(P.AWAITING_APPROVAL, A.REVISE) == "proposal_status"
    assert proposal_rule(P.AGREED, A.APPROVE) == "proposal_status"


LINES = [
    {"sku": "NB-1", "quantity": "2", "total": "64000.00", "shipped": "1"},
    {"sku": "MS-1", "quantity": "3", "total": "1350.00", "shipped": "0"},
]


def test_shipment_takes_remainders_and_never_more() -> None:
    assert plan_shipment(LINES, {}) == {0: Decimal(1), 1: Decimal(3)}
    assert plan_shipment(LINES, {1: Decimal("2")}) == {1: Decimal(2)}
    with pytest.raises(FailedPrecondition) as caught:
        plan_shipment(LINES, {0: Decimal(2)})
    assert caught.value.rule == "over_shipment"
    with pytest.raises(InvalidArgument) as bad:
        plan_shipment(LINES, {5: Decimal(1), 1: Decimal(0)})
    assert {v.field for v in bad.value.violations} == {"lines[5].line_index", "lines[1].quantity"}
    done = [{**line, "shipped": line["quantity"]} for line in LINES]
    assert fully_shipped(done)
    assert not fully_shipped(LINES)
    with pytest.raises(FailedPrecondition):
        plan_shipment(done, {})


@given(
    st.decimals(min_value=0, max_value=10**7, places=2),
    st.decimals(min_value=0, max_value=10**7, places=2),
)
def test_what_is_owed_and_the_advance_add_up(total: Decimal, paid: Decimal) -> None:
    assert to_pay(total, paid) >= 0
    assert advance(total, paid) >= 0
    assert total - to_pay(total, paid) + advance(total, paid) == paid


def test_overdue_only_while_money_is_owed_past_the_due_date() -> None:
    today = date(2026, 11, 23)
    assert overdue("in_work", date(2026, 11, 1), Decimal(100), Decimal(50), today)
    assert not overdue("in_work", date(2026, 11, 30), Decimal(100), Decimal(50), today)
    assert not overdue("in_work", date(2026, 11, 1), Decimal(100), Decimal(100), today)
    assert not overdue("cancelled", date(2026, 11, 1), Decimal(100), Decimal(0), today)
    assert not overdue("in_work", None, Decimal(100), Decimal(0), today)


def test_invoicing_and_settling_rules() -> None:
    check_invoice(Decimal(100), Decimal(40), Decimal(60))
    with pytest.raises(FailedPrecondition) as caught:
        check_invoice(Decimal(100), Decimal(40), Decimal("60.01"))
    assert caught.value.rule == "over_invoicing"
    with pytest.raises(InvalidArgument):
        check_invoice(Decimal(100), Decimal(0), Decimal(0))
    for state, rule in (("awaiting_approval", "order_awaiting_approval"), ("cancelled", "order_cancelled")):
        with pytest.raises(FailedPrecondition) as caught:
            require_settleable(state)
        assert caught.value.rule == rule
    require_settleable("in_work")
