"""Memos of the Quote path (parsed texts, formatted values, per-product templates, terms).

Each holds the few distinct values that quotes repeat. A memo that reaches its limit is
cleared rather than evicted entry by entry: a full memo means unusual traffic, and tracking
use would cost every call."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_MEMO = 50_000


def remember(memo: dict[K, V], key: K, value: V, limit: int = MAX_MEMO) -> V:
    """Stores ``value`` under ``key`` and returns it."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value
