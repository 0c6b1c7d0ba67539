from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from crm.interactions.v1 import interactions_pb2_grpc as pb_grpc

from crm_platform.auth import issue_token
from crm_platform.localrun import ServiceProcess
from crm_platform.settings import ServiceSettings
from crm_platform.testing import Services


@pytest.fixture(scope="session")
async def interactions(services: Services, partners: ServiceProcess) -> ServiceProcess:
    """interactions after partners, so it is given partners' address."""
    return await services.start("interactions")


@pytest.fixture(scope="session")
async def channel(interactions: ServiceProcess) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(interactions.address) as ch:
        yield ch


@pytest.fixture(scope="session")
def api(channel: grpc.aio.Channel) -> pb_grpc.InteractionsServiceStub:
    return pb_grpc.InteractionsServiceStub(channel)


@pytest.fixture(scope="session")
def cal(channel: grpc.aio.Channel) -> pb_grpc.CalendarServiceStub:
    return pb_grpc.CalendarServiceStub(channel)


@pytest.fixture(scope="session")
def appointments(channel: grpc.aio.Channel) -> pb_grpc.AppointmentsServiceStub:
    return pb_grpc.AppointmentsServiceStub(channel)


@pytest.fixture(scope="session")
def task_api(channel: grpc.aio.Channel) -> pb_grpc.TasksServiceStub:
    return pb_grpc.TasksServiceStub(channel)


def as_user(user: str, role: str = "manager") -> tuple[tuple[str, str], ...]:
    """Metadata of a named staff member (tasks and calendars belong to people)."""
    settings = ServiceSettings(service="tests")
    token = issue_token(settings.jwt_secret.get_secret_value(), user, [role], issuer=settings.jwt_issuer)
    return (("authorization", f"Bearer {token}"),)
