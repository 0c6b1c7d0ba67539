"""Errors a use case raises; the gRPC and HTTP layers map them to status codes.

Domain code raises these and never imports grpc; ``crm_platform.grpc_errors`` turns
them into statuses with ``google.rpc`` details.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class PlatformError(Exception):
    """Base of every error that is the caller's to fix or to know about."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(PlatformError):
    def __init__(self, violations: list[FieldViolation]) -> None:
        if not violations:
            raise ValueError("InvalidArgument needs at least one violation")
        self.violations = list(violations)
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))

    @classmethod
    def single(cls, field: str, description: str) -> InvalidArgument:
        return cls([FieldViolation(field, description)])


class NotFound(PlatformError):
    pass


class AlreadyExists(PlatformError):
    pass


class FailedPrecondition(PlatformError):
    """A business rule forbids this now, e.g. a stage that cannot be skipped."""

    def __init__(self, message: str, *, rule: str = "") -> None:
        super().__init__(message)
        self.rule = rule


class PermissionDenied(PlatformError):
    pass


class Unauthenticated(PlatformError):
    pass


class Unavailable(PlatformError):
    """A dependency is down; the caller may retry."""


class Violations:
    """Collects field violations so a caller learns of every bad field at once."""

    def __init__(self) -> None:
        self._items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self._items.append(FieldViolation(field, description))

    def __bool__(self) -> bool:
        return bool(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise InvalidArgument(self._items)
