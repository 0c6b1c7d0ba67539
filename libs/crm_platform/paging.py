"""Keyset paging: the page token carries the sort key and id of the last row served."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass

from crm_platform.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class PageToken:
    key: str
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps({"k": self.key, "i": str(self.id)}, ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, field: str = "page.page_token") -> PageToken | None:
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
            return cls(str(data["k"]), uuid.UUID(data["i"]))
        except (ValueError, KeyError, TypeError):
            raise InvalidArgument.single(field, "not a page token this service issued") from None


def page_size(requested: int, field: str = "page.page_size") -> int:
    if requested < 0 or requested > MAX_PAGE_SIZE:
        raise InvalidArgument.single(field, f"must be between 0 and {MAX_PAGE_SIZE}")
    return requested or DEFAULT_PAGE_SIZE
