"""pricing' tables."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class PricingTable(SQLModel, registry=registry()):
    pass
