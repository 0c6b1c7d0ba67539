"""Wiring of the deals service and its entry point: python -m deals [--migrate]."""

from __future__ import annotations

from pathlib import Path

from crm_platform.runtime import Components, Runtime, ServiceSpec, main
from deals import api, webhook
from deals.commerce_api import shop_service
from deals.events import PUBLISHED, consumer
from deals.partners_gateway import PartnersGateway
from deals.pricing_gateway import PricingGateway
from deals.shop_orders import ShopOrders


async def build(runtime: Runtime) -> Components:
    pricing = PricingGateway(runtime.client(runtime.settings.pricing_addr))
    partners = PartnersGateway(runtime.client(runtime.settings.partners_addr))
    shops = ShopOrders(runtime.db, runtime.redis, partners, pricing)
    return Components(
        grpc=[api.grpc_service(runtime.db, pricing), shop_service(shops)],
        routes=webhook.routes(shops),
    )


SPEC = ServiceSpec(
    name="deals",
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    build=build,
    publishes=PUBLISHED,
    consumer=consumer,
)


def run() -> None:
    main(SPEC)
