from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_platform.db import Database
from crm_platform.testing import Databases
from interactions.directory import Match, NewLead

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@pytest.fixture(scope="session")
async def db(databases: Databases) -> AsyncIterator[Database]:
    url = await databases.migrated("interactions_unit", MIGRATIONS)
    database = Database(url, pool_size=20)
    yield database
    await database.dispose()


class FakeDirectory:
    """partners as the tests need it: known contacts, and leads created once per request_id."""

    def __init__(self) -> None:
        self.contacts: dict[str, Match] = {}
        self.leads: dict[str, NewLead] = {}

    async def resolve(self, *, phone: str = "", email: str = "") -> Match | None:
        return self.contacts.get(phone or email)

    async def create_lead(
        self, *, request_id: str, name: str, phone: str, email: str, source: str, subject: str, responsible_id: str
    ) -> NewLead:
        if request_id not in self.leads:
            self.leads[request_id] = NewLead(uuid.uuid4(), f"Лід: {name}")
        return self.leads[request_id]


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()
