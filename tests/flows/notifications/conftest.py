"""A real SMTP server (aiosmtpd) and a real HTTP server standing in for the SMS gateway,
both in the test process, and the notifications service pointed at them."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import Services, free_port

WEBHOOK_TOKEN = "test-webhook-token"
SMS_KEY = "test-sms-api-key"


@dataclass
class Received:
    raw: bytes
    mail: EmailMessage
    rcpt: list[str]
    mail_from: str = ""


class Mailbox:
    """Every message the SMTP server accepted, in order."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        mail = message_from_bytes(raw, policy=policy.default)
        with self._lock:
            self.messages.append(Received(raw, mail, list(envelope.rcpt_tos), envelope.mail_from or ""))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if address in m.rcpt]

    def count_to(self, predicate: Callable[[str], bool]) -> Counter[str]:
        with self._lock:
            return Counter(r for m in self.messages for r in m.rcpt if predicate(r))

    async def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 30.0) -> list[Received]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            with self._lock:
                snapshot = list(self.messages)
            if predicate(snapshot):
                return snapshot
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"mailbox: condition not met within {timeout}s ({len(snapshot)} messages)")
            await asyncio.sleep(0.1)


@pytest.fixture(scope="session")
def mailbox() -> Any:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), data_size_limit=10_000_000)
    controller.start()
    box.port = controller.port  # type: ignore[attr-defined]
    yield box
    controller.stop()


@dataclass
class SmsGateway:
    """An SMS gateway in the usual shape: POST /api/v1/messages with a bearer key, an
    Idempotency-Key honoured, delivery reports POSTed to the client's webhook."""

    port: int
    webhook: str = ""
    fail_first: dict[str, int] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key → provider id
    reports: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    async def messages(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {SMS_KEY}":
            return JSONResponse({"error": "bad key"}, status_code=401)
        body = await request.json()
        key = request.headers.get("idempotency-key", "")
        self.calls.append({"key": key, **body})
        if key in self.accepted:
            return JSONResponse({"message_id": self.accepted[key]})
        if self.fail_first.get(body["to"], 0) > 0:
            self.fail_first[body["to"]] -= 1
            return JSONResponse({"error": "temporarily overloaded"}, status_code=503)
        provider_id = f"gw-{uuid.uuid4().hex[:12]}"
        self.accepted[key] = provider_id
        asyncio.get_running_loop().create_task(self._report(provider_id))
        return JSONResponse({"message_id": provider_id, "parts": 1})

    async def _report(self, provider_id: str) -> None:
        await asyncio.sleep(0.2)
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                self.webhook,
                json={"message_id": provider_id, "status": "delivered", "done_at": datetime.now(UTC).isoformat()},
                headers={"authorization": f"Bearer {WEBHOOK_TOKEN}"},
            )
            self.reports.append(answer.status_code)


@pytest.fixture(scope="session")
async def sms_gateway() -> AsyncIterator[SmsGateway]:
    gateway = SmsGateway(port=free_port())
    app = Starlette(routes=[Route("/api/v1/messages", gateway.messages, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=gateway.port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    yield gateway
    server.should_exit = True
    await task


def service_env(mailbox: Mailbox, gateway: SmsGateway, http_port: int, **extra: str) -> dict[str, str]:
    return {
        "CRM_HTTP_PORT": str(http_port),
        "CRM_NOTIFY_PUBLIC_BASE_URL": f"http://127.0.0.1:{http_port}",
        "CRM_NOTIFY_SMTP_PORT": str(mailbox.port),  # type: ignore[attr-defined]
        "CRM_NOTIFY_SMS_API_URL": gateway.url,
        "CRM_NOTIFY_SMS_API_KEY": SMS_KEY,
        "CRM_NOTIFY_SMS_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "CRM_NOTIFY_MAIL_FROM": "ТОВ «Агроцентр» <noreply@agrocentr.ua>",
        "CRM_NOTIFY_EMAIL_RATE_PER_SECOND": "5000",
        "CRM_NOTIFY_EMAIL_BURST": "500",
        "CRM_NOTIFY_RETRY_BASE_SECONDS": "0.2",
        "CRM_NOTIFY_LEASE_SECONDS": "3",
        "CRM_NOTIFY_BOUNCE_HOST": "127.0.0.1",
        "CRM_NOTIFY_BOUNCE_PORT": str(free_port()),
        **extra,
    }


@dataclass
class Notifications:
    process: ServiceProcess
    http: str
    bounce_port: int

    @property
    def address(self) -> str:
        return self.process.address


@pytest.fixture(scope="session")
async def notifications(services: Services, mailbox: Mailbox, sms_gateway: SmsGateway) -> Notifications:
    http_port = free_port()
    sms_gateway.webhook = f"http://127.0.0.1:{http_port}/webhooks/sms/delivery"
    env = service_env(mailbox, sms_gateway, http_port)
    process = await services.start("notifications", env=env)
    return Notifications(process, f"http://127.0.0.1:{http_port}", int(env["CRM_NOTIFY_BOUNCE_PORT"]))


async def publish(
    producer: AIOKafkaProducer,
    topic: str,
    event_type: str,
    subject: str,
    data: dict[str, Any],
    *,
    event_id: str | None = None,
) -> str:
    """Publishes a CloudEvent (binary mode) as another service's outbox relay would."""
    event_id = event_id or str(uuid.uuid4())
    headers = {
        "ce_specversion": "1.0",
        "ce_id": event_id,
        "ce_source": "crm/tests",
        "ce_type": event_type,
        "ce_subject": subject,
        "ce_time": datetime.now(UTC).isoformat(),
        "content-type": "application/json",
    }
    await producer.send_and_wait(
        topic,
        json.dumps(data, ensure_ascii=False).encode(),
        key=subject.encode(),
        headers=[(k, v.encode()) for k, v in headers.items()],
    )
    return event_id


async def register_partner(
    producer: AIOKafkaProducer,
    *,
    name: str,
    segment: str,
    email: str = "",
    phone: str = "",
    region: str = "Київська область",
    manager_id: str = "olena.kovalenko",
    tags: list[str] | None = None,
) -> str:
    partner_id = str(uuid.uuid4())
    contacts = [{"kind": "email", "value": email, "label": ""}] if email else []
    contacts += [{"kind": "phone", "value": phone, "label": "офіс"}] if phone else []
    await publish(
        producer,
        "crm.partners.partner.v1",
        "crm.partners.partner.registered",
        partner_id,
        {
            "partner_id": partner_id,
            "name": name,
            "roles": ["client"],
            "manager_id": manager_id,
            "segment": segment,
            "region": region,
            "tags": tags or [],
            "source": "manual",
            "contacts": contacts,
            "registered_at": datetime.now(UTC).isoformat(),
            "version": 1,
        },
    )
    return partner_id
