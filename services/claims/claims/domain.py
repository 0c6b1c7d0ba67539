"""Claims' rules. Pure Python, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from crm_platform.errors import FailedPrecondition, InvalidArgument, Violations

MAX_ESSENCE = 4000
MAX_TEXT = 2000
MAX_NAME = 300
MAX_ID = 120
MAX_REASONS = 10
REASON_CODE = re.compile(r"^[a-z0-9_]{2,60}$")
REQUEST_ID_PREFIX = "claims:"


class ClaimStatus(StrEnum):
    REGISTERED = "registered"
    UNDER_INVESTIGATION = "under_investigation"
    SATISFIED = "satisfied"
    PARTLY_SATISFIED = "partly_satisfied"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = frozenset({ClaimStatus.REGISTERED, ClaimStatus.UNDER_INVESTIGATION})
OUTCOMES = frozenset({ClaimStatus.SATISFIED, ClaimStatus.PARTLY_SATISFIED, ClaimStatus.REJECTED})
CLOSED_STATUSES = OUTCOMES | {ClaimStatus.WITHDRAWN}

TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.REGISTERED: frozenset({ClaimStatus.UNDER_INVESTIGATION, ClaimStatus.WITHDRAWN}),
    ClaimStatus.UNDER_INVESTIGATION: OUTCOMES | {ClaimStatus.WITHDRAWN},
}


class ClaimantKind(StrEnum):
    CLIENT = "client"
    SUPPLIER = "supplier"
    COMPETITOR = "competitor"
    DEALER = "dealer"
    OTHER = "other"


class ActivityStatus(StrEnum):
    REQUESTED = "requested"
    ASSIGNED = "assigned"
    DONE = "done"
    CHECKED = "checked"
    RETURNED = "returned"


def clean(value: str) -> str:
    return " ".join(value.split())


@dataclass(frozen=True)
class ClaimData:
    partner_id: str
    claimant_kind: ClaimantKind
    contact_person: str
    culprit_department: str
    culprit_employee_id: str
    essence: str
    reason_codes: tuple[str, ...]
    desired_result: str
    deal_id: str | None
    order_id: str | None
    responsible_id: str
    manager_id: str


def validate_claim(data: ClaimData) -> ClaimData:
    """Checks every field at once and returns the claim with its text normalised."""
    v = Violations()
    essence = data.essence.strip()
    if not essence:
        v.add("claim.essence", "must not be empty")
    elif len(essence) > MAX_ESSENCE:
        v.add("claim.essence", f"longer than {MAX_ESSENCE} characters")
    contact = clean(data.contact_person)
    if len(contact) > MAX_NAME:
        v.add("claim.contact_person", f"longer than {MAX_NAME} characters")
    department = clean(data.culprit_department)
    if len(department) > MAX_NAME:
        v.add("claim.culprit_department", f"longer than {MAX_NAME} characters")
    desired = data.desired_result.strip()
    if len(desired) > MAX_TEXT:
        v.add("claim.desired_result", f"longer than {MAX_TEXT} characters")
    for name in ("culprit_employee_id", "responsible_id", "manager_id"):
        if len(getattr(data, name).strip()) > MAX_ID:
            v.add(f"claim.{name}", f"longer than {MAX_ID} characters")
    if not department and not data.culprit_employee_id.strip():
        v.add("claim.culprit_department", "name the department or the employee at fault")
    codes = tuple(dict.fromkeys(c.strip() for c in data.reason_codes))
    if not codes:
        v.add("claim.reason_codes", "at least one reason is required")
    elif len(codes) > MAX_REASONS:
        v.add("claim.reason_codes", f"at most {MAX_REASONS} reasons")
    for i, code in enumerate(codes):
        if not REASON_CODE.match(code):
            v.add(f"claim.reason_codes[{i}]", "not a reason code")
    v.raise_if_any()
    return ClaimData(
        partner_id=data.partner_id,
        claimant_kind=data.claimant_kind,
        contact_person=contact,
        culprit_department=department,
        culprit_employee_id=data.culprit_employee_id.strip(),
        essence=essence,
        reason_codes=codes,
        desired_result=desired,
        deal_id=data.deal_id,
        order_id=data.order_id,
        responsible_id=data.responsible_id.strip(),
        manager_id=data.manager_id.strip(),
    )


def check_transition(current: ClaimStatus, target: ClaimStatus, result: str) -> str:
    """The cleaned result of moving current → target; raises when the process forbids it."""
    allowed = TRANSITIONS.get(current, frozenset())
    if target not in allowed:
        if current in CLOSED_STATUSES:
            raise FailedPrecondition(
                f"the claim is closed ({current}); a closed claim does not change status", rule="closed_is_final"
            )
        raise FailedPrecondition(
            f"a claim cannot go from {current} to {target}; allowed: {', '.join(sorted(allowed))}",
            rule=f"transition_{current}_to_{target}",
        )
    text = result.strip()
    if len(text) > MAX_TEXT:
        raise InvalidArgument.single("result", f"longer than {MAX_TEXT} characters")
    if target in OUTCOMES and not text:
        raise InvalidArgument.single("result", f"is required to close a claim as {target}")
    return text


def check_reason(code: str, name: str) -> tuple[str, str]:
    v = Violations()
    code = code.strip()
    if not REASON_CODE.match(code):
        v.add("code", "2..60 Latin lowercase letters, digits or '_'")
    name = clean(name)
    if not name:
        v.add("name", "must not be empty")
    elif len(name) > MAX_NAME:
        v.add("name", f"longer than {MAX_NAME} characters")
    v.raise_if_any()
    return code, name


def check_activity(name: str, description: str, performer_id: str, checker_id: str) -> tuple[str, str, str, str]:
    v = Violations()
    name = clean(name)
    if not name:
        v.add("name", "must not be empty")
    elif len(name) > MAX_NAME:
        v.add("name", f"longer than {MAX_NAME} characters")
    description = description.strip()
    if len(description) > MAX_TEXT:
        v.add("description", f"longer than {MAX_TEXT} characters")
    performer_id = performer_id.strip()
    if not performer_id:
        v.add("performer_id", "is required")
    elif len(performer_id) > MAX_ID:
        v.add("performer_id", f"longer than {MAX_ID} characters")
    if len(checker_id.strip()) > MAX_ID:
        v.add("checker_id", f"longer than {MAX_ID} characters")
    v.raise_if_any()
    return name, description, performer_id, checker_id.strip()


def task_request_id(claim_id: object, activity_id: object) -> str:
    return f"{REQUEST_ID_PREFIX}{claim_id}:{activity_id}"


def parse_task_request_id(request_id: str | None) -> tuple[str, str] | None:
    """(claim_id, activity_id) of a request this service sent, None for anyone else's."""
    if not request_id or not request_id.startswith(REQUEST_ID_PREFIX):
        return None
    parts = request_id[len(REQUEST_ID_PREFIX) :].split(":")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


ACTIVITY_RANK = {
    ActivityStatus.REQUESTED: 0,
    ActivityStatus.ASSIGNED: 1,
    ActivityStatus.RETURNED: 1,
    ActivityStatus.DONE: 2,
    ActivityStatus.CHECKED: 3,
}


def next_activity_status(current: ActivityStatus, reported: ActivityStatus) -> ActivityStatus | None:
    """The activity's new status after a task event, None when the event is stale.

    Events of one task arrive in order (one key), but a redelivered or late event must not
    move the plan backwards; the only step back is a checker returning the work."""
    if current == ActivityStatus.CHECKED:
        return None
    if reported == ActivityStatus.RETURNED:
        return reported if current == ActivityStatus.DONE else None
    if reported == ActivityStatus.DONE and current == ActivityStatus.RETURNED:
        return reported
    if ACTIVITY_RANK[reported] > ACTIVITY_RANK[current]:
        return reported
    return None


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    checked: int

    @property
    def percent(self) -> int:
        return 0 if self.total == 0 else (self.done * 100) // self.total


def progress_of(statuses: list[ActivityStatus]) -> Progress:
    done = sum(1 for s in statuses if s in (ActivityStatus.DONE, ActivityStatus.CHECKED))
    checked = sum(1 for s in statuses if s == ActivityStatus.CHECKED)
    return Progress(len(statuses), done, checked)


def parse_period(from_date: str, to_date: str) -> tuple[date, date]:
    v = Violations()
    parsed: list[date | None] = []
    for field, value in (("period.from_date", from_date), ("period.to_date", to_date)):
        try:
            parsed.append(date.fromisoformat(value))
        except ValueError:
            v.add(field, "must be a date YYYY-MM-DD")
            parsed.append(None)
    v.raise_if_any()
    start, end = parsed
    if start is None or end is None:  # unreachable: a None was reported above
        raise InvalidArgument.single("period", "is required")
    if end < start:
        raise InvalidArgument.single("period.to_date", "must not be before period.from_date")
    if (end - start).days > 366 * 5:
        raise InvalidArgument.single("period.to_date", "a period is at most five years")
    return start, end


def year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def share(part: int, whole: int) -> str:
    """A percentage with one decimal, as text, rounded half up."""
    if whole == 0:
        return "0.0"
    tenths = (part * 1000 * 2 + whole) // (whole * 2)
    return f"{tenths // 10}.{tenths % 10}"
