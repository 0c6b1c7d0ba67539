"""UpdateProduct and UpdateAgreement: what changes, what is refused, what others learn (events)
and what Quote answers right after (its caches are dropped)."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

import grpc
import pytest
from crm.common.v1 import common_pb2
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import KafkaProbe, Services, header
from tests.flows.pricing.conftest import MANAGER, base_type, product, set_price, uniq
from tests.flows.pricing.test_bad_input import expect

pytestmark = pytest.mark.flow
INVALID = grpc.StatusCode.INVALID_ARGUMENT
REFUSED = grpc.StatusCode.FAILED_PRECONDITION


async def typical(stub: pb_grpc.PricingServiceStub, price_type: pb.PriceType, **fields: object) -> pb.Agreement:
    values: dict[str, object] = {
        "name": "Типова угода для агроцентрів",
        "kind": pb.AGREEMENT_KIND_TYPICAL,
        "segment": uniq("Агроцентри"),
        "valid_from": "2026-01-01",
        "valid_to": "2026-06-30",
        "terms": pb.AgreementTerms(price_type_id=price_type.id, currency="UAH", discount_percent="5"),
    }
    values.update(fields)
    return await stub.CreateAgreement(
        pb.CreateAgreementRequest(request_id=uniq("a"), **values),  # type: ignore[arg-type]
        metadata=MANAGER,
    )


async def update_agreement(stub: pb_grpc.PricingServiceStub, **fields: object) -> pb.Agreement:
    return await stub.UpdateAgreement(pb.UpdateAgreementRequest(**fields), metadata=MANAGER)  # type: ignore[arg-type]


async def quote_line(stub: pb_grpc.PricingServiceStub, agreement_id: str, line: pb.QuoteLine) -> pb.QuotedLine:
    reply = await stub.Quote(
        pb.QuoteRequest(agreement_id=agreement_id, on="2026-03-01", lines=[line]), metadata=MANAGER
    )
    return reply.lines[0]


async def test_a_product_update_is_published_and_quoted_at_once(stub: pb_grpc.PricingServiceStub) -> None:
    price_type = await base_type(stub, "Роздрібна ціна, грн")
    item = await product(stub, "Обприскувач «Жук» ОП-12", vat="20", cost="900")
    await set_price(stub, price_type, item, "1500", "2026-01-01")
    deal = await typical(stub, price_type)
    before = await quote_line(stub, deal.id, pb.QuoteLine(sku=item.sku, quantity="2"))
    assert (before.name, before.vat_rate, before.vat.amount) == ("Обприскувач «Жук» ОП-12", "20", "475.00")
    assert item.version == 1

    new_sku = uniq("ОП")
    async with KafkaProbe("crm.pricing.price.v1") as probe:
        updated = await stub.UpdateProduct(
            pb.UpdateProductRequest(
                id=item.id,
                expected_version=1,
                sku=new_sku,
                name="Обприскувач акумуляторний «Жук» ОП-12А",
                vat_rate="7",
                cost=common_pb2.Money(amount="950.50", currency="UAH"),
            ),
            metadata=MANAGER,
        )
        record = await probe.wait_for(lambda r: header(r, "ce_subject") == item.id)
    assert header(record, "ce_type") == "crm.pricing.product.updated"
    data = json.loads(record.value)
    assert (data["sku"], Decimal(data["vat_rate"]), Decimal(data["cost"]), data["version"]) == (
        new_sku,
        Decimal(7),
        Decimal("950.50"),
        2,
    )
    assert (updated.version, updated.sku, updated.unit, updated.vat_rate) == (2, new_sku, "шт", "7")

    after = await quote_line(stub, deal.id, pb.QuoteLine(sku=new_sku, quantity="2"))
    assert (after.name, after.vat_rate, after.vat.amount) == ("Обприскувач акумуляторний «Жук» ОП-12А", "7", "186.45")
    reply = await stub.Quote(
        pb.QuoteRequest(agreement_id=deal.id, on="2026-03-01", lines=[pb.QuoteLine(product_id=item.id, quantity="1")]),
        metadata=MANAGER,
    )
    assert reply.profitability.cost.amount == "950.50"
    await expect(  # the old SKU names nothing any more
        stub.Quote(
            pb.QuoteRequest(agreement_id=deal.id, on="2026-03-01", lines=[pb.QuoteLine(sku=item.sku, quantity="1")]),
            metadata=MANAGER,
        ),
        INVALID,
        "lines[0].sku",
    )

    same = await stub.UpdateProduct(pb.UpdateProductRequest(id=item.id, vat_rate="7.00"), metadata=MANAGER)
    assert same.version == 2  # nothing changed: no new version, no event
    await expect(  # a stale version: somebody else changed it meanwhile
        stub.UpdateProduct(pb.UpdateProductRequest(id=item.id, expected_version=1, unit="кг"), metadata=MANAGER),
        REFUSED,
    )
    assert (await stub.GetProduct(pb.GetProductRequest(id=item.id), metadata=MANAGER)).unit == "шт"


async def test_a_sku_of_another_product_is_refused(stub: pb_grpc.PricingServiceStub) -> None:
    first = await product(stub, "Сівалка СЗ-3,6")
    second = await product(stub, "Культиватор КПС-4")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UpdateProduct(pb.UpdateProductRequest(id=second.id, sku=first.sku), metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert first.id in (caught.value.details() or "")
    kept = await stub.GetProduct(pb.GetProductRequest(id=second.id), metadata=MANAGER)
    assert (kept.sku, kept.version) == (second.sku, 1)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"id": "товар-1"}, "id"),
        ({"expected_version": -1}, "expected_version"),
        ({"sku": "   "}, "sku"),
        ({"sku": "A" * 65}, "sku"),
        ({"name": ""}, "name"),
        ({"unit": "одиниця виміру, якої не буває"}, "unit"),
        ({"vat_rate": "100"}, "vat_rate"),
        ({"vat_rate": "двадцять"}, "vat_rate"),
        ({"vat_rate": "7.125"}, "vat_rate"),
        ({"cost": common_pb2.Money(amount="-1", currency="UAH")}, "cost.amount"),
        ({"cost": common_pb2.Money(amount="10", currency="ГРН")}, "cost.currency"),
    ],
)
async def test_bad_product_updates_are_named(
    stub: pb_grpc.PricingServiceStub, fields: dict[str, object], field: str
) -> None:
    item = await product(stub, "Борона дискова БДТ-3")
    request = pb.UpdateProductRequest(**{"id": item.id, **fields})  # type: ignore[arg-type]
    await expect(stub.UpdateProduct(request, metadata=MANAGER), INVALID, field)
    assert (await stub.GetProduct(pb.GetProductRequest(id=item.id), metadata=MANAGER)).version == 1


async def test_unknown_product_is_not_found(stub: pb_grpc.PricingServiceStub) -> None:
    await expect(
        stub.UpdateProduct(pb.UpdateProductRequest(id=str(uuid.uuid4()), name="Плуг"), metadata=MANAGER),
        grpc.StatusCode.NOT_FOUND,
    )


async def test_a_draft_changes_freely_and_quote_follows(stub: pb_grpc.PricingServiceStub) -> None:
    retail = await base_type(stub, "Роздріб, грн")
    dealer = await base_type(stub, "Дилер, грн")
    item = await product(stub, "Генератор бензиновий «Кентавр» 3 кВт")
    await set_price(stub, retail, item, "12000", "2026-01-01")
    await set_price(stub, dealer, item, "10000", "2026-01-01")
    draft = await typical(stub, retail)
    line = pb.QuoteLine(product_id=item.id, quantity="1")
    assert (await quote_line(stub, draft.id, line)).discount.amount == "600.00"  # 5%

    async with KafkaProbe("crm.pricing.agreement.v1") as probe:
        changed = await update_agreement(
            stub,
            id=draft.id,
            expected_version=draft.version,
            name="Типова угода для агроцентрів, 2026",
            terms=pb.AgreementTerms(price_type_id=dealer.id, discount_percent="3", prepayment_percent="50"),
            valid_from="2026-02-01",
            valid_to="",
        )
        record = await probe.wait_for(lambda r: header(r, "ce_subject") == draft.id)
    assert header(record, "ce_type") == "crm.pricing.agreement.updated"
    assert json.loads(record.value)["valid_to"] is None
    assert (changed.version, changed.valid_from, changed.valid_to, changed.status) == (
        2,
        "2026-02-01",
        "",
        pb.AGREEMENT_STATUS_DRAFT,
    )
    assert (changed.terms.price_type_id, changed.terms.discount_percent, changed.terms.prepayment_percent) == (
        dealer.id,
        "3",
        "50",
    )
    assert changed.terms.currency == "UAH"  # terms not named keep their value
    quoted = await quote_line(stub, draft.id, line)
    assert (quoted.price.amount, quoted.discount.amount) == ("10000.00", "300.00")

    await expect(
        update_agreement(stub, id=draft.id, expected_version=1, terms=pb.AgreementTerms(discount_percent="4")),
        REFUSED,
    )
    await expect(
        update_agreement(stub, id=draft.id, terms=pb.AgreementTerms(price_type_id=str(uuid.uuid4()))),
        INVALID,
        "terms.price_type_id",
    )
    await expect(
        update_agreement(stub, id=draft.id, valid_from="2027-01-01", valid_to="2026-12-31"), INVALID, "valid_to"
    )


async def test_an_agreed_agreement_is_only_extended(stub: pb_grpc.PricingServiceStub) -> None:
    price_type = await base_type(stub, "Опт, грн")
    segment = uniq("Фермерські господарства")
    spring = await typical(stub, price_type, segment=segment, valid_from="2026-01-01", valid_to="2026-06-30")
    autumn = await typical(stub, price_type, segment=segment, valid_from="2026-09-01", valid_to="2026-12-31")
    for agreement in (spring, autumn):
        await stub.AgreeAgreement(pb.AgreementTransitionRequest(id=agreement.id), metadata=MANAGER)

    for terms in (pb.AgreementTerms(discount_percent="7"), pb.AgreementTerms(credit_days=30)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await update_agreement(stub, id=spring.id, terms=terms)
        assert caught.value.code() == REFUSED
        assert "close it and create a new" in (caught.value.details() or "")
    await expect(update_agreement(stub, id=spring.id, valid_from="2026-02-01"), REFUSED)
    await expect(update_agreement(stub, id=spring.id, valid_to="2026-05-31"), REFUSED)  # shortened: close it instead
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # would run into the autumn agreement
        await update_agreement(stub, id=spring.id, valid_to="2026-09-15")
    assert caught.value.code() == REFUSED
    assert "overlaps" in (caught.value.details() or "")

    same = await update_agreement(  # the whole agreement sent back unchanged: nothing to refuse
        stub, id=spring.id, terms=pb.AgreementTerms(discount_percent="5.00"), valid_to="2026-06-30"
    )
    assert same.version == 2  # agreeing it was its first change

    async with KafkaProbe("crm.pricing.agreement.v1") as probe:
        extended = await update_agreement(
            stub, id=spring.id, expected_version=2, name="Весняна угода (продовжена)", valid_to="2026-08-31"
        )
        updated = await probe.wait_for(
            lambda r: header(r, "ce_subject") == spring.id and header(r, "ce_type") == "crm.pricing.agreement.updated"
        )
        # The agreed event of the first AgreeAgreement may still be on its way through the
        # outbox when the probe opens; the one that follows the update (same key, so same
        # partition) is the extension's.
        agreed = await probe.wait_for(
            lambda r: (
                header(r, "ce_subject") == spring.id
                and header(r, "ce_type") == "crm.pricing.agreement.agreed"
                and r.partition == updated.partition
                and r.offset > updated.offset
            )
        )
    assert (extended.valid_to, extended.status, extended.version) == ("2026-08-31", pb.AGREEMENT_STATUS_AGREED, 3)
    assert json.loads(updated.value)["valid_to"] == "2026-08-31"
    assert json.loads(agreed.value)["valid_to"] == "2026-08-31"  # deals keeps agreed agreements from this event

    await stub.CloseAgreement(pb.AgreementTransitionRequest(id=autumn.id), metadata=MANAGER)
    await expect(update_agreement(stub, id=autumn.id, valid_to="2027-06-30"), REFUSED)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"id": ""}, "id"),
        ({"expected_version": -3}, "expected_version"),
        ({"name": "  "}, "name"),
        ({"valid_from": "01.02.2026"}, "valid_from"),
        ({"valid_to": "2026-02-30"}, "valid_to"),
        ({"valid_to": "2025-12-31"}, "valid_to"),
        ({"terms": pb.AgreementTerms(prepayment_percent="120")}, "terms.prepayment_percent"),
        ({"terms": pb.AgreementTerms(discount_percent="сто")}, "terms.discount_percent"),
        ({"terms": pb.AgreementTerms(currency="UAX")}, "terms.currency"),
        ({"terms": pb.AgreementTerms(credit_days=-1)}, "terms.credit_days"),
        ({"terms": pb.AgreementTerms(payment_form=42)}, "terms.payment_form"),
    ],
)
async def test_bad_agreement_updates_are_named(
    stub: pb_grpc.PricingServiceStub, fields: dict[str, object], field: str
) -> None:
    price_type = await base_type(stub, "Ціна для перевірки")
    draft = await typical(stub, price_type)
    await expect(update_agreement(stub, **{"id": draft.id, **fields}), INVALID, field)
    assert (await stub.GetAgreement(pb.GetAgreementRequest(id=draft.id), metadata=MANAGER)).version == 1


async def test_unknown_agreement_is_not_found(stub: pb_grpc.PricingServiceStub) -> None:
    await expect(update_agreement(stub, id=str(uuid.uuid4()), name="Угода"), grpc.StatusCode.NOT_FOUND)


async def test_another_replica_quotes_the_updated_product(
    services: Services, pricing: ServiceProcess, stub: pb_grpc.PricingServiceStub
) -> None:
    other = await services.start("pricing", instance="-updates")
    price_type = await base_type(stub, "Ціна для реплік")
    item = await product(stub, "Насос відцентровий «Водолій» 1,1 кВт", vat="20")
    await set_price(stub, price_type, item, "4800", "2026-01-01")
    deal = await typical(stub, price_type)
    line = pb.QuoteLine(product_id=item.id, quantity="1")
    async with grpc.aio.insecure_channel(other.address) as channel:
        replica = pb_grpc.PricingServiceStub(channel)
        assert (await quote_line(replica, deal.id, line)).vat_rate == "20"  # cached there now

        await stub.UpdateProduct(pb.UpdateProductRequest(id=item.id, vat_rate="0"), metadata=MANAGER)
        await update_agreement(stub, id=deal.id, terms=pb.AgreementTerms(discount_percent="10"))
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            seen = await quote_line(replica, deal.id, line)
            if (seen.vat_rate, seen.discount.amount) == ("0", "480.00"):
                break
            assert asyncio.get_running_loop().time() < deadline, f"the replica still quotes {seen}"
            await asyncio.sleep(0.1)
