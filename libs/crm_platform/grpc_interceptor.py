"""One server interceptor for request ids, authentication, authorisation, metrics,
logging and error mapping.

They are one wrapper rather than a chain of five because every layer of a grpc.aio
interceptor chain wraps the handler again on every call; a single wrapper, built once per
method and cached, keeps the per-call overhead to one coroutine frame.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import grpc
from grpc.aio import ServicerContext

from crm_platform.auth import STAFF, Principal, TokenVerifier, require_roles, set_principal
from crm_platform.errors import PlatformError
from crm_platform.faults import is_transient
from crm_platform.grpc_errors import to_grpc_status
from crm_platform.metrics import GRPC_HANDLED, GRPC_HANDLING_SECONDS, GRPC_STARTED
from crm_platform.request_context import deadline_var, new_request_id, request_id_var

access_log = logging.getLogger("crm.access")
log = logging.getLogger(__name__)

PUBLIC_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


class AccessPolicy:
    """Which roles may call which method; methods not named take STAFF."""

    def __init__(self) -> None:
        self._rules: dict[str, frozenset[str]] = {}

    def allow(self, service_full_name: str, rules: Mapping[str, frozenset[str]]) -> None:
        for method, roles in rules.items():
            self._rules[f"/{service_full_name}/{method}"] = frozenset(roles)

    def roles_for(self, full_method: str) -> frozenset[str]:
        return self._rules.get(full_method, STAFF)


class _MethodMeta:
    __slots__ = ("full", "grpc_type", "handled", "roles", "seconds", "started")

    def __init__(self, full: str, grpc_type: str, roles: frozenset[str]) -> None:
        _, service, method = full.split("/", 2)
        self.full = full
        self.grpc_type = grpc_type
        self.roles = roles
        self.started = GRPC_STARTED.labels(grpc_type, service, method)
        self.seconds = GRPC_HANDLING_SECONDS.labels(grpc_type, service, method)
        self.handled: Callable[[str], Any] = lambda code: GRPC_HANDLED.labels(grpc_type, service, method, code)


class PlatformInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, verifier: TokenVerifier, policy: AccessPolicy) -> None:
        self._verifier = verifier
        self._policy = policy
        self._cache: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        cached = self._cache.get(method)
        if cached is not None:
            return cached
        handler = await continuation(handler_call_details)
        if handler is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        wrapped = self._wrap(method, handler)
        self._cache[method] = wrapped
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        roles = self._policy.roles_for(method)
        if handler.unary_unary:
            meta = _MethodMeta(method, "unary", roles)
            return grpc.unary_unary_rpc_method_handler(
                self._unary(meta, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary:
            meta = _MethodMeta(method, "client_stream", roles)
            return grpc.stream_unary_rpc_method_handler(
                self._unary(meta, handler.stream_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            meta = _MethodMeta(method, "server_stream", roles)
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(meta, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        meta = _MethodMeta(method, "bidi_stream", roles)
        return grpc.stream_stream_rpc_method_handler(
            self._streaming(meta, handler.stream_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _begin(self, meta: _MethodMeta, context: ServicerContext) -> tuple[Principal, list[Any]]:
        auth_header: str | None = None
        request_id: str | None = None
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                auth_header = value
            elif key == "x-request-id":
                request_id = value
        request_id = request_id or new_request_id()
        tokens: list[Any] = [request_id_var.set(request_id)]
        remaining = context.time_remaining()
        tokens.append(deadline_var.set(None if remaining is None else time.monotonic() + remaining))
        context.set_trailing_metadata((("x-request-id", request_id),))
        principal = self._verifier.from_authorization(auth_header)
        require_roles(principal, meta.roles)
        tokens.append(set_principal(principal))
        return principal, tokens

    def _unary(self, meta: _MethodMeta, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def call(request: Any, context: ServicerContext) -> Any:
            meta.started.inc()
            start = time.perf_counter()
            code = "OK"
            tokens: list[Any] = []
            try:
                _, tokens = self._begin(meta, context)
                return await behavior(request, context)
            except PlatformError as exc:
                status = to_grpc_status(exc)
                code = status.code.name
                await context.abort_with_status(status)
            except grpc.aio.AbortError:
                code = _code_name(context)
                raise
            except Exception as exc:
                code = "UNAVAILABLE" if is_transient(exc) else "INTERNAL"
                await _internal(context, meta.full, exc)
            finally:
                _finish(meta, code, start, tokens)

        return call

    def _streaming(
        self, meta: _MethodMeta, behavior: Callable[..., AsyncIterator[Any]]
    ) -> Callable[..., AsyncIterator[Any]]:
        async def call(request: Any, context: ServicerContext) -> AsyncIterator[Any]:
            meta.started.inc()
            start = time.perf_counter()
            code = "OK"
            tokens: list[Any] = []
            try:
                _, tokens = self._begin(meta, context)
                async for item in behavior(request, context):
                    yield item
            except PlatformError as exc:
                status = to_grpc_status(exc)
                code = status.code.name
                await context.abort_with_status(status)
            except grpc.aio.AbortError:
                code = _code_name(context)
                raise
            except Exception as exc:
                code = "UNAVAILABLE" if is_transient(exc) else "INTERNAL"
                await _internal(context, meta.full, exc)
            finally:
                _finish(meta, code, start, tokens)

        return call


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


def _finish(meta: _MethodMeta, code: str, start: float, tokens: list[Any]) -> None:
    elapsed = time.perf_counter() - start
    meta.seconds.observe(elapsed)
    meta.handled(code).inc()
    if access_log.isEnabledFor(logging.INFO):
        access_log.info("%s %s %.1fms request_id=%s", meta.full, code, elapsed * 1000, request_id_var.get())
    for token in reversed(tokens):
        token.var.reset(token)
