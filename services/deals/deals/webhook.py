"""The shops' HTTP endpoint: the usual webhook shape, a JSON body signed with HMAC-SHA256.

POST /shops/{shop_id}/orders    {"id": "10045", "currency": "UAH",
                                 "customer": {"id": "c-77", "name": "...", "phone": "...", "email": "..."},
                                 "line_items": [{"sku": "NB-15", "quantity": 2}]}
POST /shops/{shop_id}/payments  {"order_id": "10045", "payment_id": "pay-1", "amount": "1234.50", "currency": "UAH"}

X-Signature: sha256=<hex of HMAC-SHA256(shop's secret, raw body)>. Answers 200 with the
order, 400 naming bad fields, 401 for a bad signature or an unknown shop, 404 for an
order that is not this shop's, 409 for a broken rule, 503 (Retry-After) while pricing
or partners is unreachable: nothing was kept, send it again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm_platform.auth import Principal, reset_principal, set_principal
from crm_platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PlatformError,
    Unavailable,
)
from crm_platform.money import Money
from deals.domain import CENT
from deals.orders import OrderView
from deals.partners_gateway import ShopCustomer
from deals.shop_orders import ShopOrders, parse_order

MAX_BODY = 256 * 1024


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def answer(v: OrderView) -> dict[str, Any]:
    o = v.order
    return {
        "order_id": str(o.id),
        "shop_order_id": o.shop_order_id,
        "state": o.state,
        "total": {"amount": format(o.total.quantize(CENT), "f"), "currency": o.currency},
        "paid": {"amount": format(o.paid.quantize(CENT), "f"), "currency": o.currency},
        "partner_id": str(o.partner_id),
        "deal_id": str(o.deal_id),
        "lines": [{k: line[k] for k in ("sku", "name", "quantity", "price", "total")} for line in o.lines],
    }


def _error(exc: PlatformError) -> JSONResponse:
    if isinstance(exc, InvalidArgument):
        fields = {v.field: v.description for v in exc.violations}
        return JSONResponse({"error": "invalid_argument", "fields": fields}, status_code=400)
    if isinstance(exc, PermissionDenied):
        return JSONResponse({"error": "unauthenticated", "message": exc.message}, status_code=401)
    if isinstance(exc, NotFound):
        return JSONResponse({"error": "not_found", "message": exc.message}, status_code=404)
    if isinstance(exc, FailedPrecondition | AlreadyExists):
        return JSONResponse({"error": "failed_precondition", "message": exc.message}, status_code=409)
    if isinstance(exc, Unavailable):
        return JSONResponse(
            {"error": "unavailable", "message": exc.message}, status_code=503, headers={"Retry-After": "2"}
        )
    return JSONResponse({"error": "error", "message": exc.message}, status_code=500)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise InvalidArgument.single(key, "must be a string")
    return str(value)


def routes(shops: ShopOrders) -> list[Route]:
    def signed(
        handle: Callable[[Any, dict[str, Any]], Awaitable[OrderView]],
    ) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            body = await request.body()
            shop_id = request.path_params["shop_id"]
            try:
                shop = await shops.shop(shop_id)
            except PlatformError as exc:
                return _error(exc)
            given = request.headers.get("x-signature", "")
            if not hmac.compare_digest(given.encode(), sign(shop.secret, body).encode()):
                return JSONResponse({"error": "unauthenticated", "message": "bad signature"}, status_code=401)
            if len(body) > MAX_BODY:
                return JSONResponse({"error": "invalid_argument", "fields": {"body": "too large"}}, status_code=400)
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return JSONResponse({"error": "invalid_argument", "fields": {"body": "not JSON"}}, status_code=400)
            if not isinstance(data, dict):
                return JSONResponse({"error": "invalid_argument", "fields": {"body": "must be an object"}}, 400)
            token = set_principal(Principal(subject=f"shop:{shop.id}", roles=frozenset({"shop"}), shop_id=shop.id))
            try:
                return JSONResponse(answer(await handle(shop, data)))
            except PlatformError as exc:
                return _error(exc)
            finally:
                reset_principal(token)

        return endpoint

    async def order(shop: Any, data: dict[str, Any]) -> OrderView:
        customer = data.get("customer")
        items = data.get("line_items")
        if not isinstance(customer, dict):
            raise InvalidArgument.single("customer", "must be an object")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InvalidArgument.single("line_items", "must be a list of objects")
        parsed = parse_order(
            _text(data, "id"),
            ShopCustomer(
                _text(customer, "id"), _text(customer, "name"), _text(customer, "phone"), _text(customer, "email")
            ),
            [(str(i.get("sku") or ""), str(i.get("quantity", ""))) for i in items],
            _text(data, "currency"),
        )
        return await shops.push(shop, parsed)

    async def payment(shop: Any, data: dict[str, Any]) -> OrderView:
        amount = Money.of(str(data.get("amount", "")), _text(data, "currency") or shop.currency, "amount")
        if amount.amount <= 0:
            raise InvalidArgument.single("amount", "must be positive")
        return await shops.pay(shop, _text(data, "order_id"), _text(data, "payment_id"), amount)

    return [
        Route("/shops/{shop_id}/orders", signed(order), methods=["POST"]),
        Route("/shops/{shop_id}/payments", signed(payment), methods=["POST"]),
    ]
