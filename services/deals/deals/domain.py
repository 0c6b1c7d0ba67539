"""Deals' rules. Pure Python, no I/O."""

from __future__ import annotations

from enum import StrEnum

from crm_platform.errors import Violations
from crm_platform.money import Money

MAX_TITLE = 300


class DealStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    WON = "won"
    LOST = "lost"


def check_new_deal(title: str, expected: Money | None) -> str:
    v = Violations()
    clean = " ".join(title.split())
    if not clean:
        v.add("title", "must not be empty")
    elif len(clean) > MAX_TITLE:
        v.add("title", f"longer than {MAX_TITLE} characters")
    if expected is not None and expected.amount < 0:
        v.add("expected_amount.amount", "must not be negative")
    v.raise_if_any()
    return clean
