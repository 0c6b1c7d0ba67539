"""Deals' rules: deal kinds, sales processes, stage moves, closing. Pure Python, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from crm_platform.errors import FailedPrecondition, InvalidArgument, Violations
from crm_platform.money import Money

MAX_TITLE = 300
MAX_TEXT = 300
MAX_STAGES = 30
STAGE_CODE = re.compile(r"^[a-z0-9_]{1,40}$")


class DealStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    WON = "won"
    LOST = "lost"


class DealKind(StrEnum):
    CONTROLLED = "controlled"
    MANUAL_STAGES = "manual_stages"
    NON_PROCESS = "non_process"


class StageCondition(StrEnum):
    PARTNER_CLASSIFIED = "partner_classified"
    AGREEMENT_SET = "agreement_set"
    COUNTERPARTY_SET = "counterparty_set"
    EXPECTED_AMOUNT_SET = "expected_amount_set"
    DECISION_MAKER_KNOWN = "decision_maker_known"


CONDITION_TEXT = {
    StageCondition.PARTNER_CLASSIFIED: "the partner is not classified yet",
    StageCondition.AGREEMENT_SET: "no agreed terms of sale (agreement) for the partner",
    StageCondition.COUNTERPARTY_SET: "the deal names no counterparty",
    StageCondition.EXPECTED_AMOUNT_SET: "the deal has no expected amount",
    StageCondition.DECISION_MAKER_KNOWN: "no decision maker in the deal's environment",
}


class ParticipantRole(StrEnum):
    COMPETITOR = "competitor"
    SUBCONTRACTOR = "subcontractor"
    INFLUENCER = "influencer"
    DECISION_MAKER = "decision_maker"


class TaskStatus(StrEnum):
    REQUESTED = "requested"
    ASSIGNED = "assigned"
    DONE = "done"
    ACCEPTED = "accepted"
    RETURNED = "returned"


@dataclass(frozen=True)
class Stage:
    code: str
    name: str
    exit_conditions: tuple[StageCondition, ...] = ()


@dataclass(frozen=True)
class DealFacts:
    """What the exit conditions look at, gathered by the use case."""

    partner_classified: bool = False
    agreement_set: bool = False
    counterparty: str = ""
    expected_amount: Money | None = None
    roles_present: frozenset[ParticipantRole] = field(default_factory=frozenset)

    def holds(self, condition: StageCondition) -> bool:
        match condition:
            case StageCondition.PARTNER_CLASSIFIED:
                return self.partner_classified
            case StageCondition.AGREEMENT_SET:
                return self.agreement_set
            case StageCondition.COUNTERPARTY_SET:
                return bool(self.counterparty)
            case StageCondition.EXPECTED_AMOUNT_SET:
                return self.expected_amount is not None and self.expected_amount.amount > 0
            case StageCondition.DECISION_MAKER_KNOWN:
                return ParticipantRole.DECISION_MAKER in self.roles_present


def clean_text(value: str, field_name: str, v: Violations, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    clean = " ".join(value.split())
    if required and not clean:
        v.add(field_name, "must not be empty")
    elif len(clean) > limit:
        v.add(field_name, f"longer than {limit} characters")
    return clean


def check_new_deal(title: str, expected: Money | None) -> str:
    v = Violations()
    clean = clean_text(title, "title", v, required=True, limit=MAX_TITLE)
    if expected is not None and expected.amount < 0:
        v.add("expected_amount.amount", "must not be negative")
    v.raise_if_any()
    return clean


def parse_date(value: str, field_name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument.single(field_name, "must be a date YYYY-MM-DD") from None


def validate_process(name: str, stages: list[Stage]) -> str:
    v = Violations()
    clean = clean_text(name, "name", v, required=True, limit=200)
    if not stages:
        v.add("stages", "a process needs at least one stage")
    if len(stages) > MAX_STAGES:
        v.add("stages", f"at most {MAX_STAGES} stages")
    seen: set[str] = set()
    for i, stage in enumerate(stages):
        if not STAGE_CODE.match(stage.code):
            v.add(f"stages[{i}].code", "must be 1-40 of a-z, 0-9, _")
        elif stage.code in seen:
            v.add(f"stages[{i}].code", f"duplicate stage code {stage.code!r}")
        seen.add(stage.code)
        clean_text(stage.name, f"stages[{i}].name", v, required=True, limit=200)
        if len(set(stage.exit_conditions)) != len(stage.exit_conditions):
            v.add(f"stages[{i}].exit_conditions", "a condition is listed twice")
    v.raise_if_any()
    return clean


def position_of(stages: list[Stage], code: str) -> int:
    for i, stage in enumerate(stages):
        if stage.code == code:
            return i
    raise InvalidArgument.single("stage_code", f"no stage {code!r} in the deal's process")


def unmet_conditions(stage: Stage, facts: DealFacts) -> list[StageCondition]:
    return [c for c in stage.exit_conditions if not facts.holds(c)]


def _require_exit(stage: Stage, facts: DealFacts) -> None:
    unmet = unmet_conditions(stage, facts)
    if unmet:
        first = unmet[0]
        reasons = "; ".join(CONDITION_TEXT[c] for c in unmet)
        raise FailedPrecondition(f"cannot leave stage {stage.code!r}: {reasons}", rule=first.value)


def require_open(status: DealStatus) -> None:
    if status != DealStatus.IN_PROGRESS:
        raise FailedPrecondition(f"the deal is {status.value}; reopen it first", rule="deal_closed")


def plan_move(
    kind: DealKind, status: DealStatus, stages: list[Stage], current: str, target: str, facts: DealFacts
) -> list[str]:
    """Checks a stage move; returns the stages jumped over (manual-stages deals only)."""
    if kind == DealKind.NON_PROCESS:
        raise FailedPrecondition("a non-process deal has no stages", rule="non_process_has_no_stages")
    require_open(status)
    here, there = position_of(stages, current), position_of(stages, target)
    if here == there:
        raise FailedPrecondition(f"the deal is already at stage {target!r}", rule="same_stage")
    if kind == DealKind.MANUAL_STAGES:
        low, high = sorted((here, there))
        return [s.code for s in stages[low + 1 : high]] if there > here else []
    if there < here:
        return []
    if there > here + 1:
        raise FailedPrecondition(
            f"a controlled deal cannot skip stages: next is {stages[here + 1].code!r}", rule="stage_order"
        )
    _require_exit(stages[here], facts)
    return []


def check_win(kind: DealKind, status: DealStatus, stages: list[Stage], current: str, facts: DealFacts) -> None:
    require_open(status)
    if kind != DealKind.CONTROLLED:
        return
    here = position_of(stages, current)
    if here != len(stages) - 1:
        raise FailedPrecondition(
            f"a controlled deal is won only from its last stage {stages[-1].code!r}", rule="stage_order"
        )
    _require_exit(stages[here], facts)


def check_reopen(status: DealStatus) -> None:
    if status == DealStatus.IN_PROGRESS:
        raise FailedPrecondition("the deal is in progress", rule="deal_open")


DEFAULT_STAGES = [
    Stage("new", "Нова угода"),
    Stage("first_contact", "Первинний контакт"),
    Stage("qualification", "Кваліфікація (партнер зареєстрований)"),
    Stage(
        "presentation",
        "Презентація",
        (StageCondition.PARTNER_CLASSIFIED, StageCondition.AGREEMENT_SET),
    ),
    Stage("proposal", "Уточнення комерційної пропозиції", (StageCondition.EXPECTED_AMOUNT_SET,)),
    Stage("terms", "Узгодження умов", (StageCondition.COUNTERPARTY_SET,)),
    Stage("preparing_fulfilment", "Підготовка до виконання"),
    Stage("fulfilment", "Виконання (відвантаження та оплата)"),
]


# ---------------------------------------------------------------- proposals


class ProposalStatus(StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    AGREED = "agreed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Importance(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class ProposalAction(StrEnum):
    AGREE = "agree"
    REQUEST_APPROVAL = "request_approval"
    APPROVE = "approve"
    DECLINE = "decline"
    REJECT = "reject"
    CANCEL = "cancel"
    REVISE = "revise"


_PROPOSAL_MOVES: dict[ProposalAction, tuple[frozenset[ProposalStatus], ProposalStatus]] = {
    ProposalAction.AGREE: (frozenset({ProposalStatus.DRAFT}), ProposalStatus.AGREED),
    ProposalAction.REQUEST_APPROVAL: (frozenset({ProposalStatus.DRAFT}), ProposalStatus.AWAITING_APPROVAL),
    ProposalAction.APPROVE: (frozenset({ProposalStatus.AWAITING_APPROVAL}), ProposalStatus.AGREED),
    ProposalAction.DECLINE: (frozenset({ProposalStatus.AWAITING_APPROVAL}), ProposalStatus.DRAFT),
    ProposalAction.REJECT: (frozenset({ProposalStatus.AGREED}), ProposalStatus.REJECTED),
    ProposalAction.CANCEL: (
        frozenset(
            {ProposalStatus.DRAFT, ProposalStatus.AWAITING_APPROVAL, ProposalStatus.AGREED, ProposalStatus.REJECTED}
        ),
        ProposalStatus.CANCELLED,
    ),
    ProposalAction.REVISE: (
        frozenset({ProposalStatus.DRAFT, ProposalStatus.AGREED, ProposalStatus.REJECTED}),
        ProposalStatus.DRAFT,
    ),
}


def proposal_next(
    status: ProposalStatus, action: ProposalAction, *, needs_approval: bool, approved: bool, expired: bool
) -> ProposalStatus:
    allowed, target = _PROPOSAL_MOVES[action]
    if status not in allowed:
        raise FailedPrecondition(f"a {status.value} proposal cannot be {action.value}d", rule="proposal_status")
    if action == ProposalAction.AGREE:
        if expired:
            raise FailedPrecondition("the proposal's valid-until date has passed", rule="proposal_expired")
        if needs_approval and not approved:
            raise FailedPrecondition(
                "a discount passes the agreement's limit: a head of sales must approve it first",
                rule="approval_required",
            )
    if action == ProposalAction.REQUEST_APPROVAL and not needs_approval:
        raise FailedPrecondition("nothing in this proposal needs approval", rule="approval_not_needed")
    if action == ProposalAction.APPROVE and expired:
        raise FailedPrecondition("the proposal's valid-until date has passed", rule="proposal_expired")
    return target


# ---------------------------------------------------------------- orders

AWAITING_APPROVAL = "awaiting_approval"
COMPLETED = "completed"
CANCELLED = "cancelled"
FIXED_ORDER_STATES = (AWAITING_APPROVAL, COMPLETED, CANCELLED)
CENT = Decimal("0.01")


class OrderKind(StrEnum):
    CUSTOMER = "customer"
    SHOP = "shop"


def line_net(line: dict[str, str]) -> Decimal:
    """A line's payable total per unit, for valuing partial shipments."""
    return Decimal(line["total"]) / Decimal(line["quantity"])


def plan_shipment(lines: list[dict[str, str]], wanted: dict[int, Decimal]) -> dict[int, Decimal]:
    """Quantities to ship per line; every line's remainder when nothing is named."""
    v = Violations()
    if not wanted:
        wanted = {i: Decimal(ln["quantity"]) - Decimal(ln.get("shipped", "0")) for i, ln in enumerate(lines)}
        wanted = {i: q for i, q in wanted.items() if q > 0}
        if not wanted:
            raise FailedPrecondition("everything ordered has been shipped", rule="over_shipment")
        return wanted
    for i, quantity in wanted.items():
        if i < 0 or i >= len(lines):
            v.add(f"lines[{i}].line_index", f"the order has lines 0..{len(lines) - 1}")
        elif quantity <= 0:
            v.add(f"lines[{i}].quantity", "must be positive")
    v.raise_if_any()
    for i, quantity in wanted.items():
        left = Decimal(lines[i]["quantity"]) - Decimal(lines[i].get("shipped", "0"))
        if quantity > left:
            raise FailedPrecondition(
                f"line {i} ({lines[i].get('sku', '')}): {quantity} asked, only {left} left to ship",
                rule="over_shipment",
            )
    return wanted


def fully_shipped(lines: list[dict[str, str]]) -> bool:
    return all(Decimal(ln.get("shipped", "0")) >= Decimal(ln["quantity"]) for ln in lines)


def to_pay(total: Decimal, paid: Decimal) -> Decimal:
    return max(Decimal(0), total - paid)


def advance(total: Decimal, paid: Decimal) -> Decimal:
    return max(Decimal(0), paid - total)


def overdue(state: str, due_on: date | None, total: Decimal, paid: Decimal, today: date) -> bool:
    return state not in (COMPLETED, CANCELLED) and due_on is not None and due_on < today and paid < total


def require_settleable(state: str) -> None:
    if state == AWAITING_APPROVAL:
        raise FailedPrecondition("the order awaits approval of its terms", rule="order_awaiting_approval")
    if state == CANCELLED:
        raise FailedPrecondition("the order is cancelled", rule="order_cancelled")


def check_invoice(total: Decimal, invoiced: Decimal, amount: Decimal) -> None:
    if amount <= 0:
        raise InvalidArgument.single("amount.amount", "must be positive")
    if invoiced + amount > total:
        raise FailedPrecondition(
            f"invoicing {amount} would exceed the order's total ({total}; {invoiced} invoiced)",
            rule="over_invoicing",
        )
