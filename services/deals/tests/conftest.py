from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_platform.db import Database
from crm_platform.testing import Databases
from deals.events import InboundPartnerRegistered, remember_partner

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture(scope="session")
async def db(databases: Databases) -> AsyncIterator[Database]:
    database = Database(await databases.migrated("deals_unit", MIGRATIONS), pool_size=4)
    yield database
    await database.dispose()


class Partners:
    """Registers partners in deals' copy, the way partners' events do."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def known(self, name: str = "ТОВ «Зоря Агро»", *, segment: str = "Оптові покупці") -> uuid.UUID:
        partner_id = uuid.uuid4()
        event = InboundPartnerRegistered(
            partner_id=partner_id, name=name, manager_id="olena.kovalenko", segment=segment
        )
        async with self.db.transaction() as session:
            await remember_partner(session, event, None)  # type: ignore[arg-type]
        return partner_id


@pytest.fixture
def partners_copy(db: Database) -> Partners:
    return Partners(db)
