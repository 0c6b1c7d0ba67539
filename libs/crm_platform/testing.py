"""pytest plugin shared by every test: the real PostgreSQL, Kafka and Redis that `make`
started, a database per test run, service processes, a Kafka probe and tokens.

Loaded by the repository's conftest.py (``pytest_plugins``).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from crm_platform.auth import issue_token
from crm_platform.localrun import ServiceProcess, other_listeners
from crm_platform.migrations import upgrade
from crm_platform.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("CRM_STATE_DIR", REPO / ".local"))
PG_PORT = os.environ.get("CRM_PG_PORT", "55432")
KAFKA = f"127.0.0.1:{os.environ.get('CRM_KAFKA_PORT', '19092')}"
REDIS = f"redis://127.0.0.1:{os.environ.get('CRM_REDIS_PORT', '56379')}/15"
ADMIN_DSN = f"postgresql://crm:crm@127.0.0.1:{PG_PORT}/postgres"


def db_url(name: str) -> str:
    return f"postgresql+asyncpg://crm:crm@127.0.0.1:{PG_PORT}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token(role: str = "manager", **claims: str) -> str:
    settings = ServiceSettings(service="tests")
    secret = settings.jwt_secret.get_secret_value()
    return issue_token(secret, f"test-{role}", [role], issuer=settings.jwt_issuer, **claims)  # type: ignore[arg-type]


def auth(role: str = "manager", **claims: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token(role, **claims)}"),)


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:8]


class Databases:
    """Creates databases named t_<run>_<name> on demand; drops them at the end. Each
    statement opens its own connection, so a test that restarts PostgreSQL breaks nothing."""

    def __init__(self, run_id: str) -> None:
        self._run_id = run_id
        self.created: list[str] = []

    async def _admin(self, statement: str) -> None:
        conn = await asyncpg.connect(ADMIN_DSN, timeout=10)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    async def ensure(self, name: str) -> str:
        full = f"t_{self._run_id}_{name}"
        if full not in self.created:
            await self._admin(f'CREATE DATABASE "{full}"')
            self.created.append(full)
        return full

    async def migrated(self, name: str, migrations_dir: Path) -> str:
        """URL of a database at the newest revision of migrations_dir."""
        url = db_url(await self.ensure(name))
        await asyncio.to_thread(upgrade, migrations_dir, url)
        return url

    async def drop_all(self) -> None:
        for name in self.created:
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def databases(run_id: str) -> AsyncIterator[Databases]:
    try:
        await (await asyncpg.connect(ADMIN_DSN, timeout=5)).close()
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.exit(f"PostgreSQL is not reachable on port {PG_PORT} ({exc}); run `make stack` first", returncode=3)
    registry = Databases(run_id)
    yield registry
    await registry.drop_all()


@dataclass
class Services:
    run_id: str
    databases: Databases
    started: list[ServiceProcess]
    addresses: dict[str, int]

    async def start(
        self, name: str, *, instance: str = "", database: str = "", env: dict[str, str] | None = None
    ) -> ServiceProcess:
        """Starts `python -m <name> --migrate` against this run's database (the service's
        own, or `database` to keep an instance apart) and the shared topics."""
        database = await self.databases.ensure(database or name)
        process = ServiceProcess(
            name=name,
            grpc_port=free_port(),
            http_port=free_port(),
            database=database,
            log_path=STATE / "logs" / "tests" / f"{self.run_id}-{name}{instance}.log",
            env_overrides={
                # One consumer group per database: instances sharing a database are replicas
                # and split the work; instances with databases of their own each see everything.
                "CRM_KAFKA_GROUP_ID": database,
                "CRM_LOG_LEVEL": "INFO",
                "CRM_SHUTDOWN_GRACE_SECONDS": "5",
                **other_listeners(name, lambda _: free_port()),
                **(env or {}),
            },
            peers=dict(self.addresses),
        )
        process.start()
        self.started.append(process)
        await asyncio.to_thread(process.wait_serving, 90.0)
        self.addresses.setdefault(name, process.grpc_port)
        return process


@pytest.fixture(scope="session")
async def services(run_id: str, databases: Databases) -> AsyncIterator[Services]:
    registry = Services(run_id, databases, [], {})
    yield registry
    for process in registry.started:
        await asyncio.to_thread(process.stop, 15.0)


class KafkaProbe:
    """Reads a topic from its current end (or its beginning), for asserting what gets published."""

    def __init__(self, topic: str, *, from_beginning: bool = False) -> None:
        self.topic = topic
        self.from_beginning = from_beginning
        self.seen: list[ConsumerRecord[bytes, bytes]] = []
        self._consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)

    async def __aenter__(self) -> KafkaProbe:
        admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
        await admin.start()
        try:
            described = await admin.describe_topics([self.topic])
        finally:
            await admin.close()
        partitions = [p["partition"] for p in described[0].get("partitions", [])]
        if not partitions:
            raise LookupError(f"topic {self.topic} does not exist")
        await self._consumer.start()
        assignment = [TopicPartition(self.topic, p) for p in partitions]
        self._consumer.assign(assignment)
        if self.from_beginning:
            await self._consumer.seek_to_beginning(*assignment)
        else:
            await self._consumer.seek_to_end(*assignment)
        for tp in assignment:  # resolve positions now, so later messages are all seen
            await self._consumer.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def wait_for(
        self, predicate: Callable[[ConsumerRecord[bytes, bytes]], bool], timeout: float = 30.0
    ) -> ConsumerRecord[bytes, bytes]:
        """The first record, seen so far or arriving within timeout, that matches."""
        deadline = asyncio.get_running_loop().time() + timeout
        checked = 0
        while True:
            for record in self.seen[checked:]:
                if predicate(record):
                    return record
            checked = len(self.seen)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no matching record on {self.topic} within {timeout}s")
            await self._poll(min(left, 0.5))

    async def collect(self, seconds: float) -> list[ConsumerRecord[bytes, bytes]]:
        """Everything seen so far plus what arrives within seconds."""
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            await self._poll(min(left, 0.5))
        return list(self.seen)

    async def _poll(self, seconds: float) -> None:
        batch = await self._consumer.getmany(timeout_ms=int(seconds * 1000))
        for records in batch.values():
            self.seen.extend(records)


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers:
        if key == name:
            return value.decode()
    return None


@pytest.fixture
async def kafka_producer() -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", enable_idempotence=True)
    await producer.start()
    yield producer
    await producer.stop()


async def delete_topics(*topics: str) -> None:
    """Removes topics a test made for itself (each with its dead-letter twin)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        await admin.delete_topics([name for topic in topics for name in (topic, topic + ".dlq")])
    finally:
        await admin.close()


def kafka_ctl(action: str) -> None:
    """Stops or starts the real broker (for tests of what survives its outage)."""
    subprocess.run([str(REPO / "deploy/local/kafka.sh"), action], check=True, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return KAFKA


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS
