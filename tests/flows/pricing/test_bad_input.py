"""Bad input for the RPCs not covered elsewhere: INVALID_ARGUMENT naming the field, NOT_FOUND
for ids that name nothing, FAILED_PRECONDITION for a transition the status forbids."""

from __future__ import annotations

import uuid

import grpc
import pytest
from crm.common.v1 import common_pb2
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc

from tests.flows.pricing.conftest import MANAGER, uniq

pytestmark = pytest.mark.flow
UNKNOWN = str(uuid.uuid4())


async def expect(call: object, code: grpc.StatusCode, field: str = "") -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    if field:
        assert (caught.value.details() or "").startswith(field), caught.value.details()


async def test_bad_ids_and_filters(stub: pb_grpc.PricingServiceStub) -> None:
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    missing = grpc.StatusCode.NOT_FOUND
    await expect(stub.GetAgreement(pb.GetAgreementRequest(id="угода-1"), metadata=MANAGER), invalid, "id")
    await expect(stub.GetAgreement(pb.GetAgreementRequest(id=UNKNOWN), metadata=MANAGER), missing)
    await expect(stub.AgreeAgreement(pb.AgreementTransitionRequest(id=""), metadata=MANAGER), invalid, "id")
    await expect(stub.CloseAgreement(pb.AgreementTransitionRequest(id=UNKNOWN), metadata=MANAGER), missing)
    await expect(stub.ListAgreements(pb.ListAgreementsRequest(partner_id="x"), metadata=MANAGER), invalid, "partner_id")
    await expect(stub.ListAgreements(pb.ListAgreementsRequest(status=42), metadata=MANAGER), invalid, "status")
    await expect(
        stub.ListPriceTypes(pb.ListPriceTypesRequest(page=common_pb2.PageRequest(page_size=-1)), metadata=MANAGER),
        invalid,
        "page.page_size",
    )
    await expect(stub.UpdatePriceType(pb.UpdatePriceTypeRequest(id="x"), metadata=MANAGER), invalid, "id")
    await expect(stub.GetPriceType(pb.GetPriceTypeRequest(id=""), metadata=MANAGER), invalid, "id")
    await expect(stub.GetPriceType(pb.GetPriceTypeRequest(id=UNKNOWN), metadata=MANAGER), missing)
    await expect(stub.UpdatePriceType(pb.UpdatePriceTypeRequest(id=UNKNOWN), metadata=MANAGER), missing)
    await expect(stub.ListPrices(pb.ListPricesRequest(price_type_id=UNKNOWN), metadata=MANAGER), missing)
    await expect(
        stub.ComparePriceList(pb.ComparePriceListRequest(price_list_id="x", price_type_id=UNKNOWN), metadata=MANAGER),
        invalid,
        "price_list_id",
    )
    await expect(
        stub.ComparePriceList(
            pb.ComparePriceListRequest(price_list_id=UNKNOWN, price_type_id=UNKNOWN), metadata=MANAGER
        ),
        missing,
    )
    await expect(
        stub.Convert(
            pb.ConvertRequest(amount=common_pb2.Money(amount="1,5", currency="UAH"), to_currency="USD"),
            metadata=MANAGER,
        ),
        invalid,
        "amount.amount",
    )
    await expect(
        stub.Quote(
            pb.QuoteRequest(agreement_id=UNKNOWN, lines=[pb.QuoteLine(sku="X", quantity="1")]), metadata=MANAGER
        ),
        missing,
    )


async def test_a_closed_agreement_cannot_be_agreed(stub: pb_grpc.PricingServiceStub) -> None:
    created = await stub.CreateAgreement(
        pb.CreateAgreementRequest(
            request_id=uniq("a"),
            name="Угода на сезон",
            kind=pb.AGREEMENT_KIND_TYPICAL,
            segment=uniq("Сезонні"),
            valid_from="2026-01-01",
        ),
        metadata=MANAGER,
    )
    await expect(
        stub.AgreeAgreement(pb.AgreementTransitionRequest(id=created.id), metadata=MANAGER),
        grpc.StatusCode.FAILED_PRECONDITION,  # no price type yet
    )
    await stub.CloseAgreement(pb.AgreementTransitionRequest(id=created.id), metadata=MANAGER)
    again = await stub.CloseAgreement(pb.AgreementTransitionRequest(id=created.id), metadata=MANAGER)  # a retry
    assert again.status == pb.AGREEMENT_STATUS_CLOSED
    await expect(
        stub.AgreeAgreement(pb.AgreementTransitionRequest(id=created.id), metadata=MANAGER),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    fetched = await stub.GetAgreement(pb.GetAgreementRequest(id=created.id), metadata=MANAGER)
    assert fetched.status == pb.AGREEMENT_STATUS_CLOSED
