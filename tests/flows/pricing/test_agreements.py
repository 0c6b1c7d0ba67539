"""Agreements (typical per segment, individual based on a typical one) and control of terms."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

import grpc
import pytest
from aiokafka import AIOKafkaProducer
from crm.common.v1 import common_pb2
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc

from crm_platform.events import DomainEvent, Envelope
from crm_platform.testing import KafkaProbe, header
from tests.flows.pricing.conftest import MANAGER, base_type, product, set_price, uniq

pytestmark = pytest.mark.flow


class PartnerRegistered(DomainEvent):
    """What partners publishes (more fields than pricing reads)."""

    TOPIC: ClassVar[str] = "crm.partners.partner.v1"
    TYPE: ClassVar[str] = "crm.partners.partner.registered"
    KEY_FIELD: ClassVar[str] = "partner_id"

    partner_id: uuid.UUID
    name: str
    roles: list[str]
    manager_id: str
    segment: str
    region: str
    registered_at: datetime
    version: int


async def register_partner(producer: AIOKafkaProducer, segment: str) -> uuid.UUID:
    partner_id = uuid.uuid4()
    event = PartnerRegistered(
        partner_id=partner_id,
        name="ТОВ «Агроспецторг»",
        roles=["client", "dealer"],
        manager_id="olena.kovalenko",
        segment=segment,
        region="Полтавська область",
        registered_at=datetime.now(UTC),
        version=1,
    )
    envelope = Envelope.wrap(event, source="crm/partners")
    await producer.send_and_wait(
        event.TOPIC,
        envelope.data,
        key=str(partner_id).encode(),
        headers=[(k, v.encode()) for k, v in envelope.headers().items()],
    )
    return partner_id


def terms(**values: object) -> pb.AgreementTerms:
    return pb.AgreementTerms(**values)  # type: ignore[arg-type]


async def agreement(stub: pb_grpc.PricingServiceStub, **fields: object) -> pb.Agreement:
    return await stub.CreateAgreement(pb.CreateAgreementRequest(request_id=uniq("a"), **fields), metadata=MANAGER)  # type: ignore[arg-type]


async def quote_until(
    stub: pb_grpc.PricingServiceStub, request: pb.QuoteRequest, agreement_id: str, timeout: float = 30
) -> pb.QuoteResponse:
    """Quote once the partner's segment (learnt from partners' event) selects the agreement."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            found = await stub.Quote(request, metadata=MANAGER)
            if found.agreement_id == agreement_id:
                return found
        except grpc.aio.AioRpcError as exc:  # no default price type in this database yet
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the partner's segment never selected the agreement")
        await asyncio.sleep(0.3)


async def test_typical_and_individual_agreements_set_the_prices(
    stub: pb_grpc.PricingServiceStub, kafka_producer: AIOKafkaProducer
) -> None:
    segment = uniq("Дилери")
    wholesale = await base_type(stub, "Оптова ціна", includes_vat=False)
    dealer = await base_type(stub, "Дилерська ціна", includes_vat=False)
    item = await product(stub, "Мотоблок «Кентавр» МБ 2060Д", vat="20", cost="20000")
    await set_price(stub, wholesale, item, "30000", "2026-01-01")
    await set_price(stub, dealer, item, "27000", "2026-01-01")

    typical = await agreement(
        stub,
        name="Типова угода з дилерами",
        kind=pb.AGREEMENT_KIND_TYPICAL,
        segment=segment,
        valid_from="2026-01-01",
        valid_to="2026-12-31",
        terms=terms(
            price_type_id=wholesale.id,
            currency="UAH",
            discount_percent="5",
            manual_discount_limit_percent="3",
            prepayment_percent="30",
            credit_days=14,
            payment_form=pb.PAYMENT_FORM_BANK_TRANSFER,
            tax_regime=pb.TAX_REGIME_VAT,
            delivery_terms="доставка за рахунок постачальника",
            sale_kind=pb.SALE_KIND_WHOLESALE,
            contract_required=True,
            returnable_packaging=True,
        ),
    )
    assert typical.status == pb.AGREEMENT_STATUS_DRAFT
    async with KafkaProbe("crm.pricing.agreement.v1") as probe:
        agreed = await stub.AgreeAgreement(pb.AgreementTransitionRequest(id=typical.id), metadata=MANAGER)
        assert agreed.status == pb.AGREEMENT_STATUS_AGREED
        record = await probe.wait_for(lambda r: header(r, "ce_subject") == typical.id)
        assert header(record, "ce_type") == "crm.pricing.agreement.agreed"
        assert json.loads(record.value)["segment"] == segment

    partner_id = await register_partner(kafka_producer, segment)
    request = pb.QuoteRequest(
        partner_id=str(partner_id), on="2026-05-05", lines=[pb.QuoteLine(product_id=item.id, quantity="2")]
    )
    by_segment = await quote_until(stub, request, typical.id)
    assert by_segment.agreement_id == typical.id
    assert by_segment.price_type_id == wholesale.id
    line = by_segment.lines[0]
    assert Decimal(line.amount.amount) == Decimal("60000.00")
    assert line.discount_percent == "5"
    assert Decimal(line.discount.amount) == Decimal("3000.00")
    assert Decimal(line.vat.amount) == Decimal("11400.00")  # on top: prices without VAT
    assert Decimal(line.total.amount) == Decimal("68400.00")
    assert Decimal(by_segment.profitability.margin.amount) == Decimal("17000.00")  # 57000 - 2*20000

    individual = await agreement(
        stub,
        name="Індивідуальна угода з ТОВ «Агроспецторг»",
        kind=pb.AGREEMENT_KIND_INDIVIDUAL,
        partner_id=str(partner_id),
        base_agreement_id=typical.id,
        valid_from="2026-03-01",
        terms=terms(price_type_id=dealer.id, discount_percent="0", prepayment_percent="0"),
    )
    assert individual.terms.manual_discount_limit_percent == "3"  # inherited
    assert individual.terms.delivery_terms == "доставка за рахунок постачальника"
    assert individual.terms.contract_required
    assert individual.terms.price_type_id == dealer.id  # overridden
    await stub.AgreeAgreement(pb.AgreementTransitionRequest(id=individual.id), metadata=MANAGER)
    personal = await stub.Quote(request, metadata=MANAGER)
    assert personal.agreement_id == individual.id
    assert Decimal(personal.lines[0].amount.amount) == Decimal("54000.00")

    overlapping = await agreement(
        stub,
        name="Ще одна угода",
        kind=pb.AGREEMENT_KIND_INDIVIDUAL,
        partner_id=str(partner_id),
        base_agreement_id=typical.id,
        valid_from="2026-12-01",
        valid_to="2027-01-31",
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.AgreeAgreement(pb.AgreementTransitionRequest(id=overlapping.id), metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "overlaps" in (caught.value.details() or "")

    closed = await stub.CloseAgreement(pb.AgreementTransitionRequest(id=individual.id), metadata=MANAGER)
    assert closed.status == pb.AGREEMENT_STATUS_CLOSED
    assert (await stub.Quote(request, metadata=MANAGER)).agreement_id == typical.id
    listed = await stub.ListAgreements(pb.ListAgreementsRequest(partner_id=str(partner_id)), metadata=MANAGER)
    assert {a.id for a in listed.agreements} == {individual.id, overlapping.id}


async def test_check_terms_reports_every_broken_term_with_its_line(stub: pb_grpc.PricingServiceStub) -> None:
    price_type = await base_type(stub, "Ціна для контролю")
    cheap = await product(stub, "Фарба фасадна «Снєжка», 10 л")
    dear = await product(stub, "Грунтовка глибокого проникнення, 5 л")
    await set_price(stub, price_type, cheap, "1500", "2026-01-01")
    await set_price(stub, price_type, dear, "480", "2026-01-01")
    partner_id = str(uuid.uuid4())
    deal = await agreement(
        stub,
        name="Угода з ФОП Бондаренко",
        kind=pb.AGREEMENT_KIND_INDIVIDUAL,
        partner_id=partner_id,
        valid_from="2026-01-01",
        valid_to="2026-06-30",
        terms=terms(
            price_type_id=price_type.id, currency="UAH", manual_discount_limit_percent="5", prepayment_percent="50"
        ),
    )
    await stub.AgreeAgreement(pb.AgreementTransitionRequest(id=deal.id), metadata=MANAGER)

    def lines() -> list[pb.DocumentLine]:
        return [
            pb.DocumentLine(product_id=cheap.id, quantity="2", unit_price="1500", discount_percent="5"),
            pb.DocumentLine(product_id=dear.id, quantity="10", unit_price="450", discount_percent="0"),
            pb.DocumentLine(sku=cheap.sku, quantity="1", unit_price="1500", discount_percent="12"),
        ]

    checked = await stub.CheckTerms(
        pb.CheckTermsRequest(
            partner_id=partner_id,
            currency="UAH",
            on="2026-02-10",
            lines=lines(),
            prepayment=common_pb2.Money(amount="1000", currency="UAH"),
        ),
        metadata=MANAGER,
    )
    assert not checked.ok
    assert checked.agreement_id == deal.id
    found = {(v.code, v.line_index) for v in checked.violations}
    assert found == {
        (pb.VIOLATION_CODE_PRICE_BELOW_AGREED, 1),
        (pb.VIOLATION_CODE_DISCOUNT_OVER_LIMIT, 2),
        (pb.VIOLATION_CODE_PREPAYMENT_MISSING, -1),
    }
    # 2850 + 4500 + 1320 = 8670: half of it is required in advance
    assert Decimal(checked.total.amount) == Decimal("8670.00")

    fine = await stub.CheckTerms(
        pb.CheckTermsRequest(
            agreement_id=deal.id,
            currency="UAH",
            on="2026-02-10",
            lines=[pb.DocumentLine(product_id=cheap.id, quantity="1", unit_price="1500", discount_percent="5")],
            prepayment=common_pb2.Money(amount="712.50", currency="UAH"),
        ),
        metadata=MANAGER,
    )
    assert fine.ok, fine.violations

    late = await stub.CheckTerms(
        pb.CheckTermsRequest(
            partner_id=partner_id,
            currency="UAH",
            on="2026-07-01",
            lines=[pb.DocumentLine(product_id=cheap.id, quantity="1", unit_price="1500")],
            prepayment=common_pb2.Money(amount="750", currency="UAH"),
        ),
        metadata=MANAGER,
    )
    assert late.agreement_id == deal.id  # the partner's agreement, lapsed on the document's date
    assert [v.code for v in late.violations] == [pb.VIOLATION_CODE_AGREEMENT_EXPIRED]


async def test_unagreed_and_mismatched_documents_are_flagged(stub: pb_grpc.PricingServiceStub) -> None:
    price_type = await base_type(stub, "Ціна в гривнях")
    item = await product(stub, "Цемент М-500, 25 кг")
    await set_price(stub, price_type, item, "210", "2026-01-01")
    await stub.SetExchangeRate(
        pb.SetExchangeRateRequest(from_currency="USD", to_currency="UAH", rate="41.25", on="2026-01-01"),
        metadata=MANAGER,
    )
    draft = await agreement(
        stub,
        name="Проєкт угоди",
        kind=pb.AGREEMENT_KIND_INDIVIDUAL,
        partner_id=str(uuid.uuid4()),
        valid_from="2026-01-01",
        valid_to="2026-01-31",
        terms=terms(price_type_id=price_type.id, currency="UAH"),
    )
    checked = await stub.CheckTerms(
        pb.CheckTermsRequest(
            agreement_id=draft.id,
            currency="USD",
            on="2026-02-15",
            lines=[pb.DocumentLine(product_id=item.id, quantity="1", unit_price="5.10")],
        ),
        metadata=MANAGER,
    )
    assert {(v.code, v.line_index) for v in checked.violations} == {
        (pb.VIOLATION_CODE_AGREEMENT_NOT_AGREED, -1),
        (pb.VIOLATION_CODE_AGREEMENT_EXPIRED, -1),
        (pb.VIOLATION_CODE_CURRENCY_MISMATCH, -1),
    }  # 210 UAH = 5.09 USD at 41.25: a price of 5.10 is not below it


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "Угода", "kind": pb.AGREEMENT_KIND_UNSPECIFIED, "valid_from": "2026-01-01"}, "kind"),
        ({"name": "Угода", "kind": pb.AGREEMENT_KIND_TYPICAL, "valid_from": "2026-01-01"}, "segment"),
        ({"name": "Угода", "kind": pb.AGREEMENT_KIND_INDIVIDUAL, "valid_from": "2026-01-01"}, "partner_id"),
        ({"name": "Угода", "kind": pb.AGREEMENT_KIND_TYPICAL, "segment": "Опт", "valid_from": ""}, "valid_from"),
        (
            {
                "name": "Угода",
                "kind": pb.AGREEMENT_KIND_TYPICAL,
                "segment": "Опт",
                "valid_from": "2026-02-01",
                "valid_to": "2026-01-01",
            },
            "valid_to",
        ),
        (
            {
                "name": "Угода",
                "kind": pb.AGREEMENT_KIND_TYPICAL,
                "segment": "Опт",
                "valid_from": "2026-01-01",
                "terms": pb.AgreementTerms(prepayment_percent="120"),
            },
            "terms.prepayment_percent",
        ),
        (
            {
                "name": "Угода",
                "kind": pb.AGREEMENT_KIND_TYPICAL,
                "segment": "Опт",
                "valid_from": "2026-01-01",
                "terms": pb.AgreementTerms(currency="UAX"),
            },
            "terms.currency",
        ),
    ],
)
async def test_bad_agreements_are_named(
    stub: pb_grpc.PricingServiceStub, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await agreement(stub, **fields)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith(field)


async def test_bad_check_terms_requests_are_named(stub: pb_grpc.PricingServiceStub) -> None:
    line = pb.DocumentLine(sku="X", quantity="1", unit_price="1")
    for request, field in [
        (pb.CheckTermsRequest(currency="UAH", lines=[line]), "agreement_id"),
        (pb.CheckTermsRequest(partner_id=str(uuid.uuid4()), currency="", lines=[line]), "currency"),
        (
            pb.CheckTermsRequest(
                partner_id=str(uuid.uuid4()),
                currency="UAH",
                lines=[pb.DocumentLine(sku="X", quantity="1", unit_price="abc")],
            ),
            "lines[0].unit_price",
        ),
        (
            pb.CheckTermsRequest(
                partner_id=str(uuid.uuid4()),
                currency="UAH",
                lines=[line],
                prepayment=common_pb2.Money(amount="1", currency="USD"),
            ),
            "prepayment.currency",
        ),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CheckTerms(request, metadata=MANAGER)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (caught.value.details() or "").startswith(field)


async def test_a_currency_without_a_rate_is_a_violation_not_a_failure(stub: pb_grpc.PricingServiceStub) -> None:
    price_type = await base_type(stub, "Ціна для експорту")
    item = await product(stub, "Соняшникова олія нерафінована, 1 т", cost="38000")
    await set_price(stub, price_type, item, "52000", "2026-01-01")
    deal = await agreement(
        stub,
        name="Угода з ТОВ «Дунай-Агро»",
        kind=pb.AGREEMENT_KIND_INDIVIDUAL,
        partner_id=str(uuid.uuid4()),
        valid_from="2026-01-01",
        terms=terms(
            price_type_id=price_type.id, currency="UAH", manual_discount_limit_percent="2", prepayment_percent="100"
        ),
    )
    await stub.AgreeAgreement(pb.AgreementTransitionRequest(id=deal.id), metadata=MANAGER)
    currency = "MDL"  # no rate MDL/UAH is ever set in these tests
    checked = await stub.CheckTerms(
        pb.CheckTermsRequest(
            agreement_id=deal.id,
            currency=currency,
            on="2026-04-10",
            lines=[
                pb.DocumentLine(product_id=item.id, quantity="2", unit_price="1.00", discount_percent="0"),
                pb.DocumentLine(product_id=item.id, quantity="1", unit_price="2400", discount_percent="5"),
            ],
        ),
        metadata=MANAGER,
    )
    assert not checked.ok
    found = {(v.code, v.line_index) for v in checked.violations}
    assert found == {
        (pb.VIOLATION_CODE_CURRENCY_MISMATCH, -1),  # no rate (and not the agreement's currency either)
        (pb.VIOLATION_CODE_DISCOUNT_OVER_LIMIT, 1),
        (pb.VIOLATION_CODE_PREPAYMENT_MISSING, -1),
    }  # prices are not compared: 1.00 MDL cannot be said to be below 52000 UAH without a rate
    missing = [v.message for v in checked.violations if "exchange rate" in v.message]
    assert len(missing) == 1
    assert all(part in missing[0] for part in ("UAH", currency, "2026-04-10"))
    assert checked.total == common_pb2.Money(amount="2282.00", currency=currency)
    assert not checked.HasField("profitability")  # the cost in UAH cannot be converted either

    with pytest.raises(grpc.aio.AioRpcError) as caught:  # a quote cannot be priced without the rate
        await stub.Quote(
            pb.QuoteRequest(
                agreement_id=deal.id, currency=currency, lines=[pb.QuoteLine(product_id=item.id, quantity="1")]
            ),
            metadata=MANAGER,
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no exchange rate UAH→MDL" in (caught.value.details() or "")
