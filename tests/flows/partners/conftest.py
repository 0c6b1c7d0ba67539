from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from crm.partners.v1 import partners_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess


@pytest.fixture
async def stub(partners: ServiceProcess) -> AsyncIterator[pb_grpc.PartnersServiceStub]:
    async with grpc.aio.insecure_channel(partners.address) as channel:
        yield pb_grpc.PartnersServiceStub(channel)
