"""Wiring of the interactions service and its entry point: python -m interactions [--migrate]."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from crm_platform.runtime import Components, Runtime, ServiceSpec, main
from crm_platform.settings import ServiceSettings
from interactions import api
from interactions.calendar import feed_route
from interactions.directory import PartnersDirectory
from interactions.events import PUBLISHED, TASK_REQUESTS_TOPIC, consumer
from interactions.intake import email_route, telephony_route
from interactions.reminders import reminder_loop


class InteractionsSettings(ServiceSettings):
    """CRM_TELEPHONY_SECRET / CRM_MAIL_SECRET: what the telephony and the mail gateway send
    in X-Telephony-Secret / X-Mail-Secret with each call or message."""

    telephony_secret: SecretStr = SecretStr("dev-only-telephony-secret")
    mail_secret: SecretStr = SecretStr("dev-only-mail-secret")
    reminder_poll_seconds: float = 0.5


async def build(runtime: Runtime) -> Components:
    settings = InteractionsSettings(service="interactions")
    directory = PartnersDirectory(runtime.client(runtime.settings.partners_addr))
    feed_secret = runtime.settings.jwt_secret.get_secret_value()
    return Components(
        grpc=api.grpc_services(runtime.db, directory, feed_secret),
        routes=[
            feed_route(runtime.db, feed_secret),
            telephony_route(runtime.db, directory, settings.telephony_secret.get_secret_value()),
            email_route(runtime.db, directory, settings.mail_secret.get_secret_value()),
        ],
        background=[reminder_loop(runtime.db, runtime.stopping, settings.reminder_poll_seconds)],
    )


SPEC = ServiceSpec(
    name="interactions",
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    build=build,
    publishes=PUBLISHED,
    consumer=consumer,
    extra_topics=(TASK_REQUESTS_TOPIC,),
)


def run() -> None:
    main(SPEC)
