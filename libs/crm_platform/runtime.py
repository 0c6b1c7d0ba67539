"""Runs one service: its gRPC server, Kafka subscribers, outbox relay and HTTP endpoint,
on one event loop, with a graceful shutdown on SIGTERM.

Shutdown order: health NOT_SERVING (load balancers stop sending), the gRPC server stops
taking calls and finishes in-flight ones within the grace, subscribers stop (each
finishes its message and commits its offset), the outbox is flushed, then connections
close.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
from starlette.routing import BaseRoute

from crm_platform.auth import TokenVerifier
from crm_platform.db import Database
from crm_platform.events import DomainEvent
from crm_platform.grpc_client import ServiceClient, ServiceCredentials
from crm_platform.grpc_server import GrpcService, build_server, set_serving
from crm_platform.http import build_app, embedded_server
from crm_platform.logging_setup import configure_logging
from crm_platform.messaging import EventConsumer, broker_sender, ensure_topics, make_broker
from crm_platform.migrations import upgrade
from crm_platform.outbox import OutboxRelay
from crm_platform.settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass
class Components:
    """What a service adds to the runtime."""

    grpc: list[GrpcService]
    routes: Sequence[BaseRoute] = ()
    background: Sequence[Callable[[], Awaitable[None]]] = ()
    on_stop: Sequence[Callable[[], Awaitable[None]]] = ()


@dataclass
class ServiceSpec:
    name: str
    migrations_dir: Path
    build: Callable[[Runtime], Awaitable[Components]]
    publishes: Sequence[type[DomainEvent]] = ()
    consumer: EventConsumer | None = None
    extra_topics: Sequence[str] = field(default_factory=tuple)


class Runtime:
    """The shared resources of a running service, handed to its wiring code."""

    def __init__(self, spec: ServiceSpec, settings: ServiceSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.db = Database(settings.db_url, pool_size=settings.database_pool_size)
        self.broker = make_broker(
            settings.kafka_bootstrap, client_id=spec.name, graceful_timeout=settings.shutdown_grace_seconds
        )
        self.redis = aioredis.from_url(settings.redis_url)
        self.relay = OutboxRelay(
            self.db.engine,
            broker_sender(self.broker),
            lock_name=spec.name,
            batch_size=settings.outbox_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
            idle_poll_seconds=settings.outbox_idle_poll_seconds,
        )
        self.db.after_commit.append(self.relay.wake)
        self.verifier = TokenVerifier(settings.jwt_secret.get_secret_value(), settings.jwt_issuer)
        self.credentials = ServiceCredentials(settings.jwt_secret.get_secret_value(), spec.name, settings.jwt_issuer)
        self._clients: list[ServiceClient] = []
        self.stopping = asyncio.Event()

    def client(self, address: str) -> ServiceClient:
        client = ServiceClient(address, self.credentials)
        self._clients.append(client)
        return client

    async def readiness(self) -> dict[str, bool]:
        return {
            "database": await self.db.ping(),
            "kafka": self.broker.running,
            "accepting": not self.stopping.is_set(),
        }

    async def close_clients(self) -> None:
        for client in self._clients:
            await client.close()


async def serve(spec: ServiceSpec, settings: ServiceSettings) -> None:
    runtime = Runtime(spec, settings)
    topics = [event.TOPIC for event in spec.publishes] + list(spec.extra_topics)
    if spec.consumer is not None:
        topics += spec.consumer.topics
    if settings.kafka_create_topics:
        await ensure_topics(
            settings.kafka_bootstrap,
            topics,
            partitions=settings.kafka_topic_partitions,
            replication=settings.kafka_topic_replication,
        )
    if spec.consumer is not None:
        spec.consumer.attach(
            runtime.broker,
            runtime.db,
            group_id=settings.group_id,
            max_attempts=settings.consumer_max_attempts,
            backoff_seconds=settings.consumer_backoff_seconds,
        )
    components = await spec.build(runtime)
    server, health, port = await build_server(
        components.grpc, runtime.verifier, f"{settings.grpc_host}:{settings.grpc_port}"
    )
    http = embedded_server(build_app(runtime.readiness, components.routes), settings.http_host, settings.http_port)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runtime.stopping.set)

    await server.start()
    await runtime.broker.start()
    runtime.relay.start()
    http_task = asyncio.create_task(http.serve(), name="http")
    background = [asyncio.create_task(job(), name=getattr(job, "__name__", "job")) for job in components.background]
    await set_serving(health, components.grpc, True)
    log.info(
        "%s serving gRPC on %s:%d, HTTP on %s:%d",
        spec.name,
        settings.grpc_host,
        port,
        settings.http_host,
        settings.http_port,
    )

    await runtime.stopping.wait()
    log.info("%s shutting down", spec.name)
    await set_serving(health, components.grpc, False)
    await server.stop(settings.shutdown_grace_seconds)
    for task in background:
        task.cancel()
    # Each step is bounded: a stop signal that lands while the consumer group is rebalancing
    # can leave aiokafka waiting on the group. Nothing is lost by going on: offsets not
    # committed are read again after the restart, and the inbox makes that harmless.
    await _bounded(asyncio.gather(*background, return_exceptions=True), settings, "background jobs")
    await _bounded(runtime.broker.stop(), settings, "the Kafka consumers and producer")
    await runtime.relay.stop(flush_timeout=min(5.0, settings.shutdown_grace_seconds))
    for hook in components.on_stop:
        await hook()
    http.should_exit = True
    await http_task
    await runtime.close_clients()
    await runtime.redis.aclose()
    await runtime.db.dispose()
    log.info("%s stopped", spec.name)


async def _bounded(step: Awaitable[object], settings: ServiceSettings, what: str) -> None:
    try:
        await asyncio.wait_for(step, settings.shutdown_grace_seconds)
    except TimeoutError:
        log.warning("%s did not stop within %.0f s; going on with the shutdown", what, settings.shutdown_grace_seconds)


def main(spec: ServiceSpec, argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {spec.name}")
    parser.add_argument("--migrate", action="store_true", help="migrate the database, then serve")
    parser.add_argument("--migrate-only", action="store_true", help="migrate the database and exit")
    args = parser.parse_args(argv)
    settings = ServiceSettings(service=spec.name)
    configure_logging(spec.name, settings.log_level)
    if args.migrate or args.migrate_only:
        upgrade(spec.migrations_dir, settings.db_url)
        log.info("%s database migrated", spec.name)
    if args.migrate_only:
        return
    if settings.profile_to:
        _serve_profiled(spec, settings, Path(settings.profile_to))
    else:
        asyncio.run(serve(spec, settings))


def _serve_profiled(spec: ServiceSpec, settings: ServiceSettings, target: Path) -> None:
    """Runs the service under cProfile and writes the stats on shutdown (for `python -m pstats`).
    Everything runs on the event loop's thread, so the profile sees the service's own CPU time."""
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(serve(spec, settings))
    finally:
        profiler.disable()
        profiler.dump_stats(target)
        log.info("profile written to %s", target)
