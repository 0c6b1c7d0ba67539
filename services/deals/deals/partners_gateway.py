"""Deals' call to partners: find or create the partner of an online shop's customer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import grpc
from crm.partners.v1 import partners_pb2 as ppb
from crm.partners.v1 import partners_pb2_grpc as ppb_grpc

from crm_platform.grpc_client import ServiceClient
from deals.pricing_gateway import translate_error


@dataclass(frozen=True)
class ShopCustomer:
    id: str
    name: str
    phone: str = ""
    email: str = ""


class PartnersGateway:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client
        self.stub = ppb_grpc.PartnersServiceStub(client.channel)

    async def find_or_create(self, shop_id: str, customer: ShopCustomer) -> uuid.UUID:
        request = ppb.FindOrCreateByShopCustomerRequest(
            shop_id=shop_id,
            shop_customer_id=customer.id,
            customer=ppb.ShopCustomer(name=customer.name, phone=customer.phone, email=customer.email),
        )
        try:
            # Idempotent on partners' side: (shop, customer id) finds the partner created first.
            answer = await self.client.call(self.stub.FindOrCreateByShopCustomer, request, idempotent=True)
        except grpc.aio.AioRpcError as exc:
            raise translate_error(exc, "partners") from None
        return uuid.UUID(answer.partner_id)
