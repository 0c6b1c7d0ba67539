"""Per-call context that travels with the asyncio task: request id and deadline."""

from __future__ import annotations

import contextvars
import time
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
deadline_var: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def remaining_seconds() -> float | None:
    """Time left of the incoming call's deadline, for the calls it makes in turn."""
    deadline = deadline_var.get()
    return None if deadline is None else deadline - time.monotonic()
