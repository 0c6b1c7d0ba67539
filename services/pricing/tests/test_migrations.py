"""The Alembic migrations build exactly the tables the models declare."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from crm_platform.db import Database
from crm_platform.testing import Databases
from pricing.models import PricingTable

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture(scope="module")
async def db(databases: Databases) -> AsyncIterator[Database]:
    database = Database(await databases.migrated("pricing_schema", MIGRATIONS))
    yield database
    await database.dispose()


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, PricingTable.metadata)

    async with db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    ours = [d for d in differences if "outbox" not in str(d) and "inbox" not in str(d)]
    assert ours == []
    assert differences, "the platform tables, absent from these models, show up: the comparison ran"
