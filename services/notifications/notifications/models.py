"""notifications' tables."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class NotificationsTable(SQLModel, registry=registry()):
    pass
