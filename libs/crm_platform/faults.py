"""Which failures are a dependency being down (retry later) rather than a bug or bad input."""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from crm_platform.errors import Unavailable

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    OperationalError,
    InterfaceError,
    KafkaConnectionError,
    KafkaTimeoutError,
    RedisConnectionError,
    Unavailable,
)


# PostgreSQL's SQLSTATEs for a server that is going, gone or not yet back: connection
# exceptions (class 08), admin/crash shutdown, "the database system is starting up",
# too many connections. A driver reports them as plain errors, not as a lost connection.
TRANSIENT_SQLSTATE_CLASSES = ("08",)
TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if isinstance(state, str) and (state in TRANSIENT_SQLSTATES or state.startswith(TRANSIENT_SQLSTATE_CLASSES)):
            return True
    return isinstance(exc, TRANSIENT_ERRORS)
