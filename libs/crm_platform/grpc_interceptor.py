"""What every call to a platform service goes through: request ids, authentication,
authorisation, metrics, logging and error mapping.

It is a generic RPC handler in front of the services' own handlers rather than a grpc.aio
interceptor: grpc asks a generic handler for the method of each call with the call's
metadata already decoded, in a plain function call, where an interceptor costs a chain of
coroutines per call and the servicer context decodes the metadata again. What it learns of
the call (the caller, or why the caller is refused, and the request id) is bound into a
method handler made for that call.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import grpc
from grpc.aio import ServicerContext

from crm_platform.auth import STAFF, Principal, TokenVerifier, require_roles, set_principal
from crm_platform.errors import PlatformError
from crm_platform.faults import is_transient
from crm_platform.grpc_errors import to_grpc_status
from crm_platform.metrics import GRPC_HANDLED, GRPC_HANDLING_SECONDS, GRPC_STARTED
from crm_platform.request_context import new_request_id, request_id_var, time_left_var

access_log = logging.getLogger("crm.access")
log = logging.getLogger(__name__)

Caller = Principal | PlatformError
"""Who is calling, or why the caller is refused (answered by the handler, with metrics)."""


class AccessPolicy:
    """Which roles may call which method; methods not named take STAFF."""

    def __init__(self) -> None:
        self._rules: dict[str, frozenset[str]] = {}

    def allow(self, service_full_name: str, rules: Mapping[str, frozenset[str]]) -> None:
        for method, roles in rules.items():
            self._rules[f"/{service_full_name}/{method}"] = frozenset(roles)

    def roles_for(self, full_method: str) -> frozenset[str]:
        return self._rules.get(full_method, STAFF)


class PlatformHandlers(grpc.GenericRpcHandler):
    """The platform services' handlers (added with ``add``), each behind the platform's checks."""

    def __init__(self, verifier: TokenVerifier, policy: AccessPolicy) -> None:
        self._verifier = verifier
        self._policy = policy
        self._services: list[grpc.GenericRpcHandler] = []
        self._routes: dict[str, _Route] = {}

    def add(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._services.extend(handlers)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        route = self._routes.get(method)
        if route is None:
            handler = next(
                (found for s in self._services if (found := s.service(handler_call_details)) is not None), None
            )
            if handler is None:
                return None  # not a platform service's method: health, reflection, or unknown
            route = self._routes[method] = _Route(method, handler, self._policy.roles_for(method))
        authorization: str | None = None
        request_id: str | None = None
        for key, value in handler_call_details.invocation_metadata or ():
            if key == "authorization":
                authorization = value
            elif key == "x-request-id":
                request_id = value
        caller: Caller
        try:
            caller = self._verifier.from_authorization(authorization)
            require_roles(caller, route.roles)
        except PlatformError as exc:
            caller = exc
        return route.for_call(caller, request_id)


# Per kind of method: the RpcMethodHandler attribute that holds it, its grpc_type label,
# the factory that makes a handler of that kind, and whether it answers with a stream.
_KINDS = (
    ("unary_unary", "unary", grpc.unary_unary_rpc_method_handler, False),
    ("stream_unary", "client_stream", grpc.stream_unary_rpc_method_handler, False),
    ("unary_stream", "server_stream", grpc.unary_stream_rpc_method_handler, True),
    ("stream_stream", "bidi_stream", grpc.stream_stream_rpc_method_handler, True),
)


class _Route:
    """One method of a service: its handler, who may call it, its metrics."""

    __slots__ = ("_behavior", "_handled", "_make", "_ok", "_run", "_seconds", "_started", "full", "handler", "roles")

    def __init__(self, full: str, handler: grpc.RpcMethodHandler, roles: frozenset[str]) -> None:
        _, service, method = full.split("/", 2)
        self.full = full
        self.handler = handler
        self.roles = roles
        kind, grpc_type, self._make, streams = next(k for k in _KINDS if getattr(handler, k[0]))
        self._behavior = getattr(handler, kind)
        self._run: Callable[..., Any] = self._streaming if streams else self._unary
        self._started = GRPC_STARTED.labels(grpc_type, service, method)
        self._seconds = GRPC_HANDLING_SECONDS.labels(grpc_type, service, method)
        self._ok = GRPC_HANDLED.labels(grpc_type, service, method, "OK")
        self._handled: Callable[[str], Any] = lambda code: GRPC_HANDLED.labels(grpc_type, service, method, code)

    def for_call(self, caller: Caller, request_id: str | None) -> grpc.RpcMethodHandler:
        return self._make(  # type: ignore[no-any-return]
            functools.partial(self._run, caller, request_id),
            request_deserializer=self.handler.request_deserializer,
            response_serializer=self.handler.response_serializer,
        )

    @staticmethod
    def _enter(caller: Caller, request_id: str | None, context: ServicerContext, tokens: list[Any]) -> None:
        if request_id is None:
            # The caller sent none: it learns the one its call is logged under from the trailers.
            request_id = new_request_id()
            context.set_trailing_metadata((("x-request-id", request_id),))
        tokens.append(request_id_var.set(request_id))
        tokens.append(time_left_var.set(context.time_remaining))
        if isinstance(caller, PlatformError):
            raise caller
        tokens.append(set_principal(caller))

    async def _unary(self, caller: Caller, request_id: str | None, request: Any, context: ServicerContext) -> Any:
        self._started.inc()
        start = time.perf_counter()
        failed = False
        tokens: list[Any] = []
        try:
            self._enter(caller, request_id, context, tokens)
            return await self._behavior(request, context)
        except Exception as exc:
            failed = True
            await self._answer_error(context, exc)
        finally:
            self._finish(_code_name(context) if failed else "OK", start, tokens)

    async def _streaming(
        self, caller: Caller, request_id: str | None, request: Any, context: ServicerContext
    ) -> AsyncIterator[Any]:
        self._started.inc()
        start = time.perf_counter()
        failed = False
        tokens: list[Any] = []
        try:
            self._enter(caller, request_id, context, tokens)
            async for item in self._behavior(request, context):
                yield item
        except Exception as exc:
            failed = True
            await self._answer_error(context, exc)
        finally:
            self._finish(_code_name(context) if failed else "OK", start, tokens)

    async def _answer_error(self, context: ServicerContext, exc: Exception) -> None:
        """Ends a call whose handler raised, through grpc's abort (which raises AbortError); the
        status it sets is what the call is counted under. A platform error is answered with its status,
        a dependency that is down with UNAVAILABLE, anything else with INTERNAL; an abort the
        handler made itself stands."""
        if isinstance(exc, grpc.aio.AbortError):
            raise exc
        if isinstance(exc, PlatformError):
            await context.abort_with_status(to_grpc_status(exc))
        await _internal(context, self.full, exc)

    def _finish(self, code: str, start: float, tokens: list[Any]) -> None:
        elapsed = time.perf_counter() - start
        self._seconds.observe(elapsed)
        (self._ok if code == "OK" else self._handled(code)).inc()
        if access_log.isEnabledFor(logging.INFO):
            access_log.info("%s %s %.1fms request_id=%s", self.full, code, elapsed * 1000, request_id_var.get())
        for token in reversed(tokens):
            token.var.reset(token)


def _code_name(context: ServicerContext) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "UNKNOWN"


async def _internal(context: ServicerContext, method: str, exc: Exception) -> None:
    if is_transient(exc):
        # A database or broker that is down is the caller's cue to retry, not a bug.
        log.warning("%s: dependency unavailable: %r (request %s)", method, exc, request_id_var.get())
        await context.abort(grpc.StatusCode.UNAVAILABLE, "a dependency is unavailable; retry with backoff")
    log.exception("unhandled error in %s (request %s)", method, request_id_var.get())
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error; request id {request_id_var.get()}")
