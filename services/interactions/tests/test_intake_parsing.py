"""The telephony webhook's payload parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_platform.errors import InvalidArgument
from interactions.domain import Kind
from interactions.intake import parse_call


def test_a_call_as_the_telephony_sends_it() -> None:
    call = parse_call(
        {
            "call_id": "ats-7781",
            "direction": "out",
            "phone": "(044) 235-17-80",
            "started_at": "2026-11-23T10:15:00+02:00",
            "duration_seconds": 125,
            "user_id": "olena.kovalenko",
        }
    )
    assert call.direction == Kind.OUTGOING_CALL
    assert call.phone == "+380442351780"
    assert call.started_at.isoformat() == "2026-11-23T08:15:00+00:00"
    assert call.responsible_id == "olena.kovalenko"


def test_every_bad_field_is_named() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_call({"direction": "sideways", "phone": "12", "started_at": "вчора", "duration_seconds": -1})
    assert {v.field for v in caught.value.violations} == {
        "call_id",
        "direction",
        "phone",
        "started_at",
        "duration_seconds",
    }


payloads = st.dictionaries(
    st.sampled_from(["call_id", "direction", "phone", "started_at", "duration_seconds", "user_id", "note"]),
    st.one_of(st.text(max_size=30), st.integers(), st.none(), st.booleans()),
)


@given(st.one_of(payloads, st.lists(st.integers()), st.text(max_size=10), st.none()))
def test_any_payload_parses_or_names_its_bad_fields(payload: object) -> None:
    try:
        call = parse_call(payload)
    except InvalidArgument as exc:
        fields = {v.field for v in exc.violations}
        assert fields <= {"body", "call_id", "direction", "phone", "started_at", "duration_seconds"}
    else:
        assert call.phone.startswith("+")
        assert call.started_at.tzinfo is not None
