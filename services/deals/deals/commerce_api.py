"""The proposal and order methods of crm.deals.v1.DealsService, and ShopService:
decode, call the use case, encode."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from crm.common.v1 import common_pb2
from crm.deals.v1 import deals_pb2 as pb
from crm.deals.v1 import deals_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.auth import Role, current_principal
from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, Violations
from crm_platform.grpc_server import GrpcService
from crm_platform.ids import parse_id
from crm_platform.money import check_currency, parse_decimal
from crm_platform.paging import page_size
from crm_platform.proto_codec import enum_in, enum_out, money_in, money_rounded_out, timestamp_out
from deals import orders, proposals, settlements
from deals.domain import Importance, OrderKind, ProposalAction, advance, clean_text, overdue, parse_date, to_pay
from deals.models import InvoiceRow, OrderStateRow, ProposalVersionRow
from deals.orders import OrderView
from deals.partners_gateway import ShopCustomer
from deals.pricing_gateway import LineRequest, PricingGateway
from deals.proposals import ProposalDraft, ProposalView
from deals.shop_orders import ShopOrders, parse_order

SHOP_ID = re.compile(r"^[a-z0-9_-]{2,60}$")


def _money(amount: object, currency: str | None) -> common_pb2.Money:
    return money_rounded_out(common_pb2.Money, amount, currency)


def _line_out(line: dict[str, str], currency: str) -> pb.PricedLine:
    return pb.PricedLine(
        product_id=line.get("product_id", ""),
        sku=line.get("sku", ""),
        name=line.get("name", ""),
        quantity=line.get("quantity", ""),
        price=_money(line.get("price"), currency),
        discount_percent=line.get("discount_percent", "0"),
        discount=_money(line.get("discount"), currency),
        vat=_money(line.get("vat"), currency),
        total=_money(line.get("total"), currency),
        shipped_quantity=line.get("shipped", ""),
    )


def _profit(totals: dict[str, str], currency: str) -> pb.Profitability:
    return pb.Profitability(
        revenue=_money(totals.get("revenue"), currency),
        cost=_money(totals.get("cost"), currency),
        margin=_money(totals.get("margin"), currency),
        margin_percent=totals.get("margin_percent", ""),
    )


def proposal_out(v: ProposalView) -> pb.Proposal:
    p = v.proposal
    ours = Decimal(p.totals.get("total", "0"))
    return pb.Proposal(
        id=str(p.id),
        deal_id=str(p.deal_id),
        status=enum_out(p.status, pb.ProposalStatus, "PROPOSAL_STATUS_"),
        importance=enum_out(p.importance, pb.Importance, "IMPORTANCE_"),
        valid_until=p.valid_until.isoformat(),
        version=p.version,
        lines=[_line_out(line, p.currency) for line in p.lines],
        total=_money(p.totals.get("total"), p.currency),
        discount=_money(p.totals.get("discount"), p.currency),
        profitability=_profit(p.totals, p.currency),
        needs_approval=bool(p.approval_reasons),
        approval_reasons=list(p.approval_reasons),
        approved_by=p.approved_by if p.approved_version == p.version else "",
        agreement_id=p.agreement_id,
        competitor_offers=[
            pb.CompetitorOffer(
                competitor_id=str(o.competitor_id),
                competitor_name=name,
                total=_money(o.total, o.currency),
                note=o.note,
                difference=_money(ours - o.total, o.currency),
            )
            for o, name in v.offers
        ],
    )


def version_out(row: ProposalVersionRow, currency: str) -> pb.ProposalVersion:
    return pb.ProposalVersion(
        version=row.version,
        lines=[_line_out(line, currency) for line in row.lines],
        total=_money(row.totals.get("total"), currency),
        valid_until=row.valid_until.isoformat(),
        created_by=row.created_by,
        created_at=timestamp_out(row.created_at),
        comment=row.comment,
    )


def order_out(v: OrderView) -> pb.Order:
    o, c = v.order, v.order.currency
    return pb.Order(
        id=str(o.id),
        deal_id=str(o.deal_id),
        partner_id=str(o.partner_id),
        kind=enum_out(o.kind, pb.OrderKind, "ORDER_KIND_"),
        state=o.state,
        state_name=v.state_name,
        lines=[_line_out(line, c) for line in o.lines],
        total=_money(o.total, c),
        invoiced=_money(o.invoiced, c),
        paid=_money(o.paid, c),
        shipped=_money(o.shipped, c),
        to_pay=_money(to_pay(o.total, o.paid), c),
        advance=_money(advance(o.total, o.paid), c),
        overdue=overdue(o.state, o.due_on, o.total, o.paid, utcnow().date()),
        due_on=o.due_on.isoformat() if o.due_on else "",
        violations=[
            pb.TermsViolation(code=x["code"], line_index=x["line_index"], message=x["message"]) for x in o.violations
        ],
        proposal_id=str(o.proposal_id or ""),
        shop_id=o.shop_id or "",
        shop_order_id=o.shop_order_id or "",
        profitability=_profit(o.totals, c),
        created_at=timestamp_out(o.created_at),
        agreement_id=o.agreement_id,
    )


def shop_answer(v: OrderView) -> pb.ShopOrderAnswer:
    o = v.order
    return pb.ShopOrderAnswer(
        order_id=str(o.id),
        shop_order_id=o.shop_order_id or "",
        state=o.state,
        total=_money(o.total, o.currency),
        paid=_money(o.paid, o.currency),
        lines=[_line_out(line, o.currency) for line in o.lines],
        partner_id=str(o.partner_id),
        deal_id=str(o.deal_id),
    )


def invoice_out(row: InvoiceRow) -> pb.Invoice:
    return pb.Invoice(
        id=str(row.id),
        order_id=str(row.order_id),
        amount=_money(row.amount, row.currency),
        issued_on=row.issued_on.isoformat(),
        due_on=row.due_on.isoformat(),
    )


def states_out(kind: OrderKind, rows: list[OrderStateRow]) -> pb.ListOrderStatesResponse:
    return pb.ListOrderStatesResponse(
        kind=enum_out(kind, pb.OrderKind, "ORDER_KIND_"),
        states=[pb.OrderState(code=r.code, name=r.name, final=r.final) for r in rows],
    )


def lines_in(items: Any) -> list[LineRequest]:
    v = Violations()
    out = []
    for i, line in enumerate(items):
        if not line.product_id and not line.sku:
            v.add(f"lines[{i}]", "name a product_id or a sku")
        if line.product_id:
            try:
                parse_id(line.product_id, f"lines[{i}].product_id")
            except InvalidArgument as exc:
                v.add(exc.violations[0].field, exc.violations[0].description)
        quantity = Decimal(0)
        try:
            quantity = parse_decimal(line.quantity, f"lines[{i}].quantity")
            if quantity <= 0:
                v.add(f"lines[{i}].quantity", "must be positive")
        except InvalidArgument as exc:
            v.add(exc.violations[0].field, exc.violations[0].description)
        discount = Decimal(0)
        if line.manual_discount_percent:
            try:
                discount = parse_decimal(line.manual_discount_percent, f"lines[{i}].manual_discount_percent")
                if discount > 100:
                    v.add(f"lines[{i}].manual_discount_percent", "must be between 0 and 100")
            except InvalidArgument as exc:
                v.add(exc.violations[0].field, exc.violations[0].description)
        out.append(LineRequest(line.product_id, line.sku.strip(), quantity, discount))
    v.raise_if_any()
    return out


def _draft(lines: Any, valid_until: str, importance: int, comment: str, currency: str = "") -> ProposalDraft:
    day = parse_date(valid_until, "valid_until")
    if day is None:
        raise InvalidArgument.single("valid_until", "is required")
    level = (
        enum_in(importance, pb.Importance, "IMPORTANCE_", Importance, "importance") if importance else Importance.NORMAL
    )
    v = Violations()
    note = clean_text(comment, "comment", v, limit=2000)
    v.raise_if_any()
    code = check_currency(currency, "currency") if currency else ""
    return ProposalDraft(lines_in(lines), day, level, note, code)


def _request_id(value: str) -> str | None:
    if len(value) > 120:
        raise InvalidArgument.single("request_id", "longer than 120 characters")
    return value or None


def _kind(value: int) -> OrderKind:
    return enum_in(value, pb.OrderKind, "ORDER_KIND_", OrderKind, "kind")


class CommerceMethods:
    """Proposal and order RPCs, mixed into DealsApi."""

    db: Database
    pricing: PricingGateway

    async def CreateProposal(self, request: pb.CreateProposalRequest, context: ServicerContext) -> pb.Proposal:
        request_id = _request_id(request.request_id)
        deal_id = parse_id(request.deal_id, "deal_id")
        draft = _draft(request.lines, request.valid_until, request.importance, request.comment, request.currency)
        return proposal_out(await proposals.create(self.db, self.pricing, deal_id, draft, request_id))

    async def ReviseProposal(self, request: pb.ReviseProposalRequest, context: ServicerContext) -> pb.Proposal:
        proposal_id = parse_id(request.id, "id")
        if request.expected_version < 0:
            raise InvalidArgument.single("expected_version", "must not be negative")
        draft = _draft(request.lines, request.valid_until, request.importance, request.comment)
        return proposal_out(await proposals.revise(self.db, self.pricing, proposal_id, draft, request.expected_version))

    async def GetProposal(self, request: pb.GetProposalRequest, context: ServicerContext) -> pb.Proposal:
        return proposal_out(await proposals.get(self.db, parse_id(request.id, "id")))

    async def ListProposals(
        self, request: pb.ListProposalsRequest, context: ServicerContext
    ) -> pb.ListProposalsResponse:
        found = await proposals.of_deal(self.db, parse_id(request.deal_id, "deal_id"))
        return pb.ListProposalsResponse(proposals=[proposal_out(p) for p in found])

    async def ListProposalVersions(
        self, request: pb.ListProposalVersionsRequest, context: ServicerContext
    ) -> pb.ListProposalVersionsResponse:
        proposal_id = parse_id(request.proposal_id, "proposal_id")
        rows = await proposals.versions(self.db, proposal_id)
        currency = (await proposals.get(self.db, proposal_id)).proposal.currency
        return pb.ListProposalVersionsResponse(versions=[version_out(r, currency) for r in rows])

    async def _act(self, request: Any, action: ProposalAction) -> pb.Proposal:
        return proposal_out(await proposals.act(self.db, parse_id(request.id, "id"), action))

    async def AgreeProposal(self, request: pb.ProposalActionRequest, context: ServicerContext) -> pb.Proposal:
        return await self._act(request, ProposalAction.AGREE)

    async def RequestProposalApproval(self, request: pb.ProposalActionRequest, context: ServicerContext) -> pb.Proposal:
        return await self._act(request, ProposalAction.REQUEST_APPROVAL)

    async def DecideProposalApproval(
        self, request: pb.DecideProposalApprovalRequest, context: ServicerContext
    ) -> pb.Proposal:
        return await self._act(request, ProposalAction.APPROVE if request.approve else ProposalAction.DECLINE)

    async def RejectProposal(self, request: pb.ProposalActionRequest, context: ServicerContext) -> pb.Proposal:
        return await self._act(request, ProposalAction.REJECT)

    async def CancelProposal(self, request: pb.ProposalActionRequest, context: ServicerContext) -> pb.Proposal:
        return await self._act(request, ProposalAction.CANCEL)

    async def AddCompetitorOffer(self, request: pb.AddCompetitorOfferRequest, context: ServicerContext) -> pb.Proposal:
        proposal_id = parse_id(request.proposal_id, "proposal_id")
        competitor_id = parse_id(request.competitor_id, "competitor_id")
        total = money_in(request.total, "total")
        v = Violations()
        note = clean_text(request.note, "note", v, limit=1000)
        v.raise_if_any()
        assert total is not None
        return proposal_out(await proposals.add_competitor_offer(self.db, proposal_id, competitor_id, total, note))

    async def CreateOrder(self, request: pb.CreateOrderRequest, context: ServicerContext) -> pb.Order:
        request_id = _request_id(request.request_id)
        proposal_id = parse_id(request.proposal_id, "proposal_id")
        due_on = parse_date(request.due_on, "due_on")
        created = await orders.create_from_proposal(
            self.db,
            self.pricing,
            proposal_id,
            due_on=due_on,
            refuse_on_violation=request.refuse_on_violation,
            request_id=request_id,
        )
        return order_out(created)

    async def GetOrder(self, request: pb.GetOrderRequest, context: ServicerContext) -> pb.Order:
        return order_out(await orders.get(self.db, parse_id(request.id, "id")))

    async def ListOrders(self, request: pb.ListOrdersRequest, context: ServicerContext) -> pb.ListOrdersResponse:
        deal_id = parse_id(request.deal_id, "deal_id") if request.deal_id else None
        partner_id = parse_id(request.partner_id, "partner_id") if request.partner_id else None
        if deal_id is None and partner_id is None and not request.overdue_only:
            raise InvalidArgument.single("deal_id", "name a deal or a partner, or ask for overdue orders")
        found = await orders.listing(self.db, deal_id, partner_id, request.overdue_only)
        return pb.ListOrdersResponse(orders=[order_out(o) for o in found])

    async def ApproveOrder(self, request: pb.ApproveOrderRequest, context: ServicerContext) -> pb.Order:
        return order_out(await orders.approve(self.db, parse_id(request.id, "id")))

    async def SetOrderState(self, request: pb.SetOrderStateRequest, context: ServicerContext) -> pb.Order:
        order_id = parse_id(request.id, "id")
        if not request.state.strip():
            raise InvalidArgument.single("state", "is required")
        return order_out(await orders.set_state(self.db, order_id, request.state.strip()))

    async def ListOrderStates(
        self, request: pb.ListOrderStatesRequest, context: ServicerContext
    ) -> pb.ListOrderStatesResponse:
        kind = _kind(request.kind)
        return states_out(kind, await orders.list_states(self.db, kind))

    async def SetOrderStates(
        self, request: pb.SetOrderStatesRequest, context: ServicerContext
    ) -> pb.ListOrderStatesResponse:
        kind = _kind(request.kind)
        rows = await orders.set_states(self.db, kind, [(s.code.strip(), s.name) for s in request.states])
        return states_out(kind, rows)

    async def IssueInvoice(self, request: pb.IssueInvoiceRequest, context: ServicerContext) -> pb.Invoice:
        request_id = _request_id(request.request_id)
        order_id = parse_id(request.order_id, "order_id")
        amount = money_in(request.amount, "amount", required=False)
        due_on = parse_date(request.due_on, "due_on")
        if due_on is None:
            raise InvalidArgument.single("due_on", "is required")
        return invoice_out(await settlements.issue_invoice(self.db, order_id, amount, due_on, request_id))

    async def RegisterPayment(self, request: pb.RegisterPaymentRequest, context: ServicerContext) -> pb.Order:
        request_id = _request_id(request.request_id)
        order_id = parse_id(request.order_id, "order_id")
        invoice_id = parse_id(request.invoice_id, "invoice_id") if request.invoice_id else None
        amount = money_in(request.amount, "amount")
        assert amount is not None
        paid = await settlements.register_payment(
            self.db, order_id, amount, invoice_id=invoice_id, request_id=request_id
        )
        return order_out(paid)

    async def RegisterShipment(self, request: pb.RegisterShipmentRequest, context: ServicerContext) -> pb.Order:
        request_id = _request_id(request.request_id)
        order_id = parse_id(request.order_id, "order_id")
        wanted: dict[int, Decimal] = {}
        for i, line in enumerate(request.lines):
            quantity = parse_decimal(line.quantity, f"lines[{i}].quantity")
            if line.line_index in wanted:
                raise InvalidArgument.single(f"lines[{i}].line_index", "named twice")
            wanted[line.line_index] = quantity
        shipped = await settlements.register_shipment(self.db, self.pricing, order_id, wanted, request_id)
        return order_out(shipped)


class ShopApi(pb_grpc.ShopServiceServicer):
    def __init__(self, shops: ShopOrders) -> None:
        self.shops = shops

    async def RegisterShop(self, request: pb.RegisterShopRequest, context: ServicerContext) -> pb.RegisterShopResponse:
        v = Violations()
        if not SHOP_ID.match(request.shop_id):
            v.add("shop_id", "must be 2-60 of a-z, 0-9, _ and -")
        name = clean_text(request.name, "name", v, required=True, limit=200)
        if not request.price_type_id:
            v.add("price_type_id", "is required")
        v.raise_if_any()
        currency = check_currency(request.currency, "currency")
        secret = await self.shops.register(request.shop_id, name, request.price_type_id, currency, request.agreement_id)
        return pb.RegisterShopResponse(shop_id=request.shop_id, webhook_secret=secret)

    async def PushOrder(self, request: pb.PushOrderRequest, context: ServicerContext) -> pb.ShopOrderAnswer:
        shop = await self.shops.shop(current_principal().shop_id)
        c = request.customer
        parsed = parse_order(
            request.shop_order_id,
            ShopCustomer(c.id, c.name, c.phone, c.email),
            [(line.sku, line.quantity) for line in request.lines],
            request.currency,
        )
        return shop_answer(await self.shops.push(shop, parsed))

    async def GetShopOrder(self, request: pb.GetShopOrderRequest, context: ServicerContext) -> pb.ShopOrderAnswer:
        shop = await self.shops.shop(current_principal().shop_id)
        if not request.shop_order_id:
            raise InvalidArgument.single("shop_order_id", "is required")
        return shop_answer(await self.shops.get(shop.id, request.shop_order_id))

    async def PushPayment(self, request: pb.PushPaymentRequest, context: ServicerContext) -> pb.ShopOrderAnswer:
        shop = await self.shops.shop(current_principal().shop_id)
        if not request.shop_order_id:
            raise InvalidArgument.single("shop_order_id", "is required")
        amount = money_in(request.amount, "amount")
        assert amount is not None
        if amount.amount <= 0:
            raise InvalidArgument.single("amount.amount", "must be positive")
        return shop_answer(await self.shops.pay(shop, request.shop_order_id, request.shop_payment_id, amount))

    async def GetCatalogue(self, request: pb.GetCatalogueRequest, context: ServicerContext) -> pb.Catalogue:
        shop = await self.shops.shop(current_principal().shop_id)
        size = min(page_size(request.page.page_size), 100)
        price_type, page, products = await self.shops.pricing.catalogue(
            shop.price_type_id, size, request.page.page_token
        )
        return pb.Catalogue(
            price_type_id=price_type.id,
            price_type_name=price_type.name,
            items=[
                pb.CatalogueItem(product_id=p.product_id, sku=p.sku, name=prod.name, unit=prod.unit, price=p.price)
                for p, prod in zip(page.prices, products, strict=True)
            ],
            page=page.page,
        )


SHOPS = frozenset({Role.SHOP})


def shop_service(shops: ShopOrders) -> GrpcService:
    return GrpcService(
        full_name=pb.DESCRIPTOR.services_by_name["ShopService"].full_name,
        servicer=ShopApi(shops),
        add_to_server=pb_grpc.add_ShopServiceServicer_to_server,
        access={
            "RegisterShop": frozenset({Role.HEAD, Role.OPS}),
            "PushOrder": SHOPS,
            "GetShopOrder": SHOPS,
            "PushPayment": SHOPS,
            "GetCatalogue": SHOPS,
        },
    )
