"""Orders and payments pushed by online shops over gRPC and over the signed webhook:
exactly once however re-sent, partner found or created by partners, priced by pricing,
a shop sees only its own orders; real processes, the real broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

import grpc
import httpx
import pytest
from crm.common.v1 import common_pb2
from crm.deals.v1 import deals_pb2 as pb
from crm.deals.v1 import deals_pb2_grpc as pb_grpc

from crm_platform.grpc_errors import field_violations
from crm_platform.localrun import ServiceProcess
from crm_platform.testing import auth
from deals.webhook import sign

from .conftest import Catalogue

pytestmark = pytest.mark.flow


async def register_shop(commerce: ServiceProcess, catalogue: Catalogue, shop_id: str | None = None) -> tuple[str, str]:
    shop_id = shop_id or f"rozetka-{uuid.uuid4().hex[:6]}"
    async with grpc.aio.insecure_channel(commerce.address) as channel:
        answer = await pb_grpc.ShopServiceStub(channel).RegisterShop(
            pb.RegisterShopRequest(
                shop_id=shop_id, name="Інтернет-магазин «Техно»", price_type_id=catalogue.price_type_id, currency="UAH"
            ),
            metadata=auth("head"),
        )
    return shop_id, answer.webhook_secret


def order_request(catalogue: Catalogue, shop_order_id: str, customer_id: str | None = None) -> pb.PushOrderRequest:
    nb, ms = list(catalogue.skus)[:2]
    return pb.PushOrderRequest(
        shop_order_id=shop_order_id,
        customer=pb.ShopCustomer(
            id=customer_id or f"cust-{uuid.uuid4().hex[:8]}",
            name="Марія Коваленко",
            phone=f"+38067{uuid.uuid4().int % 10**7:07d}",
            email=f"maria.{uuid.uuid4().hex[:6]}@ukr.net",
        ),
        lines=[pb.ShopLine(sku=nb, quantity="1"), pb.ShopLine(sku=ms, quantity="2")],
    )


async def test_shop_order_resent_100_times_20_at_once_creates_one_order(
    commerce: ServiceProcess, catalogue: Catalogue
) -> None:
    shop_id, _ = await register_shop(commerce, catalogue)
    request = order_request(catalogue, "100045")
    async with grpc.aio.insecure_channel(commerce.address) as channel:
        stub = pb_grpc.ShopServiceStub(channel)
        answers: list[pb.ShopOrderAnswer] = []
        for _ in range(5):
            answers += await asyncio.gather(
                *(stub.PushOrder(request, metadata=auth("shop", shop_id=shop_id), timeout=30) for _ in range(20))
            )
        deals_stub = pb_grpc.DealsServiceStub(channel)
        orders = await deals_stub.ListOrders(
            pb.ListOrdersRequest(partner_id=answers[0].partner_id), metadata=auth("manager")
        )
    assert len(answers) == 100
    assert {a.order_id for a in answers} == {answers[0].order_id}
    assert len(orders.orders) == 1
    # 32000 + 2 × 450, VAT included in the price type
    assert Decimal(answers[0].total.amount) == Decimal("32900.00")
    assert answers[0].state == "new"
    assert orders.orders[0].shop_order_id == "100045"


async def test_shop_sees_only_its_own_orders_and_pays_online(commerce: ServiceProcess, catalogue: Catalogue) -> None:
    ours, _ = await register_shop(commerce, catalogue)
    theirs, _ = await register_shop(commerce, catalogue)
    async with grpc.aio.insecure_channel(commerce.address) as channel:
        stub = pb_grpc.ShopServiceStub(channel)
        placed = await stub.PushOrder(order_request(catalogue, "A-1"), metadata=auth("shop", shop_id=ours))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetShopOrder(pb.GetShopOrderRequest(shop_order_id="A-1"), metadata=auth("shop", shop_id=theirs))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.PushPayment(
                pb.PushPaymentRequest(
                    shop_order_id="A-1", shop_payment_id="lp-1", amount=common_pb2.Money(amount="10", currency="UAH")
                ),
                metadata=auth("shop", shop_id=theirs),
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        payment = pb.PushPaymentRequest(
            shop_order_id="A-1",
            shop_payment_id="liqpay-778",
            amount=common_pb2.Money(amount="32900.00", currency="UAH"),
        )
        paid = await stub.PushPayment(payment, metadata=auth("shop", shop_id=ours))
        again = await stub.PushPayment(payment, metadata=auth("shop", shop_id=ours))
        assert Decimal(paid.paid.amount) == Decimal(again.paid.amount) == Decimal("32900.00")
        assert paid.order_id == placed.order_id

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.PushOrder(order_request(catalogue, "A-2"), metadata=auth("manager"))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.PushOrder(order_request(catalogue, "A-2"), metadata=auth("shop", shop_id="nobody-knows"))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED

        catalogue_page = await stub.GetCatalogue(pb.GetCatalogueRequest(), metadata=auth("shop", shop_id=ours))
        mine = {i.sku: i for i in catalogue_page.items if i.sku in catalogue.skus}
        assert set(mine) == set(catalogue.skus)
        nb = next(iter(catalogue.skus))
        assert (mine[nb].name, Decimal(mine[nb].price.amount)) == ("Ноутбук Lenovo IdeaPad 5", Decimal("32000.00"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.lines[0].__setattr__("quantity", "-1"), "lines[0].quantity"),
        (lambda r: r.lines[1].__setattr__("quantity", "багато"), "lines[1].quantity"),
        (lambda r: r.lines[0].__setattr__("sku", "NO-SUCH-SKU"), "lines[0].sku"),
        (lambda r: r.__setattr__("shop_order_id", ""), "shop_order_id"),
        (lambda r: r.customer.__setattr__("name", " "), "customer.name"),
        (lambda r: r.__setattr__("currency", "XYZ"), "currency"),
        (lambda r: r.ClearField("lines"), "lines"),
    ],
)
async def test_bad_shop_order_names_the_field(
    commerce: ServiceProcess, catalogue: Catalogue, change: object, field: str
) -> None:
    shop_id, _ = await register_shop(commerce, catalogue)
    request = order_request(catalogue, f"B-{uuid.uuid4().hex[:6]}")
    change(request)  # type: ignore[operator]
    async with grpc.aio.insecure_channel(commerce.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await pb_grpc.ShopServiceStub(channel).PushOrder(request, metadata=auth("shop", shop_id=shop_id))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


def webhook_body(catalogue: Catalogue, order_id: str) -> bytes:
    nb = next(iter(catalogue.skus))
    return json.dumps(
        {
            "id": order_id,
            "currency": "UAH",
            "customer": {"id": f"w-{uuid.uuid4().hex[:6]}", "name": "Олег Петренко", "phone": "+380501234567"},
            "line_items": [{"sku": nb, "quantity": 2}],
        },
        ensure_ascii=False,
    ).encode()


async def test_webhook_accepts_signed_orders_once_and_refuses_the_rest(
    commerce: ServiceProcess, catalogue: Catalogue
) -> None:
    shop_id, secret = await register_shop(commerce, catalogue)
    base = f"http://127.0.0.1:{commerce.http_port}"
    body = webhook_body(catalogue, "W-900")
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        post = lambda path, data, signature: http.post(  # noqa: E731
            path, content=data, headers={"content-type": "application/json", "x-signature": signature}
        )
        first = await post(f"/shops/{shop_id}/orders", body, sign(secret, body))
        second = await post(f"/shops/{shop_id}/orders", body, sign(secret, body))
        assert first.status_code == second.status_code == 200, first.text
        assert first.json()["order_id"] == second.json()["order_id"]
        assert first.json()["total"] == {"amount": "64000.00", "currency": "UAH"}

        assert (await post(f"/shops/{shop_id}/orders", body, sign("wrong-secret", body))).status_code == 401
        assert (await post(f"/shops/{shop_id}/orders", body, "")).status_code == 401
        assert (await post("/shops/no-such-shop/orders", body, sign(secret, body))).status_code == 401
        malformed = b'{"id": "W-901", "line_items": ['
        answer = await post(f"/shops/{shop_id}/orders", malformed, sign(secret, malformed))
        assert (answer.status_code, answer.json()["fields"]) == (400, {"body": "not JSON"})
        negative = body.replace(b'"quantity": 2', b'"quantity": -2').replace(b"W-900", b"W-902")
        answer = await post(f"/shops/{shop_id}/orders", negative, sign(secret, negative))
        assert answer.status_code == 400
        assert "line_items[0].quantity" in answer.json()["fields"] or "lines[0].quantity" in answer.json()["fields"]

        payment = json.dumps({"order_id": "W-900", "payment_id": "pay-1", "amount": "64000.00"}).encode()
        paid = await post(f"/shops/{shop_id}/payments", payment, sign(secret, payment))
        assert paid.json()["paid"] == {"amount": "64000.00", "currency": "UAH"}
        other_shop, other_secret = await register_shop(commerce, catalogue)
        foreign = await post(f"/shops/{other_shop}/payments", payment, sign(other_secret, payment))
        assert foreign.status_code == 404
