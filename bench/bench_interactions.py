"""interactions over gRPC against a real service process: a user's month calendar and the
unprocessed lists with 1,000,000 interactions stored, and bookings per second when many
clients race for the same specialists' slots (PostgreSQL's exclusion constraint decides)."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import grpc
from crm.common.v1 import common_pb2
from crm.interactions.v1 import interactions_pb2 as pb
from crm.interactions.v1 import interactions_pb2_grpc as pb_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from bench.common import describe, run_load, timed
from crm_platform.ids import new_id
from crm_platform.localrun import STATE, ServiceProcess
from crm_platform.migrations import upgrade
from crm_platform.testing import ADMIN_DSN, auth, db_url, free_port

INTERACTIONS = 1_000_000
EVENTS = 200_000
USERS = 200
REPEAT = 200
KYIV = ZoneInfo("Europe/Kyiv")
MIGRATIONS = Path(__file__).resolve().parents[1] / "services/interactions/migrations"
TITLES = ["Дзвінок щодо оплати", "Зустріч з агрономом", "Лист з комерційною пропозицією", "SMS про відвантаження"]
KINDS = ["incoming_call", "outgoing_call", "meeting", "email", "sms", "planned", "other"]


def users() -> list[str]:
    return [f"manager.{i:03d}" for i in range(USERS)]


async def load_interactions(conn: asyncpg.Connection, now: datetime) -> None:
    rnd = random.Random(7)
    people = users()
    columns = [
        "id", "kind", "chain_id", "title", "description", "participants", "status",
        "importance", "responsible_id", "occurred_at", "created_at",
    ]  # fmt: skip
    batch: list[tuple[object, ...]] = []
    for i in range(INTERACTIONS):
        occurred = now - timedelta(minutes=rnd.randrange(3 * 365 * 24 * 60))
        row_id = new_id()
        # about 5% still unprocessed, mostly recent ones
        status = (
            "new"
            if (rnd.random() < 0.05 or (occurred > now - timedelta(days=7) and rnd.random() < 0.5))
            else "processed"
        )
        batch.append(
            (
                row_id,
                KINDS[i % len(KINDS)],
                row_id,
                TITLES[i % len(TITLES)],
                "",
                "[]",
                status,
                "normal",
                people[rnd.randrange(USERS)],
                occurred,
                occurred,
            )
        )
        if len(batch) == 50_000:
            await conn.copy_records_to_table("interaction", records=batch, columns=columns)
            batch.clear()
    if batch:
        await conn.copy_records_to_table("interaction", records=batch, columns=columns)


async def load_events(conn: asyncpg.Connection, now: datetime) -> None:
    rnd = random.Random(11)
    people = users()
    columns = [
        "id", "owner_id", "title", "description", "location", "starts_at", "ends_at", "time_zone",
        "recurrence", "series_ends_at", "state", "created_at",
    ]  # fmt: skip
    records = []
    for i in range(EVENTS):
        start = (now - timedelta(days=730) + timedelta(minutes=30 * rnd.randrange(3 * 365 * 48))).replace(second=0)
        end = start + timedelta(minutes=rnd.choice((30, 45, 60, 90)))
        recurring = rnd.random() < 0.02  # about 20 weekly series per user
        rule, series_end = ("FREQ=WEEKLY;BYDAY=MO,TH", None) if recurring else ("", end)
        state = "cancelled" if i % 17 == 0 else "planned"
        records.append(
            (
                new_id(),
                people[i % USERS],
                "Зустріч з клієнтом",
                "",
                "",
                start,
                end,
                "Europe/Kyiv",
                rule,
                series_end,
                state,
                now,
            )
        )
    await conn.copy_records_to_table("calendar_event", records=records, columns=columns)


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


async def reads(address: str) -> None:
    people = users()
    rnd = random.Random(3)
    today = date.today()
    async with grpc.aio.insecure_channel(address) as channel:
        api = pb_grpc.InteractionsServiceStub(channel)
        cal = pb_grpc.CalendarServiceStub(channel)

        async def month() -> None:
            day = today - timedelta(days=rnd.randrange(365))
            await cal.ListCalendar(
                pb.ListCalendarRequest(
                    owner_id=rnd.choice(people),
                    view=pb.CALENDAR_VIEW_MONTH,
                    date=day.isoformat(),
                    time_zone="Europe/Kyiv",
                ),
                metadata=auth(),
            )

        async def mine() -> None:
            await api.ListUnprocessed(
                pb.ListUnprocessedRequest(responsible_id=rnd.choice(people), page=common_pb2.PageRequest(page_size=50)),
                metadata=auth(),
            )

        async def everyone() -> None:
            await api.ListUnprocessed(
                pb.ListUnprocessedRequest(page=common_pb2.PageRequest(page_size=50)), metadata=auth()
            )

        async def counts() -> None:
            await api.CountUnprocessed(pb.CountUnprocessedRequest(), metadata=auth())

        for warm in (month, mine, everyone, counts):
            await timed(warm, 5)
        print(f"month calendar of a user ({EVENTS:,} events stored): {describe(await timed(month, REPEAT))}")
        print(
            f"unprocessed list of a user, page of 50 ({INTERACTIONS:,} stored): {describe(await timed(mine, REPEAT))}"
        )
        print(f"unprocessed list overall, page of 50: {describe(await timed(everyone, REPEAT))}")
        print(f"unprocessed counts per user: {describe(await timed(counts, 50))}")
        concurrent = await run_load(mine, concurrency=16, seconds=8)
        print(f"unprocessed list of a user, 16 concurrent clients: {concurrent.summary()}")


async def bookings(address: str, conn: asyncpg.Connection) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.AppointmentsServiceStub(channel)
        hours = [pb.WorkingHours(weekday=d, start="09:00", end="18:00") for d in range(1, 8)]
        specialists = [
            (
                await stub.CreateSpecialist(
                    pb.CreateSpecialistRequest(name=f"Спеціаліст {i}", time_zone="Europe/Kyiv", hours=hours),
                    metadata=auth(),
                )
            ).id
            for i in range(10)
        ]
        offering = (
            await stub.CreateOffering(
                pb.CreateOfferingRequest(name="Консультація", duration_minutes=30), metadata=auth()
            )
        ).id
        first_day = datetime.now(KYIV).date() + timedelta(days=1)
        starts = [
            datetime.combine(first_day + timedelta(days=d), datetime.min.time(), KYIV).replace(hour=9)
            + timedelta(minutes=m)
            for d in range(2)
            for m in range(0, 9 * 60 - 30 + 1, 15)  # starts every 15 min for 30-minute visits: neighbours overlap too
        ]
        outcome = {"ok": 0, "taken": 0}
        rnd = random.Random(5)

        async def book() -> None:
            try:
                await stub.BookAppointment(
                    pb.BookAppointmentRequest(
                        request_id=str(uuid.uuid4()),
                        specialist_id=rnd.choice(specialists),
                        offering_id=offering,
                        starts_at=stamp(rnd.choice(starts)),
                        client_name="Клієнт",
                    ),
                    metadata=auth(),
                )
                outcome["ok"] += 1
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
                outcome["taken"] += 1

        result = await run_load(book, concurrency=32, seconds=15)
        overlaps = await conn.fetchval(
            """SELECT count(*) FROM appointment a JOIN appointment b
               ON a.specialist_id = b.specialist_id AND a.id < b.id AND a.period && b.period
               WHERE a.status = 'booked' AND b.status = 'booked'"""
        )
        print(
            f"booking under contention (10 specialists, {len(starts)} overlapping starts each, 32 clients): "
            f"{result.summary()} booking attempts; {outcome['ok']:,} booked "
            f"({outcome['ok'] / result.seconds:,.0f}/s until the slots ran out), {outcome['taken']:,} refused "
            f"as taken (ALREADY_EXISTS), overlapping bookings stored: {overlaps}"
        )


async def main() -> None:
    name = f"bench_interactions_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    process: ServiceProcess | None = None
    conn: asyncpg.Connection | None = None
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, db_url(name))
        conn = await asyncpg.connect(db_url(name).replace("+asyncpg", ""))
        now = datetime.now(UTC)
        started = time.perf_counter()
        await load_interactions(conn, now)
        await load_events(conn, now)
        await conn.execute("ANALYZE")
        print(
            f"loaded {INTERACTIONS:,} interactions and {EVENTS:,} calendar events "
            f"in {time.perf_counter() - started:.0f} s"
        )
        process = ServiceProcess(
            name="interactions",
            grpc_port=free_port(),
            http_port=free_port(),
            database=name,
            log_path=STATE / "logs" / "bench-interactions.log",
            env_overrides={"CRM_KAFKA_GROUP_ID": name, "CRM_LOG_LEVEL": "WARNING", "CRM_DATABASE_POOL_SIZE": "20"},
        )
        process.start()
        await asyncio.to_thread(process.wait_serving, 90.0)
        await reads(process.address)
        await bookings(process.address, conn)
    finally:
        if process is not None:
            await asyncio.to_thread(process.stop, 15.0)
        if conn is not None:
            await conn.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
