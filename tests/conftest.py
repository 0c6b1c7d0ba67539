from __future__ import annotations

import pytest

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import Services


@pytest.fixture(scope="session")
async def partners(services: Services) -> ServiceProcess:
    return await services.start("partners")


@pytest.fixture(scope="session")
async def deals(services: Services, partners: ServiceProcess) -> ServiceProcess:
    return await services.start("deals")
