"""crm.pricing.v1.PricingService: decode, call the use case, encode."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import TypeVar

from crm.common.v1 import common_pb2
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.auth import Role
from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, NotFound
from crm_platform.grpc_server import GrpcService
from crm_platform.ids import parse_id
from crm_platform.money import Money, check_currency, parse_decimal
from crm_platform.paging import PageToken, page_size
from crm_platform.proto_codec import enum_in, enum_out, money_in, money_out, timestamp_out
from pricing import agreements as agreement_cases
from pricing import catalogue, price_lists, price_types, prices, quoting
from pricing.agreements import terms_of
from pricing.domain import (
    AgreementKind,
    AgreementStatus,
    PaymentForm,
    PriceListKind,
    Rounding,
    SaleKind,
    TaxRegime,
    Totals,
    check_amount,
    clean_text,
    parse_amount,
    parse_day,
    parse_percent,
    parse_quantity,
    price_plain,
)
from pricing.memo import remember
from pricing.models import AgreementRow, PriceTypeRow, ProductRow
from pricing.price_list_files import read_csv, read_xlsx
from pricing.price_tables import PriceTables, ProductInfo
from pricing.repository import AgreementRepository, PriceRepository, PriceTypeRepository, ProductRepository

T = TypeVar("T")
MAX_REQUEST_ID = 120
MAX_LINES = 1000
MAX_MARKUP = 1000
M = common_pb2.Money
READERS = frozenset({Role.MANAGER, Role.HEAD, Role.OPS, Role.SERVICE, Role.SHOP})


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _request_id(value: str) -> str | None:
    if len(value) > MAX_REQUEST_ID:
        raise InvalidArgument.single("request_id", f"longer than {MAX_REQUEST_ID} characters")
    return value or None


def _optional_id(value: str, field: str) -> uuid.UUID | None:
    """An optional id (a partner, an agreement): the same few come again and again, so parsed once."""
    if not value:
        return None
    return _IDS.get(value) or _memo(_IDS, value, parse_id, field)


def _today() -> date:
    return utcnow().date()


def _page_response(token: str) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_page_token=token, total_size=-1)


def product_out(row: ProductRow) -> pb.Product:
    return pb.Product(
        id=str(row.id),
        sku=row.sku,
        name=row.name,
        unit=row.unit,
        vat_rate=_plain(row.vat_rate.normalize()),
        cost=money_out(M, Money(price_plain(row.cost), row.cost_currency)),
        created_at=timestamp_out(row.created_at),
        version=row.version,
    )


def price_type_out(row: PriceTypeRow) -> pb.PriceType:
    message = pb.PriceType(
        id=str(row.id),
        name=row.name,
        currency=row.currency,
        includes_vat=row.includes_vat,
        is_default=row.is_default,
        updated_at=timestamp_out(row.updated_at),
    )
    rule = price_types.rule_of(row)
    if rule is not None:
        message.rule.CopyFrom(
            pb.DerivationRule(
                base_price_type_id=str(rule.base_id),
                markup_percent=_plain(rule.markup_percent.normalize()),
                rounding_step=_plain(rule.step.normalize()),
                rounding_mode=enum_out(rule.rounding, pb.RoundingMode, "ROUNDING_MODE_"),
            )
        )
    return message


def agreement_out(row: AgreementRow) -> pb.Agreement:
    terms = terms_of(row)
    return pb.Agreement(
        id=str(row.id),
        name=row.name,
        kind=enum_out(row.kind, pb.AgreementKind, "AGREEMENT_KIND_"),
        segment=row.segment,
        partner_id=str(row.partner_id) if row.partner_id else "",
        base_agreement_id=str(row.base_agreement_id) if row.base_agreement_id else "",
        terms=pb.AgreementTerms(
            price_type_id=str(terms.price_type_id) if terms.price_type_id else "",
            currency=terms.currency,
            discount_percent=_plain(terms.discount_percent.normalize()),
            manual_discount_limit_percent=_plain(terms.manual_discount_limit_percent.normalize()),
            prepayment_percent=_plain(terms.prepayment_percent.normalize()),
            credit_days=terms.credit_days,
            payment_form=enum_out(terms.payment_form, pb.PaymentForm, "PAYMENT_FORM_"),
            tax_regime=enum_out(terms.tax_regime, pb.TaxRegime, "TAX_REGIME_"),
            delivery_terms=terms.delivery_terms,
            sale_kind=enum_out(terms.sale_kind, pb.SaleKind, "SALE_KIND_"),
            contract_required=terms.contract_required,
            returnable_packaging=terms.returnable_packaging,
        ),
        valid_from=row.valid_from.isoformat(),
        valid_to=row.valid_to.isoformat() if row.valid_to else "",
        status=enum_out(row.status, pb.AgreementStatus, "AGREEMENT_STATUS_"),
        updated_at=timestamp_out(row.updated_at),
        version=row.version,
    )


def _rule_in(message: pb.DerivationRule) -> price_types.RuleInput:
    base_id = parse_id(message.base_price_type_id, "rule.base_price_type_id")
    markup = check_amount(
        parse_decimal(message.markup_percent or "0", "rule.markup_percent", allow_negative=True),
        "rule.markup_percent",
    )
    if markup > MAX_MARKUP:
        raise InvalidArgument.single("rule.markup_percent", f"at most {MAX_MARKUP}%")
    step = parse_amount(message.rounding_step or "0.01", "rule.rounding_step")
    if step <= 0:
        raise InvalidArgument.single("rule.rounding_step", "must be greater than zero")
    rounding = Rounding.HALF_UP
    if message.rounding_mode:
        rounding = enum_in(message.rounding_mode, pb.RoundingMode, "ROUNDING_MODE_", Rounding, "rule.rounding_mode")
    return price_types.RuleInput(base_id, markup, step, rounding)


def _terms_in(message: pb.AgreementTerms) -> dict[str, object]:
    """Only the terms the caller set: an individual agreement inherits the rest from its base."""
    out: dict[str, object] = {}
    if message.HasField("price_type_id"):
        out["price_type_id"] = parse_id(message.price_type_id, "terms.price_type_id")
    if message.HasField("currency"):
        out["currency"] = check_currency(message.currency, "terms.currency") if message.currency else ""
    for name in ("discount_percent", "manual_discount_limit_percent", "prepayment_percent"):
        if message.HasField(name):
            out[name] = parse_percent(
                getattr(message, name), f"terms.{name}", allow_negative=name == "discount_percent"
            )
    if message.HasField("credit_days"):
        out["credit_days"] = message.credit_days
    if message.HasField("payment_form"):
        out["payment_form"] = enum_in(
            message.payment_form, pb.PaymentForm, "PAYMENT_FORM_", PaymentForm, "terms.payment_form"
        )
    if message.HasField("tax_regime"):
        out["tax_regime"] = enum_in(message.tax_regime, pb.TaxRegime, "TAX_REGIME_", TaxRegime, "terms.tax_regime")
    if message.HasField("sale_kind"):
        out["sale_kind"] = enum_in(message.sale_kind, pb.SaleKind, "SALE_KIND_", SaleKind, "terms.sale_kind")
    if message.HasField("delivery_terms"):
        out["delivery_terms"] = " ".join(message.delivery_terms.split())[:300]
    for flag in ("contract_required", "returnable_packaging"):
        if message.HasField(flag):
            out[flag] = getattr(message, flag)
    return out


def _expected_version(value: int) -> int:
    if value < 0:
        raise InvalidArgument.single("expected_version", "must not be negative")
    return value


def _product_changes(request: pb.UpdateProductRequest) -> catalogue.ProductChanges:
    cost = None
    if request.HasField("cost"):
        cost = money_in(request.cost, "cost")
        assert cost is not None
        catalogue.check_cost(cost)
    return catalogue.ProductChanges(
        sku=catalogue.check_sku(request.sku) if request.HasField("sku") else None,
        name=catalogue.check_name(request.name) if request.HasField("name") else None,
        unit=catalogue.check_unit(request.unit) if request.HasField("unit") else None,
        vat_rate=catalogue.parse_vat_rate(request.vat_rate) if request.HasField("vat_rate") else None,
        cost=cost,
    )


def _agreement_changes(request: pb.UpdateAgreementRequest) -> agreement_cases.AgreementChanges:
    valid_to = None
    if request.HasField("valid_to") and request.valid_to.strip():
        valid_to = parse_day(request.valid_to, "valid_to")
    return agreement_cases.AgreementChanges(
        name=clean_text(request.name, "name") if request.HasField("name") else None,
        terms=_terms_in(request.terms),
        valid_from=parse_day(request.valid_from, "valid_from") if request.HasField("valid_from") else None,
        valid_to_set=request.HasField("valid_to"),
        valid_to=valid_to,
    )


def _product_ref(product_id: str, sku: str, field: str) -> tuple[uuid.UUID | None, str]:
    if product_id:
        return parse_id(product_id, f"{field}.product_id" if field else "id"), ""
    if not sku.strip():
        raise InvalidArgument.single(f"{field}.product_id", "a product id or SKU is required")
    return None, sku.strip()


def _money(value: Decimal, currency: str) -> common_pb2.Money:
    return M(amount=_plain(value), currency=currency)


def _fill_money(fields: Sequence[tuple[common_pb2.Money, Decimal]], currency: str) -> None:
    """Fills Money fields in place: a Money message built apart and copied in costs twice as much."""
    for field, value in fields:
        field.amount = _plain(value)
        field.currency = currency


def _fill_totals(out: pb.QuoteResponse, totals: Totals, currency: str) -> None:
    _fill_money(
        (
            (out.amount, totals.amount),
            (out.discount, totals.discount),
            (out.vat, totals.vat),
            (out.total, totals.total),
        ),
        currency,
    )


def _fill_profitability(out: pb.Profitability, totals: Totals, currency: str) -> None:
    _fill_money(((out.revenue, totals.revenue), (out.cost, totals.cost), (out.margin, totals.margin)), currency)
    out.margin_percent = _plain(totals.margin_percent)


# Parsed ids, quantities and percents by their text: quotes name the same products and
# quantities again and again, and parsing (uuid.UUID(), Decimal checks) was the dearest part of
# reading a line. Only valid values are kept.
_IDS: dict[str, uuid.UUID] = {}
_QUANTITIES: dict[str, tuple[Decimal, str]] = {}
_PERCENTS: dict[str, Decimal] = {}


def _quantity_and_text(text: str, field: str) -> tuple[Decimal, str]:
    quantity = parse_quantity(text, field)
    return quantity, _plain(quantity)


def _memo(memo: dict[str, T], text: str, parse: Callable[[str, str], T], field: str) -> T:
    return remember(memo, text, parse(text, field))


_PERCENT_TEXTS: dict[Decimal, str] = {}


def _percent_text(value: Decimal) -> str:
    """2.50 → "2.5": a line's discount percent as Quote writes it (a handful of distinct values)."""
    found = _PERCENT_TEXTS.get(value)
    if found is None:
        found = remember(_PERCENT_TEXTS, value, _plain(value.normalize()) if value else "0")
    return found


# A quoted line's fixed part per product, currency and VAT basis: the product's id, SKU, name
# and VAT rate and the currency of its five amounts. Copying it into a reply is one C-level
# copy where writing those fields was nine. A product changed in the catalogue is a new
# ProductInfo, so a template made from the old one is not used again.
_LINE_TEMPLATES: dict[tuple[int, str, bool], tuple[ProductInfo, pb.QuotedLine]] = {}


def _line_template(product: ProductInfo, currency: str, zero_vat: bool) -> pb.QuotedLine:
    key = (product.id.int, currency, zero_vat)
    found = _LINE_TEMPLATES.get(key)
    if found is None or found[0] is not product:
        vat_rate = "0" if zero_vat else product.vat_text
        line = pb.QuotedLine(product_id=product.id_text, sku=product.sku, name=product.name, vat_rate=vat_rate)
        for money in (line.price, line.amount, line.discount, line.vat, line.total):
            money.currency = currency
        found = remember(_LINE_TEMPLATES, key, (product, line))
    return found[1]


def _line_refs(lines: Sequence[pb.QuoteLine] | Sequence[pb.DocumentLine], discount: str) -> list[quoting.LineRef]:
    """Quote's and CheckTerms' lines: a product by id or SKU, a quantity, a discount percent."""
    if not lines:
        raise InvalidArgument.single("lines", "at least one line is required")
    if len(lines) > MAX_LINES:
        raise InvalidArgument.single("lines", f"at most {MAX_LINES} lines")
    refs = []
    zero = Decimal(0)
    ids, quantities, percents = _IDS, _QUANTITIES, _PERCENTS
    ref = quoting.LineRef
    for i, line in enumerate(lines):
        text = line.product_id
        if text:
            product_id = ids.get(text) or _memo(ids, text, parse_id, f"lines[{i}].product_id")
            sku = ""
        else:
            product_id, sku = _product_ref("", line.sku, f"lines[{i}]")
        text = line.quantity
        quantity, quantity_text = quantities.get(text) or _memo(
            quantities, text, _quantity_and_text, f"lines[{i}].quantity"
        )
        text = getattr(line, discount)
        if not text.strip():
            percent = zero
        elif (percent := percents.get(text)) is None:  # a percent may be zero: not `or`
            percent = _memo(percents, text, parse_percent, f"lines[{i}].{discount}")
        refs.append(ref(product_id, sku, quantity, percent, None, quantity_text))
    return refs


def _violations_out(found: list) -> list[pb.Violation]:  # type: ignore[type-arg]
    return [
        pb.Violation(
            code=enum_out(v.code, pb.ViolationCode, "VIOLATION_CODE_"), line_index=v.line_index, message=v.message
        )
        for v in found
    ]


class PricingApi(pb_grpc.PricingServiceServicer):
    def __init__(self, db: Database, tables: PriceTables) -> None:
        self.db = db
        self.tables = tables

    # ------------------------------------------------------------ catalogue

    async def CreateProduct(self, request: pb.CreateProductRequest, context: ServicerContext) -> pb.Product:
        request_id = _request_id(request.request_id)
        cost = money_in(request.cost, "cost")
        assert cost is not None
        row = catalogue.new_product(request.sku, request.name, request.unit, request.vat_rate, cost)
        return product_out(await catalogue.create_product(self.db, row, request_id))

    async def UpdateProduct(self, request: pb.UpdateProductRequest, context: ServicerContext) -> pb.Product:
        product_id = parse_id(request.id, "id")
        expected = _expected_version(request.expected_version)
        changes = _product_changes(request)
        return product_out(await catalogue.update_product(self.db, self.tables, product_id, changes, expected))

    async def GetProduct(self, request: pb.GetProductRequest, context: ServicerContext) -> pb.Product:
        if not request.id and not request.sku.strip():
            raise InvalidArgument.single("id", "a product id or SKU is required")
        product_id, sku = _product_ref(request.id, request.sku, "")
        async with self.db.reading() as session:
            repo = ProductRepository(session)
            row = await repo.get(product_id) if product_id else await repo.by_sku(sku)
        if row is None:
            raise NotFound(f"product {request.id or request.sku} not found")
        return product_out(row)

    async def ListProducts(self, request: pb.ListProductsRequest, context: ServicerContext) -> pb.ListProductsResponse:
        size = page_size(request.page.page_size)
        after = PageToken.decode(request.page.page_token)
        from crm_platform.text import fold

        async with self.db.reading() as session:
            rows = await ProductRepository(session).page(size + 1, after, fold(request.query))
        token = PageToken(rows[size - 1].name, rows[size - 1].id).encode() if len(rows) > size else ""
        return pb.ListProductsResponse(products=[product_out(r) for r in rows[:size]], page=_page_response(token))

    # ------------------------------------------------------------ price types and prices

    async def CreatePriceType(self, request: pb.CreatePriceTypeRequest, context: ServicerContext) -> pb.PriceType:
        request_id = _request_id(request.request_id)
        rule = _rule_in(request.rule) if request.HasField("rule") else None
        currency = "" if rule is not None else check_currency(request.currency, "currency")
        row = await price_types.create_price_type(
            self.db,
            self.tables,
            name=request.name,
            currency=currency,
            includes_vat=request.includes_vat,
            rule=rule,
            is_default=request.is_default,
            request_id=request_id,
        )
        return price_type_out(row)

    async def UpdatePriceType(self, request: pb.UpdatePriceTypeRequest, context: ServicerContext) -> pb.PriceType:
        type_id = parse_id(request.id, "id")
        rule = _rule_in(request.rule) if request.HasField("rule") else None
        row = await price_types.update_price_type(
            self.db, self.tables, type_id, name=request.name, rule=rule, make_default=request.make_default
        )
        return price_type_out(row)

    async def GetPriceType(self, request: pb.GetPriceTypeRequest, context: ServicerContext) -> pb.PriceType:
        type_id = parse_id(request.id, "id")
        async with self.db.reading() as session:
            row = await PriceTypeRepository(session).get(type_id)
        if row is None:
            raise NotFound(f"price type {type_id} not found")
        return price_type_out(row)

    async def ListPriceTypes(
        self, request: pb.ListPriceTypesRequest, context: ServicerContext
    ) -> pb.ListPriceTypesResponse:
        size = page_size(request.page.page_size)
        after = PageToken.decode(request.page.page_token)
        async with self.db.reading() as session:
            rows = await PriceTypeRepository(session).page(size + 1, after)
        token = PageToken(rows[size - 1].name, rows[size - 1].id).encode() if len(rows) > size else ""
        return pb.ListPriceTypesResponse(
            price_types=[price_type_out(r) for r in rows[:size]], page=_page_response(token)
        )

    async def SetPrices(self, request: pb.SetPricesRequest, context: ServicerContext) -> pb.SetPricesResponse:
        type_id = parse_id(request.price_type_id, "price_type_id")
        on = parse_day(request.effective_from, "effective_from")
        if not request.prices:
            raise InvalidArgument.single("prices", "at least one price is required")
        if len(request.prices) > prices.MAX_PRICES_PER_CALL:
            raise InvalidArgument.single("prices", f"at most {prices.MAX_PRICES_PER_CALL} per call")
        refs = [_product_ref(p.product_id, p.sku, f"prices[{i}]") for i, p in enumerate(request.prices)]
        amounts = [parse_amount(p.price, f"prices[{i}].price") for i, p in enumerate(request.prices)]
        by_id, by_sku = await self.tables.products([r[0] for r in refs if r[0]], [r[1] for r in refs if not r[0]])
        resolved: dict[uuid.UUID, Decimal] = {}
        for i, ((product_id, sku), amount) in enumerate(zip(refs, amounts, strict=True)):
            found = product_id if product_id is not None and product_id.int in by_id else by_sku.get(sku)
            if found is None:
                field = f"prices[{i}].product_id" if product_id else f"prices[{i}].sku"
                raise InvalidArgument.single(field, f"unknown product {product_id or sku!r}")
            if found in resolved:
                raise InvalidArgument.single(f"prices[{i}]", "the product is listed twice")
            resolved[found] = amount
        set_count, derived = await prices.set_prices(self.db, self.tables, type_id, on, list(resolved.items()))
        return pb.SetPricesResponse(prices_set=set_count, derived_recalculated=derived)

    async def ListPrices(self, request: pb.ListPricesRequest, context: ServicerContext) -> pb.ListPricesResponse:
        type_id = parse_id(request.price_type_id, "price_type_id")
        on = parse_day(request.on, "on", default=_today())
        size = page_size(request.page.page_size)
        after = PageToken.decode(request.page.page_token)
        price_type = await self.tables.price_type(type_id)
        if price_type is None:
            raise NotFound(f"price type {type_id} not found")
        async with self.db.reading() as session:
            rows = await PriceRepository(session).in_force_page(type_id, on, size + 1, after.id if after else None)
        token = PageToken("", rows[size - 1][0]).encode() if len(rows) > size else ""
        return pb.ListPricesResponse(
            prices=[
                pb.Price(
                    product_id=str(p),
                    sku=sku,
                    price_type_id=str(type_id),
                    price=_money(price_plain(amount), price_type.currency),
                    effective_from=effective.isoformat(),
                    derived=derived,
                )
                for p, sku, effective, amount, derived in rows[:size]
            ],
            page=_page_response(token),
        )

    # ------------------------------------------------------------ rates

    async def SetExchangeRate(self, request: pb.SetExchangeRateRequest, context: ServicerContext) -> pb.ExchangeRate:
        source = check_currency(request.from_currency, "from_currency")
        target = check_currency(request.to_currency, "to_currency")
        if source == target:
            raise InvalidArgument.single("to_currency", "must differ from from_currency")
        rate = parse_amount(request.rate, "rate", places=10)
        if rate <= 0:
            raise InvalidArgument.single("rate", "must be greater than zero")
        on = parse_day(request.on, "on")
        await prices.set_rate(self.db, self.tables, source, target, on, rate)
        return pb.ExchangeRate(from_currency=source, to_currency=target, rate=_plain(rate), on=on.isoformat())

    async def Convert(self, request: pb.ConvertRequest, context: ServicerContext) -> pb.ConvertResponse:
        amount = money_in(request.amount, "amount", allow_negative=True)
        assert amount is not None
        check_amount(amount.amount, "amount.amount", places=10)
        target = check_currency(request.to_currency, "to_currency")
        on = parse_day(request.on, "on", default=_today())
        rate, rate_on = await self.tables.rate(amount.currency, target, on)
        converted = Money(amount.amount * rate, target).rounded()
        return pb.ConvertResponse(
            amount=money_out(M, converted), rate=_plain(rate.normalize()), rate_on=rate_on.isoformat()
        )

    # ------------------------------------------------------------ agreements

    async def CreateAgreement(self, request: pb.CreateAgreementRequest, context: ServicerContext) -> pb.Agreement:
        request_id = _request_id(request.request_id)
        kind = enum_in(request.kind, pb.AgreementKind, "AGREEMENT_KIND_", AgreementKind, "kind")
        row = await agreement_cases.create_agreement(
            self.db,
            name=request.name,
            kind=kind,
            segment=request.segment,
            partner_id=_optional_id(request.partner_id, "partner_id"),
            base_id=_optional_id(request.base_agreement_id, "base_agreement_id"),
            overrides=_terms_in(request.terms),
            valid_from=parse_day(request.valid_from, "valid_from"),
            valid_to=parse_day(request.valid_to, "valid_to") if request.valid_to else None,
            request_id=request_id,
        )
        return agreement_out(row)

    async def GetAgreement(self, request: pb.GetAgreementRequest, context: ServicerContext) -> pb.Agreement:
        agreement_id = parse_id(request.id, "id")
        async with self.db.reading() as session:
            row = await AgreementRepository(session).get(agreement_id)
        if row is None:
            raise NotFound(f"agreement {agreement_id} not found")
        return agreement_out(row)

    async def ListAgreements(
        self, request: pb.ListAgreementsRequest, context: ServicerContext
    ) -> pb.ListAgreementsResponse:
        size = page_size(request.page.page_size)
        after = PageToken.decode(request.page.page_token)
        status = ""
        if request.status:
            status = enum_in(request.status, pb.AgreementStatus, "AGREEMENT_STATUS_", AgreementStatus, "status").value
        async with self.db.reading() as session:
            rows = await AgreementRepository(session).page(
                size + 1,
                after.id if after else None,
                partner_id=_optional_id(request.partner_id, "partner_id"),
                segment=request.segment.strip(),
                status=status,
            )
        token = PageToken("", rows[size - 1].id).encode() if len(rows) > size else ""
        return pb.ListAgreementsResponse(agreements=[agreement_out(r) for r in rows[:size]], page=_page_response(token))

    async def UpdateAgreement(self, request: pb.UpdateAgreementRequest, context: ServicerContext) -> pb.Agreement:
        agreement_id = parse_id(request.id, "id")
        expected = _expected_version(request.expected_version)
        changes = _agreement_changes(request)
        row = await agreement_cases.update_agreement(self.db, self.tables, agreement_id, changes, expected)
        return agreement_out(row)

    async def AgreeAgreement(self, request: pb.AgreementTransitionRequest, context: ServicerContext) -> pb.Agreement:
        row = await agreement_cases.transition(self.db, self.tables, parse_id(request.id, "id"), AgreementStatus.AGREED)
        return agreement_out(row)

    async def CloseAgreement(self, request: pb.AgreementTransitionRequest, context: ServicerContext) -> pb.Agreement:
        row = await agreement_cases.transition(self.db, self.tables, parse_id(request.id, "id"), AgreementStatus.CLOSED)
        return agreement_out(row)

    # ------------------------------------------------------------ quote and terms

    def _party(self, partner_id: str, agreement_id: str) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        return _optional_id(partner_id, "partner_id"), _optional_id(agreement_id, "agreement_id")

    async def Quote(self, request: pb.QuoteRequest, context: ServicerContext) -> pb.QuoteResponse:
        partner_id, agreement_id = self._party(request.partner_id, request.agreement_id)
        on = parse_day(request.on, "on") if request.on else _today()
        currency = check_currency(request.currency, "currency") if request.currency else ""
        lines = _line_refs(request.lines, "manual_discount_percent")
        priced = await quoting.quote(
            self.tables, partner_id=partner_id, agreement_id=agreement_id, on=on, currency=currency, lines=lines
        )
        cur = priced.currency
        totals = priced.totals
        reply = pb.QuoteResponse(
            agreement_id=str(priced.agreement.id) if priced.agreement else "",
            price_type_id=str(priced.price_type.id),
            on=on.isoformat(),
        )
        _fill_totals(reply, totals, cur)
        _fill_profitability(reply.profitability, totals, cur)
        if priced.violations:
            reply.violations.extend(_violations_out(priced.violations))
        # The lines are most of a Quote's own time: each starts as a copy of its product's
        # template and only the computed fields are written. Amounts are quantized to cents, so
        # str() never gives an exponent form.
        add = reply.lines.add
        for r, product, ref in zip(priced.lines, priced.products, lines, strict=True):
            out = add()
            out.CopyFrom(_line_template(product, cur, not r.vat_rate))
            out.quantity = ref.quantity_text
            out.discount_percent = _percent_text(r.discount_percent)
            out.price.amount = str(r.price)
            out.amount.amount = str(r.amount)
            out.discount.amount = str(r.discount)
            out.vat.amount = str(r.vat)
            out.total.amount = str(r.total)
        return reply

    async def CheckTerms(self, request: pb.CheckTermsRequest, context: ServicerContext) -> pb.CheckTermsResponse:
        partner_id, agreement_id = self._party(request.partner_id, request.agreement_id)
        if partner_id is None and agreement_id is None:
            raise InvalidArgument.single("agreement_id", "an agreement id or a partner id is required")
        currency = check_currency(request.currency, "currency")
        on = parse_day(request.on, "on", default=_today())
        if not request.lines:
            raise InvalidArgument.single("lines", "at least one line is required")
        if len(request.lines) > MAX_LINES:
            raise InvalidArgument.single("lines", f"at most {MAX_LINES} lines")
        lines = _line_refs(request.lines, "discount_percent")
        for i, (ref, line) in enumerate(zip(lines, request.lines, strict=True)):
            ref.unit_price = parse_amount(line.unit_price, f"lines[{i}].unit_price")
        prepayment = money_in(request.prepayment, "prepayment", required=False)
        if prepayment is not None:
            check_amount(prepayment.amount, "prepayment.amount")
        if prepayment is not None and prepayment.currency != currency:
            raise InvalidArgument.single("prepayment.currency", f"must be the document's currency {currency}")
        priced = await quoting.check_terms(
            self.tables,
            partner_id=partner_id,
            agreement_id=agreement_id,
            on=on,
            currency=currency,
            lines=lines,
            prepayment=prepayment.amount if prepayment else Decimal(0),
        )
        reply = pb.CheckTermsResponse(
            ok=not priced.violations,
            violations=_violations_out(priced.violations),
            agreement_id=str(priced.agreement.id) if priced.agreement else "",
            total=_money(priced.totals.total, currency),
        )
        if priced.costs_known:
            _fill_profitability(reply.profitability, priced.totals, currency)
        return reply

    # ------------------------------------------------------------ price lists

    async def ImportPriceList(
        self, request: pb.ImportPriceListRequest, context: ServicerContext
    ) -> pb.ImportPriceListResponse:
        request_id = _request_id(request.request_id)
        kind = enum_in(request.kind, pb.PriceListKind, "PRICE_LIST_KIND_", PriceListKind, "kind")
        currency = check_currency(request.currency, "currency")
        on = parse_day(request.on, "on", default=_today())
        if not request.content:
            raise InvalidArgument.single("content", "is empty")
        if request.format == pb.FILE_FORMAT_CSV:
            rows = read_csv(request.content)
        elif request.format == pb.FILE_FORMAT_XLSX:
            rows = read_xlsx(request.content)
        else:
            raise InvalidArgument.single("format", "CSV or XLSX")
        result = await price_lists.import_price_list(
            self.db,
            name=request.name,
            kind=kind.value,
            partner_id=_optional_id(request.partner_id, "partner_id"),
            currency=currency,
            on=on,
            rows=rows,
            request_id=request_id,
        )
        return pb.ImportPriceListResponse(
            price_list_id=str(result.price_list_id),
            rows=result.rows,
            matched=result.matched,
            unmatched=[pb.UnmatchedRow(row=u.row, sku=u.sku, name=u.name, reason=u.reason) for u in result.unmatched],
        )

    async def ComparePriceList(
        self, request: pb.ComparePriceListRequest, context: ServicerContext
    ) -> pb.ComparePriceListResponse:
        list_id = parse_id(request.price_list_id, "price_list_id")
        type_id = parse_id(request.price_type_id, "price_type_id")
        on = parse_day(request.on, "on", default=_today())
        currency, rows = await price_lists.compare(self.db, self.tables, list_id, type_id, on)
        out = []
        for c in rows:
            row = pb.ComparisonRow(
                product_id=str(c.product_id), sku=c.sku, name=c.name, their_price=_money(c.theirs, currency)
            )
            if c.ours is not None and c.difference is not None:
                row.our_price.CopyFrom(_money(c.ours, currency))
                row.difference.CopyFrom(_money(c.difference, currency))
                row.difference_percent = _plain(c.difference_percent) if c.difference_percent is not None else ""
            out.append(row)
        return pb.ComparePriceListResponse(rows=out)


def grpc_service(db: Database, tables: PriceTables) -> GrpcService:
    readers = {
        m: READERS
        for m in ("GetProduct", "ListProducts", "GetPriceType", "ListPriceTypes", "ListPrices", "Quote", "Convert")
    }
    return GrpcService(
        full_name=pb.DESCRIPTOR.services_by_name["PricingService"].full_name,
        servicer=PricingApi(db, tables),
        add_to_server=pb_grpc.add_PricingServiceServicer_to_server,
        access=readers,
    )
