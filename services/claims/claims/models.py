"""claims' tables."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class ClaimsTable(SQLModel, registry=registry()):
    pass
