"""Fixtures of deals' flows: pricing running beside partners and deals, a catalogue of
products with prices, and partners known to both."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import grpc
import pytest
from crm.common.v1 import common_pb2
from crm.deals.v1 import deals_pb2 as pb
from crm.deals.v1 import deals_pb2_grpc as pb_grpc
from crm.partners.v1 import partners_pb2, partners_pb2_grpc
from crm.pricing.v1 import pricing_pb2 as ppb
from crm.pricing.v1 import pricing_pb2_grpc as ppb_grpc

from crm_platform.clock import utcnow
from crm_platform.localrun import ServiceProcess
from crm_platform.testing import Services, auth
from tests.flows.test_partner_reaches_deals import draft


@pytest.fixture(scope="session")
async def pricing(services: Services) -> ServiceProcess:
    return await services.start("pricing")


@pytest.fixture(scope="session")
async def commerce(services: Services, partners: ServiceProcess, pricing: ServiceProcess) -> ServiceProcess:
    """deals with pricing and partners as its peers."""
    return await services.start("deals", instance="-commerce")


@dataclass
class Catalogue:
    price_type_id: str
    skus: dict[str, str]  # sku -> product id
    prices: dict[str, str]  # sku -> price


@pytest.fixture(scope="session")
async def catalogue(pricing: ServiceProcess) -> Catalogue:
    tag = uuid.uuid4().hex[:6].upper()
    items = [
        (f"NB-{tag}", "Ноутбук Lenovo IdeaPad 5", "32000.00", "25000.00"),
        (f"MS-{tag}", "Миша Logitech M185", "450.00", "300.00"),
        (f"DK-{tag}", "Док-станція Dell WD19", "7800.00", "6000.00"),
    ]
    async with grpc.aio.insecure_channel(pricing.address) as channel:
        stub = ppb_grpc.PricingServiceStub(channel)
        price_type = await stub.CreatePriceType(
            ppb.CreatePriceTypeRequest(name=f"Роздрібна {tag}", currency="UAH", includes_vat=True, is_default=True),
            metadata=auth("head"),
        )
        skus = {}
        for sku, name, _, cost in items:
            product = await stub.CreateProduct(
                ppb.CreateProductRequest(
                    sku=sku, name=name, unit="шт", vat_rate="20", cost=common_pb2.Money(amount=cost, currency="UAH")
                ),
                metadata=auth("head"),
            )
            skus[sku] = product.id
        await stub.SetPrices(
            ppb.SetPricesRequest(
                price_type_id=price_type.id,
                effective_from="2020-01-01",
                prices=[ppb.PriceInput(sku=sku, price=price) for sku, _, price, _ in items],
            ),
            metadata=auth("head"),
        )
    return Catalogue(price_type.id, skus, {sku: price for sku, _, price, _ in items})


async def agreed_terms(pricing: ServiceProcess, segment: str, price_type_id: str, **terms: str) -> str:
    async with grpc.aio.insecure_channel(pricing.address) as channel:
        stub = ppb_grpc.PricingServiceStub(channel)
        agreement = await stub.CreateAgreement(
            ppb.CreateAgreementRequest(
                name=f"Умови для «{segment}»",
                kind=ppb.AGREEMENT_KIND_TYPICAL,
                segment=segment,
                terms=ppb.AgreementTerms(price_type_id=price_type_id, currency="UAH", **terms),
                valid_from="2020-01-01",
            ),
            metadata=auth("head"),
        )
        await stub.AgreeAgreement(ppb.AgreementTransitionRequest(id=agreement.id), metadata=auth("head"))
    return agreement.id


async def register_partner(partners: ServiceProcess, name: str, segment: str) -> str:
    async with grpc.aio.insecure_channel(partners.address) as channel:
        partner = draft(name)
        partner.segment = segment
        del partner.contacts[:]  # contacts of its own, so partners finds no duplicate
        partner.contacts.add(kind=partners_pb2.CONTACT_KIND_EMAIL, value=f"sales.{uuid.uuid4().hex[:8]}@example.com.ua")
        registered = await partners_pb2_grpc.PartnersServiceStub(channel).RegisterPartner(
            partners_pb2.RegisterPartnerRequest(request_id=str(uuid.uuid4()), partner=partner), metadata=auth("manager")
        )
    assert registered.partner.id, registered.duplicates
    return registered.partner.id


async def eventually(call, timeout: float = 60.0):
    """Retries call while it fails with FAILED_PRECONDITION (an event not yet consumed)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.3)


async def pricing_knows_partner(pricing: ServiceProcess, partner_id: str, sku: str) -> None:
    """Waits until pricing has consumed the partner's segment and quotes it under an agreement,
    so a test creates its one proposal only then, instead of one per attempt."""

    async def agreement_applies() -> None:
        async with grpc.aio.insecure_channel(pricing.address) as channel:
            quote = await ppb_grpc.PricingServiceStub(channel).Quote(
                ppb.QuoteRequest(partner_id=partner_id, lines=[ppb.QuoteLine(sku=sku, quantity="1")]),
                metadata=auth("manager"),
            )
        if not quote.agreement_id:
            raise grpc.aio.AioRpcError(grpc.StatusCode.FAILED_PRECONDITION, None, None, "no agreement yet")

    await eventually(agreement_applies)


def valid_until(days: int = 14) -> str:
    from datetime import timedelta

    return (utcnow().date() + timedelta(days=days)).isoformat()


async def open_manual_deal(stub: pb_grpc.DealsServiceStub, partner_id: str) -> pb.Deal:
    return await eventually(
        lambda: stub.OpenDeal(
            pb.OpenDealRequest(
                partner_id=partner_id,
                title="Оснащення офісу ноутбуками",
                kind=pb.DEAL_KIND_MANUAL_STAGES,
                expected_amount=common_pb2.Money(amount="100000", currency="UAH"),
            ),
            metadata=auth("manager"),
        )
    )
