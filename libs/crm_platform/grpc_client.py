"""Calls to other services: a deadline on every call, the caller's own deadline passed
on, UNAVAILABLE retried with backoff for idempotent calls, the request id carried along."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import grpc

from crm_platform.auth import Role, issue_token
from crm_platform.errors import Unavailable
from crm_platform.request_context import remaining_seconds, request_id_var

R = TypeVar("R")


class ServiceCredentials:
    """A service's own bearer token, renewed before it expires."""

    def __init__(self, secret: str, service: str, issuer: str, ttl: timedelta = timedelta(hours=1)) -> None:
        self._secret, self._service, self._issuer, self._ttl = secret, service, issuer, ttl
        self._token = ""
        self._renew_at = 0.0

    def token(self) -> str:
        now = time.monotonic()
        if now >= self._renew_at:
            self._token = issue_token(
                self._secret, f"service:{self._service}", [Role.SERVICE], issuer=self._issuer, ttl=self._ttl
            )
            self._renew_at = now + self._ttl.total_seconds() / 2
        return self._token


class ServiceClient:
    def __init__(
        self,
        target: str,
        credentials: ServiceCredentials,
        *,
        default_timeout: float = 5.0,
        max_attempts: int = 4,
        backoff_seconds: float = 0.1,
    ) -> None:
        self.channel = grpc.aio.insecure_channel(target)
        self._credentials = credentials
        self._default_timeout = default_timeout
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds

    async def call(
        self,
        method: Callable[..., Awaitable[R]],
        request: Any,
        *,
        idempotent: bool,
        timeout: float | None = None,
    ) -> R:
        deadline = time.monotonic() + self._timeout(timeout)
        metadata = (
            ("authorization", f"Bearer {self._credentials.token()}"),
            ("x-request-id", request_id_var.get()),
        )
        attempt = 0
        while True:
            attempt += 1
            left = deadline - time.monotonic()
            if left <= 0:
                raise Unavailable("deadline exceeded before the call could be made")
            try:
                return await method(request, timeout=left, metadata=metadata)
            except grpc.aio.AioRpcError as exc:
                retry = (
                    idempotent
                    and exc.code() == grpc.StatusCode.UNAVAILABLE
                    and attempt < self._max_attempts
                    and deadline - time.monotonic() > self._backoff * 2**attempt
                )
                if not retry:
                    raise
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))

    def _timeout(self, timeout: float | None) -> float:
        wanted = timeout or self._default_timeout
        remaining = remaining_seconds()
        return wanted if remaining is None else max(0.0, min(wanted, remaining))

    async def close(self) -> None:
        await self.channel.close()
