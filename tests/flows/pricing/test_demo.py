"""The demo data loads through the API, twice without change, and quotes for a wholesale buyer."""

from __future__ import annotations

from decimal import Decimal

import pytest
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess
from pricing.demo import load
from tests.flows.pricing.conftest import MANAGER

pytestmark = pytest.mark.flow


async def test_demo_data_loads_idempotently(pricing: ServiceProcess, stub: pb_grpc.PricingServiceStub) -> None:
    await load(pricing.address)
    await load(pricing.address)
    agreements = await stub.ListAgreements(pb.ListAgreementsRequest(segment="Оптові покупці"), metadata=MANAGER)
    assert [a.status for a in agreements.agreements] == [pb.AGREEMENT_STATUS_AGREED]
    quote = await stub.Quote(
        pb.QuoteRequest(
            agreement_id=agreements.agreements[0].id,
            on="2026-04-01",
            lines=[pb.QuoteLine(sku="MB-2060D", quantity="1")],
        ),
        metadata=MANAGER,
    )
    assert Decimal(quote.lines[0].price.amount) == Decimal("28159.00")  # 31999 × 0.88 = 28159.12 → to 1 UAH
