"""Wiring of the notifications service and its entry point: python -m notifications [--migrate]."""

from __future__ import annotations

from pathlib import Path

from crm_platform.runtime import Components, Runtime, ServiceSpec, main
from notifications import api, bounces, webhooks
from notifications.channels import ChannelAdapter, SmsGatewayAdapter, SmtpAdapter
from notifications.domain import Channel
from notifications.events import PUBLISHED, consumer
from notifications.sender import Sender
from notifications.settings import NotifySettings
from notifications.throttle import TokenBucket


async def build(runtime: Runtime) -> Components:
    settings = NotifySettings()
    adapters: dict[Channel, ChannelAdapter] = {
        Channel.EMAIL: SmtpAdapter(settings),
        Channel.SMS: SmsGatewayAdapter(settings),
    }
    buckets = {
        Channel.EMAIL: TokenBucket(
            runtime.redis,
            f"email:{settings.smtp_host}:{settings.smtp_port}",
            rate_per_second=settings.email_rate_per_second,
            burst=settings.email_burst,
        ),
        Channel.SMS: TokenBucket(
            runtime.redis,
            f"sms:{settings.sms_api_url}",
            rate_per_second=settings.sms_rate_per_second,
            burst=settings.sms_burst,
        ),
    }
    sender = Sender(runtime.db, settings, adapters, buckets)
    bounce_listener = await bounces.listen(runtime.db, settings)
    runtime.db.after_commit.append(sender.wake)

    async def close_adapters() -> None:
        for adapter in adapters.values():
            await adapter.close()

    return Components(
        grpc=[api.grpc_service(runtime.db, sender.wake)],
        routes=webhooks.routes(runtime.db, settings),
        background=[sender.run],
        on_stop=[close_adapters, lambda: bounces.stop(bounce_listener)],
    )


SPEC = ServiceSpec(
    name="notifications",
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    build=build,
    publishes=PUBLISHED,
    consumer=consumer,
)


def run() -> None:
    main(SPEC)
