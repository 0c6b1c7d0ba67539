"""Bearer JWT authentication and roles.

Roles: ``manager`` and ``head`` (sales staff), ``shop`` (an online shop, bound to its
shop id), ``client`` (a partner's self-service, bound to its partner id), ``ops``
and ``service`` (other services of the platform).
"""

from __future__ import annotations

import contextvars
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

import jwt

from crm_platform.clock import utcnow
from crm_platform.errors import PermissionDenied, Unauthenticated

ALGORITHM = "HS256"


class Role(StrEnum):
    MANAGER = "manager"
    HEAD = "head"
    SHOP = "shop"
    CLIENT = "client"
    OPS = "ops"
    SERVICE = "service"


STAFF = frozenset({Role.MANAGER, Role.HEAD, Role.OPS, Role.SERVICE})
"""Who may call an RPC that names no roles of its own."""


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    roles: frozenset[str]
    name: str = ""
    shop_id: str | None = None
    partner_id: str | None = None
    claims: dict[str, object] = field(default_factory=dict, compare=False)

    def has_any(self, roles: frozenset[str]) -> bool:
        return not self.roles.isdisjoint(roles)


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)


def current_principal() -> Principal:
    principal = _current.get()
    if principal is None:
        raise Unauthenticated("no authenticated caller")
    return principal


def set_principal(principal: Principal | None) -> contextvars.Token[Principal | None]:
    return _current.set(principal)


def reset_principal(token: contextvars.Token[Principal | None]) -> None:
    _current.reset(token)


def issue_token(
    secret: str,
    subject: str,
    roles: list[str] | tuple[str, ...],
    *,
    issuer: str = "crm-platform",
    ttl: timedelta = timedelta(hours=8),
    name: str = "",
    shop_id: str | None = None,
    partner_id: str | None = None,
) -> str:
    now = utcnow()
    claims: dict[str, object] = {
        "sub": subject,
        "roles": list(roles),
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if name:
        claims["name"] = name
    if shop_id:
        claims["shop_id"] = shop_id
    if partner_id:
        claims["partner_id"] = partner_id
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class TokenVerifier:
    """Verifies bearer tokens. A token already verified is served from a bounded cache until
    it expires: the same string cannot carry other claims, and the HMAC check and JSON
    decoding were most of the platform's per-call cost."""

    CACHE_SIZE = 10_000

    def __init__(self, secret: str, issuer: str) -> None:
        self._secret = secret
        self._issuer = issuer
        self._verified: OrderedDict[str, Principal] = OrderedDict()

    def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() < float(cached.claims["exp"]):  # type: ignore[arg-type]
                return cached
            del self._verified[token]
        principal = self._decode(token)
        self._verified[token] = principal
        if len(self._verified) > self.CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    def _decode(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                options={"require": ["sub", "exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        roles = claims.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthenticated("invalid token: roles must be a list of strings")
        return Principal(
            subject=str(claims["sub"]),
            roles=frozenset(roles),
            name=str(claims.get("name", "")),
            shop_id=claims.get("shop_id"),
            partner_id=claims.get("partner_id"),
            claims=claims,
        )

    def from_authorization(self, header: str | None) -> Principal:
        if not header:
            raise Unauthenticated("missing authorization: send 'authorization: Bearer <token>'")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("authorization must be 'Bearer <token>'")
        return self.verify(token.strip())


def require_roles(principal: Principal, allowed: frozenset[str]) -> None:
    if not principal.has_any(allowed):
        raise PermissionDenied(f"requires one of the roles: {', '.join(sorted(allowed))}")
