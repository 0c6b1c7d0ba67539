"""Claims' rules, without I/O."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claims.domain import (
    CLOSED_STATUSES,
    ActivityStatus,
    ClaimantKind,
    ClaimData,
    ClaimStatus,
    check_reason,
    check_transition,
    next_activity_status,
    parse_period,
    parse_task_request_id,
    progress_of,
    share,
    task_request_id,
    validate_claim,
    year_before,
)
from claims.files import check_file_name, detect_content_type
from crm_platform.errors import FailedPrecondition, InvalidArgument

S = ClaimStatus


def claim(**overrides: object) -> ClaimData:
    fields: dict[str, object] = {
        "partner_id": str(uuid.uuid4()),
        "claimant_kind": ClaimantKind.DEALER,
        "contact_person": "  Шевченко   Тарас  ",
        "culprit_department": "Відділ продажів",
        "culprit_employee_id": "",
        "essence": "Відвантажено не той артикул",
        "reason_codes": ("short_delivery", "short_delivery"),
        "desired_result": "Заміна товару",
        "deal_id": None,
        "order_id": None,
        "responsible_id": "",
        "manager_id": "",
    }
    fields.update(overrides)
    return ClaimData(**fields)  # type: ignore[arg-type]


def test_a_valid_claim_is_normalised() -> None:
    clean = validate_claim(claim())
    assert clean.contact_person == "Шевченко Тарас"
    assert clean.reason_codes == ("short_delivery",)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_claim(claim(essence=" ", reason_codes=(), culprit_department="", culprit_employee_id=""))
    assert {v.field for v in caught.value.violations} == {
        "claim.essence",
        "claim.reason_codes",
        "claim.culprit_department",
    }


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.REGISTERED, S.UNDER_INVESTIGATION),
        (S.REGISTERED, S.WITHDRAWN),
        (S.UNDER_INVESTIGATION, S.SATISFIED),
        (S.UNDER_INVESTIGATION, S.PARTLY_SATISFIED),
        (S.UNDER_INVESTIGATION, S.REJECTED),
        (S.UNDER_INVESTIGATION, S.WITHDRAWN),
    ],
)
def test_allowed_transitions(current: ClaimStatus, target: ClaimStatus) -> None:
    assert check_transition(current, target, " Замінено товар ") == "Замінено товар"


@pytest.mark.parametrize(
    ("current", "target", "rule"),
    [
        (S.REGISTERED, S.SATISFIED, "transition_registered_to_satisfied"),
        (S.REGISTERED, S.REJECTED, "transition_registered_to_rejected"),
        (S.UNDER_INVESTIGATION, S.REGISTERED, "transition_under_investigation_to_registered"),
        (S.SATISFIED, S.UNDER_INVESTIGATION, "closed_is_final"),
        (S.WITHDRAWN, S.REGISTERED, "closed_is_final"),
    ],
)
def test_forbidden_transitions_name_the_rule(current: ClaimStatus, target: ClaimStatus, rule: str) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_transition(current, target, "Результат")
    assert caught.value.rule == rule


@pytest.mark.parametrize("target", [S.SATISFIED, S.PARTLY_SATISFIED, S.REJECTED])
def test_an_outcome_needs_a_result(target: ClaimStatus) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_transition(S.UNDER_INVESTIGATION, target, "   ")
    assert caught.value.violations[0].field == "result"


def test_withdrawal_needs_no_result() -> None:
    assert check_transition(S.REGISTERED, S.WITHDRAWN, "") == ""


@given(st.sampled_from(list(ClaimStatus)), st.sampled_from(list(ClaimStatus)))
def test_nothing_leaves_a_closed_status(current: ClaimStatus, target: ClaimStatus) -> None:
    if current in CLOSED_STATUSES:
        with pytest.raises(FailedPrecondition):
            check_transition(current, target, "x")


@given(st.uuids(), st.uuids())
def test_task_request_ids_round_trip(claim_id: uuid.UUID, activity_id: uuid.UUID) -> None:
    assert parse_task_request_id(task_request_id(claim_id, activity_id)) == (str(claim_id), str(activity_id))


@given(st.text())
def test_other_services_request_ids_are_not_ours(text: str) -> None:
    parsed = parse_task_request_id(text)
    if not text.startswith("claims:"):
        assert parsed is None
    elif parsed is not None:
        assert task_request_id(*parsed) == text


@pytest.mark.parametrize(
    ("current", "reported", "expected"),
    [
        (ActivityStatus.REQUESTED, ActivityStatus.ASSIGNED, ActivityStatus.ASSIGNED),
        (ActivityStatus.REQUESTED, ActivityStatus.DONE, ActivityStatus.DONE),  # assigned arrived late
        (ActivityStatus.DONE, ActivityStatus.ASSIGNED, None),
        (ActivityStatus.DONE, ActivityStatus.RETURNED, ActivityStatus.RETURNED),
        (ActivityStatus.RETURNED, ActivityStatus.DONE, ActivityStatus.DONE),
        (ActivityStatus.DONE, ActivityStatus.CHECKED, ActivityStatus.CHECKED),
        (ActivityStatus.CHECKED, ActivityStatus.DONE, None),
        (ActivityStatus.CHECKED, ActivityStatus.RETURNED, None),
        (ActivityStatus.ASSIGNED, ActivityStatus.RETURNED, None),
    ],
)
def test_task_events_move_an_activity_forward_only(
    current: ActivityStatus, reported: ActivityStatus, expected: ActivityStatus | None
) -> None:
    assert next_activity_status(current, reported) == expected


def test_progress_counts_done_and_checked() -> None:
    p = progress_of([ActivityStatus.DONE, ActivityStatus.CHECKED, ActivityStatus.RETURNED])
    assert (p.total, p.done, p.checked, p.percent) == (3, 2, 1, 66)
    assert progress_of([]).percent == 0


@given(st.integers(min_value=1, max_value=10**6), st.data())
def test_share_is_a_percentage_with_one_decimal(whole: int, data: st.DataObject) -> None:
    part = data.draw(st.integers(min_value=0, max_value=whole))
    text = share(part, whole)
    value = float(text)
    assert abs(value - part * 100 / whole) <= 0.05 + 1e-9
    assert text == f"{value:.1f}"


def test_share_of_nothing_is_zero() -> None:
    assert share(0, 0) == "0.0"
    assert share(1, 3) == "33.3"
    assert share(2, 3) == "66.7"


def test_periods() -> None:
    assert parse_period("2026-01-01", "2026-03-31") == (date(2026, 1, 1), date(2026, 3, 31))
    assert year_before(date(2024, 2, 29)) == date(2023, 2, 28)
    with pytest.raises(InvalidArgument) as caught:
        parse_period("2026-13-01", "вчора")
    assert {v.field for v in caught.value.violations} == {"period.from_date", "period.to_date"}


@given(st.text(max_size=80), st.text(max_size=80))
def test_reason_codes_are_checked(code: str, name: str) -> None:
    valid_code = bool(re.fullmatch(r"[a-z0-9_]{2,60}", code.strip()))
    valid_name = 0 < len(" ".join(name.split())) <= 300
    if valid_code and valid_name:
        assert check_reason(code, name) == (code.strip(), " ".join(name.split()))
    else:
        with pytest.raises(InvalidArgument) as caught:
            check_reason(code, name)
        expected = ({"code"} if not valid_code else set()) | ({"name"} if not valid_name else set())
        assert {v.field for v in caught.value.violations} == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "image/png"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        ("Претензія щодо поставки".encode(), "text/plain"),
        (b"\x00\x01\x02\xfe\xff" * 10, "application/octet-stream"),
    ],
)
def test_content_type_from_bytes(head: bytes, expected: str) -> None:
    assert detect_content_type(head) == expected


@given(st.text(alphabet="абвгґдеєжзиіїйклмнопрстуфхцчшщьюяabc .-_0123456789", min_size=1, max_size=60))
def test_a_utf8_text_cut_mid_character_is_still_text(text: str) -> None:
    data = text.encode()
    for cut in range(max(1, len(data) - 3), len(data) + 1):
        assert detect_content_type(data[:cut]) == "text/plain"


@pytest.mark.parametrize("name", ["../x", "a/b.pdf", "", " ", "..", "a\\b"])
def test_file_names_are_names_not_paths(name: str) -> None:
    with pytest.raises(InvalidArgument):
        check_file_name(name)
