"""Per-call context that travels with the asyncio task: request id and the time left."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# The incoming call's own clock (grpc's ServicerContext.time_remaining), read only when a
# call made in turn needs it: most calls make none, and asking up front costs every call.
time_left_var: contextvars.ContextVar[Callable[[], float | None] | None] = contextvars.ContextVar(
    "time_left", default=None
)


def new_request_id() -> str:
    return uuid.uuid4().hex


def remaining_seconds() -> float | None:
    """Time left of the incoming call's deadline, for the calls it makes in turn."""
    time_left = time_left_var.get()
    return None if time_left is None else time_left()
