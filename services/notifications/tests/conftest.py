from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_platform.db import Database
from crm_platform.testing import Databases

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture(scope="session")
async def db(databases: Databases) -> AsyncIterator[Database]:
    database = Database(await databases.migrated("notifications_unit", MIGRATIONS), pool_size=4)
    yield database
    await database.dispose()
