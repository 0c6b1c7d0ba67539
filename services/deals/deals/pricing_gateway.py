"""Deals' calls to pricing (Quote, CheckTerms, the catalogue), in deals' own terms.

pricing's answers become plain dicts stored with proposals and orders (their lines and
totals as priced at that moment). pricing's bad-input errors are the caller's: they are
re-raised with the same field names (lines[i].sku, lines[i].quantity, ...); pricing
being unreachable becomes Unavailable, so the caller retries.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import grpc
from crm.common.v1 import common_pb2
from crm.pricing.v1 import pricing_pb2 as ppb
from crm.pricing.v1 import pricing_pb2_grpc as ppb_grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from crm_platform.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PlatformError,
    Unavailable,
)
from crm_platform.grpc_client import ServiceClient

RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}


@dataclass(frozen=True)
class LineRequest:
    product_id: str = ""
    sku: str = ""
    quantity: Decimal = Decimal(1)
    manual_discount_percent: Decimal = Decimal(0)


@dataclass
class Priced:
    """A priced document: its lines and totals as dicts of decimal strings."""

    currency: str
    agreement_id: str
    lines: list[dict[str, str]]
    totals: dict[str, str]
    violations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return Decimal(self.totals["total"])

    @property
    def cost(self) -> Decimal:
        return Decimal(self.totals.get("cost") or 0)


def translate_error(exc: grpc.aio.AioRpcError, service: str = "pricing") -> PlatformError:
    code, message = exc.code(), exc.details() or ""
    if code in RETRYABLE:
        return Unavailable(f"{service} is unavailable ({code.name}); retry later")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        status = rpc_status.from_call(exc)  # type: ignore[arg-type]
        found: list[FieldViolation] = []
        for detail in status.details if status else ():
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                found += [FieldViolation(v.field, v.description) for v in bad.field_violations]
        return InvalidArgument(found or [FieldViolation("lines", message)])
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(f"{service}: {message}")
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return FailedPrecondition(f"{service}: {message}", rule=service)
    return Unavailable(f"{service} failed ({code.name}): {message}")


def _m(money: Any) -> str:
    return money.amount or "0"


class PricingGateway:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client
        self.stub = ppb_grpc.PricingServiceStub(client.channel)

    async def _call(self, method: Any, request: Any) -> Any:
        try:
            return await self.client.call(method, request, idempotent=True)
        except grpc.aio.AioRpcError as exc:
            raise translate_error(exc) from None

    async def quote(
        self, lines: list[LineRequest], *, partner_id: str = "", agreement_id: str = "", currency: str = ""
    ) -> Priced:
        request = ppb.QuoteRequest(
            partner_id="" if agreement_id else partner_id,
            agreement_id=agreement_id,
            currency=currency,
            lines=[
                ppb.QuoteLine(
                    product_id=line.product_id,
                    sku=line.sku,
                    quantity=format(line.quantity, "f"),
                    manual_discount_percent=format(line.manual_discount_percent, "f")
                    if line.manual_discount_percent
                    else "",
                )
                for line in lines
            ],
        )
        answer = await self._call(self.stub.Quote, request)
        profit = answer.profitability
        return Priced(
            currency=answer.total.currency,
            agreement_id=answer.agreement_id,
            lines=[
                {
                    "product_id": q.product_id,
                    "sku": q.sku,
                    "name": q.name,
                    "quantity": q.quantity,
                    "price": _m(q.price),
                    "discount_percent": q.discount_percent or "0",
                    "discount": _m(q.discount),
                    "vat": _m(q.vat),
                    "total": _m(q.total),
                }
                for q in answer.lines
            ],
            totals={
                "amount": _m(answer.amount),
                "discount": _m(answer.discount),
                "vat": _m(answer.vat),
                "total": _m(answer.total),
                "revenue": _m(profit.revenue),
                "cost": _m(profit.cost),
                "margin": _m(profit.margin),
                "margin_percent": profit.margin_percent or "0",
            },
            violations=[
                {
                    "code": ppb.ViolationCode.Name(v.code).removeprefix("VIOLATION_CODE_"),
                    "line_index": v.line_index,
                    "message": v.message,
                }
                for v in answer.violations
            ],
        )

    async def check_terms(
        self,
        lines: list[dict[str, str]],
        *,
        currency: str,
        partner_id: str = "",
        agreement_id: str = "",
        prepayment: Decimal = Decimal(0),
    ) -> list[dict[str, Any]]:
        request = ppb.CheckTermsRequest(
            agreement_id=agreement_id,
            partner_id="" if agreement_id else partner_id,
            currency=currency,
            prepayment=common_pb2.Money(amount=format(prepayment, "f"), currency=currency) if prepayment else None,
            lines=[
                ppb.DocumentLine(
                    product_id=line["product_id"],
                    quantity=line["quantity"],
                    unit_price=line["price"],
                    discount_percent=line.get("discount_percent", "0"),
                )
                for line in lines
            ],
        )
        answer = await self._call(self.stub.CheckTerms, request)
        return [
            {
                "code": ppb.ViolationCode.Name(v.code).removeprefix("VIOLATION_CODE_"),
                "line_index": v.line_index,
                "message": v.message,
            }
            for v in answer.violations
        ]

    async def catalogue(self, price_type_id: str, page_size: int, page_token: str) -> tuple[Any, Any, list[Any]]:
        """The price type, one page of its prices, and the products they are for."""
        types = await self._call(self.stub.ListPriceTypes, ppb.ListPriceTypesRequest())
        price_type = next((t for t in types.price_types if t.id == price_type_id), None)
        if price_type is None:
            raise FailedPrecondition(f"the shop's price type {price_type_id} is unknown to pricing", rule="price_type")
        page = await self._call(
            self.stub.ListPrices,
            ppb.ListPricesRequest(
                price_type_id=price_type_id, page=common_pb2.PageRequest(page_size=page_size, page_token=page_token)
            ),
        )
        products = await asyncio.gather(
            *(self._call(self.stub.GetProduct, ppb.GetProductRequest(id=p.product_id)) for p in page.prices)
        )
        return price_type, page, list(products)
