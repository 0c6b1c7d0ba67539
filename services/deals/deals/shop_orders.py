"""Orders and payments pushed by online shops, accepted exactly once per (shop, shop order id).

Exactly once: the order row's unique (shop_id, shop_order_id) is the guarantee; a short
Redis lock per shop order only spares concurrent re-sends the calls to partners and
pricing (they wait for the first to commit and answer with its order). While pricing or
partners is unreachable nothing is written and the shop gets UNAVAILABLE: it retries,
and the retry is accepted once pricing is back (a shop re-sends until it has an answer).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from crm_platform.money import Money, check_currency, parse_decimal
from crm_platform.outbox import add_event
from deals.domain import DealKind, DealStatus, OrderKind
from deals.events import DealOpened
from deals.models import DealHistoryRow, DealRow, KnownPartner, OrderRow, ShopRow
from deals.opening import SOURCE, actor
from deals.orders import PLACEMENT_IGNORES, OrderView, insert_order, states_of, view
from deals.partners_gateway import PartnersGateway, ShopCustomer
from deals.pricing_gateway import LineRequest, PricingGateway
from deals.repository import ProcessRepository
from deals.settlements import register_payment

log = logging.getLogger(__name__)
MAX_LINES = 200
LOCK_SECONDS = 30
WAIT_FOR_FIRST_SECONDS = 10.0


@dataclass(frozen=True)
class ShopOrderInput:
    shop_order_id: str
    customer: ShopCustomer
    lines: list[tuple[str, Decimal]]  # sku, quantity
    currency: str


def parse_order(
    shop_order_id: str, customer: ShopCustomer, lines: list[tuple[str, str]], currency: str
) -> ShopOrderInput:
    """Checks a shop's order as it arrived (gRPC or the webhook's JSON); every bad field named."""
    errors: list[InvalidArgument] = []

    def check(call):
        try:
            return call()
        except InvalidArgument as exc:
            errors.append(exc)
            return None

    if not shop_order_id.strip():
        errors.append(InvalidArgument.single("shop_order_id", "is required"))
    elif len(shop_order_id) > 120:
        errors.append(InvalidArgument.single("shop_order_id", "longer than 120 characters"))
    if not customer.id.strip():
        errors.append(InvalidArgument.single("customer.id", "is required"))
    if not customer.name.strip():
        errors.append(InvalidArgument.single("customer.name", "must not be empty"))
    if not lines:
        errors.append(InvalidArgument.single("lines", "at least one line is required"))
    elif len(lines) > MAX_LINES:
        errors.append(InvalidArgument.single("lines", f"at most {MAX_LINES} lines"))
    parsed: list[tuple[str, Decimal]] = []
    for i, (sku, quantity) in enumerate(lines[:MAX_LINES]):
        if not sku.strip():
            errors.append(InvalidArgument.single(f"lines[{i}].sku", "is required"))
        value = check(lambda q=quantity, i=i: parse_decimal(q, f"lines[{i}].quantity"))
        if value is not None and value <= 0:
            errors.append(InvalidArgument.single(f"lines[{i}].quantity", "must be positive"))
        parsed.append((sku.strip(), value or Decimal(0)))
    code = check(lambda: check_currency(currency, "currency")) if currency else ""
    if errors:
        raise InvalidArgument([v for e in errors for v in e.violations])
    return ShopOrderInput(shop_order_id.strip(), customer, parsed, code or "")


class ShopOrders:
    def __init__(self, db: Database, redis: aioredis.Redis, partners: PartnersGateway, pricing: PricingGateway) -> None:
        self.db, self.redis, self.partners, self.pricing = db, redis, partners, pricing
        self._shops: dict[str, ShopRow] = {}  # a registered shop never changes, so it is kept once read

    async def shop(self, shop_id: str | None) -> ShopRow:
        if not shop_id:
            raise PermissionDenied("the token names no shop")
        if (known := self._shops.get(shop_id)) is not None:
            return known
        async with self.db.reading() as session:
            shop = await session.get(ShopRow, shop_id)
        if shop is None:
            raise PermissionDenied(f"unknown shop {shop_id!r}")
        self._shops[shop_id] = shop
        return shop

    async def register(self, shop_id: str, name: str, price_type_id: str, currency: str, agreement_id: str) -> str:
        secret = secrets.token_urlsafe(32)
        async with self.db.transaction() as session:
            if await session.get(ShopRow, shop_id) is not None:
                raise AlreadyExists(f"shop {shop_id!r} is already registered")
            session.add(
                ShopRow(
                    id=shop_id,
                    name=name,
                    secret=secret,
                    price_type_id=price_type_id,
                    currency=currency,
                    agreement_id=agreement_id,
                )
            )
        return secret

    async def find(self, shop_id: str, shop_order_id: str) -> OrderView | None:
        async with self.db.reading() as session:
            query = select(OrderRow).where(OrderRow.shop_id == shop_id, OrderRow.shop_order_id == shop_order_id)
            order = (await session.execute(query)).scalars().first()
            return await view(session, order) if order is not None else None

    async def get(self, shop_id: str, shop_order_id: str) -> OrderView:
        found = await self.find(shop_id, shop_order_id)
        if found is None:  # another shop's order looks exactly like a missing one
            raise NotFound(f"no order {shop_order_id!r} from this shop")
        return found

    async def push(self, shop: ShopRow, order: ShopOrderInput) -> OrderView:
        if (found := await self.find(shop.id, order.shop_order_id)) is not None:
            return found
        lock_key = f"crm:deals:shop-order:{shop.id}:{order.shop_order_id}"
        token = uuid.uuid4().hex
        if not await self._lock(lock_key, token):
            found = await self._wait_for_first(shop.id, order.shop_order_id)
            if found is not None:
                return found
        try:
            return await self._accept(shop, order)
        finally:
            await self._unlock(lock_key, token)

    async def _lock(self, key: str, token: str) -> bool:
        try:
            return bool(await self.redis.set(key, token, nx=True, ex=LOCK_SECONDS))
        except RedisError:
            log.warning("redis unavailable: shop order accepted on the database's unique constraint alone")
            return True

    async def _unlock(self, key: str, token: str) -> None:
        try:
            if (await self.redis.get(key)) == token.encode():
                await self.redis.delete(key)
        except RedisError:
            pass

    async def _wait_for_first(self, shop_id: str, shop_order_id: str) -> OrderView | None:
        deadline = asyncio.get_running_loop().time() + WAIT_FOR_FIRST_SECONDS
        delay = 0.02
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(delay)
            if (found := await self.find(shop_id, shop_order_id)) is not None:
                return found
            try:
                if not await self.redis.exists(f"crm:deals:shop-order:{shop_id}:{shop_order_id}"):
                    return None  # the first attempt gave up (e.g. pricing down): try ourselves
            except RedisError:
                return None
            delay = min(delay * 2, 0.2)
        return None

    async def _accept(self, shop: ShopRow, order: ShopOrderInput) -> OrderView:
        partner_id = await self.partners.find_or_create(shop.id, order.customer)
        lines = [LineRequest(sku=sku, quantity=quantity) for sku, quantity in order.lines]
        priced = await self.pricing.quote(
            lines, partner_id=str(partner_id), agreement_id=shop.agreement_id, currency=order.currency or shop.currency
        )
        violations = await self.pricing.check_terms(
            priced.lines,
            currency=priced.currency,
            partner_id=str(partner_id),
            agreement_id=priced.agreement_id or shop.agreement_id,
        )
        violations = [v for v in violations if v["code"] not in PLACEMENT_IGNORES]
        try:
            async with self.db.transaction() as session:
                # Partners' event may not have arrived yet: a provisional copy (version 0) that it overwrites.
                await session.execute(
                    insert(KnownPartner.__table__)  # type: ignore[attr-defined]
                    .values(
                        id=partner_id,
                        name=order.customer.name.strip()[:300],
                        manager_id="",
                        segment="",
                        version=0,
                        updated_at=utcnow(),
                    )
                    .on_conflict_do_nothing()
                )
                partner = await session.get(KnownPartner, partner_id)
                assert partner is not None
                process = await ProcessRepository(session).default()
                if process is None:
                    raise FailedPrecondition("no default sales process", rule="default_process")
                stages = await ProcessRepository(session).stages(process.id)
                states = await states_of(session, OrderKind.SHOP.value)
                deal = DealRow(
                    title=f"Замовлення {shop.name} №{order.shop_order_id}"[:300],
                    partner_id=partner_id,
                    manager_id=partner.manager_id,
                    status=DealStatus.IN_PROGRESS.value,
                    expected_amount=priced.total,
                    currency=priced.currency,
                    kind=DealKind.MANUAL_STAGES.value,
                    process_id=process.id,
                    stage_code=stages[0].code,
                    source=f"shop:{shop.id}",
                )
                session.add(deal)
                await session.flush()
                session.add(
                    DealHistoryRow(
                        deal_id=deal.id,
                        to_stage=deal.stage_code or "",
                        to_status=deal.status,
                        moved_by=actor(),
                        moved_at=deal.created_at,
                        comment="opened by a shop order",
                    )
                )
                add_event(
                    session,
                    DealOpened(
                        deal_id=deal.id,
                        title=deal.title,
                        partner_id=partner_id,
                        manager_id=deal.manager_id,
                        expected_amount=deal.expected_amount,
                        currency=deal.currency,
                        opened_at=deal.created_at,
                        kind=deal.kind,
                        process_id=process.id,
                        stage=deal.stage_code,
                    ),
                    source=SOURCE,
                )
                placed = await insert_order(
                    session,
                    deal,
                    kind=OrderKind.SHOP,
                    currency=priced.currency,
                    lines=priced.lines,
                    totals=priced.totals,
                    agreement_id=priced.agreement_id or shop.agreement_id,
                    violations=violations,
                    shop_id=shop.id,
                    shop_order_id=order.shop_order_id,
                    states=states,
                    stages=stages,
                )
                return await view(session, placed, states)
        except IntegrityError:
            found = await self.find(shop.id, order.shop_order_id)
            if found is None:
                raise
            return found

    async def pay(self, shop: ShopRow, shop_order_id: str, shop_payment_id: str, amount: Money) -> OrderView:
        if not shop_payment_id.strip() or len(shop_payment_id) > 120:
            raise InvalidArgument.single("shop_payment_id", "is required (at most 120 characters)")
        order = await self.get(shop.id, shop_order_id)
        return await register_payment(self.db, order.order.id, amount, shop=(shop.id, shop_payment_id.strip()))
