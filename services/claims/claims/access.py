"""Who may see and act on a claim: staff every claim, a client its own partner's only."""

from __future__ import annotations

import uuid

from claims.models import ClaimRow
from crm_platform.auth import Principal, Role
from crm_platform.errors import NotFound, PermissionDenied


def is_client(principal: Principal) -> bool:
    return Role.CLIENT in principal.roles and not principal.has_any(
        frozenset({Role.MANAGER, Role.HEAD, Role.OPS, Role.SERVICE})
    )


def client_partner(principal: Principal) -> uuid.UUID:
    """The partner a client's token is bound to."""
    try:
        return uuid.UUID(str(principal.partner_id))
    except ValueError:
        raise PermissionDenied("a client token must carry the client's partner_id") from None


def visible(claim: ClaimRow | None, principal: Principal, claim_id: uuid.UUID) -> ClaimRow:
    """The claim if the caller may see it. Another client's claim is reported as not found,
    so a client cannot learn which claim ids exist."""
    if claim is None or (is_client(principal) and claim.partner_id != client_partner(principal)):
        raise NotFound(f"claim {claim_id} not found")
    return claim
