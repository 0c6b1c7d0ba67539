"""Use cases, repository and event handlers against PostgreSQL; file storage on disk."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from claims.domain import ActivityStatus, ClaimantKind, ClaimData
from claims.events import (
    InteractionRegistered,
    Subject,
    TaskChecked,
    TaskDone,
    interaction_registered,
    task_checked,
    task_done,
)
from claims.files import ClaimFiles, UploadStart
from claims.plan import add_activity
from claims.registration import register_claim
from claims.repository import ActivityRepository, ClaimRepository, InteractionRepository
from claims.storage import LocalStorage
from crm_platform.auth import Principal
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument
from crm_platform.events import Envelope
from crm_platform.testing import Databases

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
HEAD = Principal(subject="iryna.bondarenko", roles=frozenset({"head"}))


@pytest.fixture(scope="module")
async def db(databases: Databases) -> AsyncIterator[Database]:
    database = Database(await databases.migrated("claims_store", MIGRATIONS))
    yield database
    await database.dispose()


def data(partner: uuid.UUID | None = None) -> ClaimData:
    return ClaimData(
        partner_id=str(partner or uuid.uuid4()),
        claimant_kind=ClaimantKind.SUPPLIER,
        contact_person="Мельник Андрій",
        culprit_department="Бухгалтерія",
        culprit_employee_id="",
        essence="Оплату за поставку №44 затримано на 20 днів",
        reason_codes=("price_dispute",),
        desired_result="Оплата та пеня",
        deal_id=None,
        order_id=None,
        responsible_id="",
        manager_id="",
    )


def envelope() -> Envelope:
    return Envelope(str(uuid.uuid4()), "t", "test", "k", datetime.now(UTC), b"")


async def test_numbers_follow_each_other_and_one_request_id_registers_once(db: Database) -> None:
    first = await register_claim(db, data(), registered_by="staff", user="u", request_id=None)
    second = await register_claim(db, data(), registered_by="staff", user="u", request_id=None)
    assert second.number == first.number + 1
    request_id = str(uuid.uuid4())
    together = await asyncio.gather(
        *(register_claim(db, data(), registered_by="staff", user="u", request_id=request_id) for _ in range(4))
    )
    assert len({c.id for c in together}) == 1


async def test_task_events_move_the_activity_and_the_claims_version(db: Database) -> None:
    claim = await register_claim(db, data(), registered_by="staff", user="u", request_id=None)
    claim = await add_activity(
        db,
        HEAD,
        claim.id,
        request_id=None,
        name="Звірка",
        description="",
        performer_id="p",
        checker_id="c",
        due_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    async with db.reading() as session:
        activity = (await ActivityRepository(session).of_claim(claim.id))[0]
    request_id = f"claims:{claim.id}:{activity.id}"
    done = TaskDone(task_id="t-1", request_id=request_id, done_at=datetime.now(UTC))
    for _ in range(2):  # the second, stale report changes nothing
        async with db.transaction() as session:
            await task_done(session, done, envelope())
    async with db.reading() as session:
        after = (await ActivityRepository(session).of_claim(claim.id))[0]
        version = (await ClaimRepository(session).get(claim.id)).version  # type: ignore[union-attr]
    assert after.status == ActivityStatus.DONE
    assert after.task_id == "t-1"
    assert version == claim.version + 1

    elsewhere = TaskChecked(
        task_id="t-2", request_id=f"claims:{uuid.uuid4()}:{activity.id}", accepted=True, checked_at=datetime.now(UTC)
    )
    async with db.transaction() as session:
        await task_checked(session, elsewhere, envelope())  # another claim's id: ignored
    async with db.reading() as session:
        assert (await ActivityRepository(session).of_claim(claim.id))[0].status == ActivityStatus.DONE


async def test_interactions_of_other_subjects_are_not_kept(db: Database) -> None:
    claim_id = uuid.uuid4()
    for service in ("claims", "deals"):
        event = InteractionRegistered(
            interaction_id=uuid.uuid4(),
            kind="email",
            subject=Subject(service=service, type="claim", id=str(claim_id)),
            occurred_at=datetime.now(UTC),
        )
        async with db.transaction() as session:
            await interaction_registered(session, event, envelope())
    async with db.reading() as session:
        kept = await InteractionRepository(session).of_claim(claim_id)
    assert [k.kind for k in kept] == ["email"]


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_local_storage_round_trip_and_no_partial_file_on_failure(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    await storage.put("a/b", chunks(b"one ", b"two"))
    assert b"".join([c async for c in storage.get("a/b", 2)]) == b"one two"

    async def broken() -> AsyncIterator[bytes]:
        yield b"half"
        raise InvalidArgument.single("chunk", "too big")

    with pytest.raises(InvalidArgument):
        await storage.put("a/c", broken())
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]
    with pytest.raises(ValueError, match="leaves"):
        await storage.put("../outside", chunks(b"x"))


async def test_verify_marks_a_changed_file_corrupt(db: Database, tmp_path: Path) -> None:
    claim = await register_claim(db, data(), registered_by="staff", user="u", request_id=None)
    files = ClaimFiles(db, LocalStorage(tmp_path), max_bytes=1000, chunk_bytes=16)
    row = await files.upload(HEAD, UploadStart(claim.id, "акт.txt", None), chunks("Акт звірки".encode()))
    await files.verify(row)
    (tmp_path / row.storage_key).write_bytes("Акт звірки!".encode())
    with pytest.raises(FailedPrecondition) as caught:
        await files.verify(row)
    assert caught.value.rule == "file_intact"
    found = await files.find(HEAD, claim.id, row.id)
    assert found.corrupt
    with pytest.raises(InvalidArgument):
        await files.upload(HEAD, UploadStart(claim.id, "big.bin", None), chunks(b"x" * 600, b"y" * 600))
