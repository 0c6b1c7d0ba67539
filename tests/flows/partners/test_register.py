"""Autofill from the state register (the shipped adapter reads a local file)."""

from __future__ import annotations

import uuid

import grpc
import pytest
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc

from crm_platform.grpc_errors import field_violations
from crm_platform.testing import auth

from . import ids

pytestmark = pytest.mark.flow

MANAGER = auth("manager")


async def test_autofill_then_register_flags_a_liquidated_counterparty(stub: pb_grpc.PartnersServiceStub) -> None:
    active = await stub.LookupRegister(pb.LookupRegisterRequest(country="UA", tax_id="3012 3453"), metadata=MANAGER)
    assert active.found
    assert active.status == pb.REGISTER_STATUS_ACTIVE
    assert active.counterparty.short_name == "ТОВ «АГРОХОЛДИНГ ЗОРЯ»"
    assert active.counterparty.legal_address.postal_code == "08130"
    assert list(active.phones) == ["+380442351780"]
    assert [(c.kind, c.value) for c in active.counterparty.contacts] == [(pb.CONTACT_KIND_PHONE, "+380442351780")]

    liquidated = await stub.LookupRegister(pb.LookupRegisterRequest(country="UA", tax_id="21987654"), metadata=MANAGER)
    assert liquidated.status == pb.REGISTER_STATUS_LIQUIDATED
    registered = await stub.RegisterPartner(
        pb.RegisterPartnerRequest(
            partner=pb.PartnerDraft(
                name=f"Полтавабудсервіс {uuid.uuid4().hex[:4]}", counterparties=[liquidated.counterparty]
            ),
            confirm_duplicates=True,
        ),
        metadata=MANAGER,
    )
    assert registered.partner.counterparties[0].register_status == pb.REGISTER_STATUS_LIQUIDATED
    assert [c.value for c in registered.partner.counterparties[0].contacts] == list(liquidated.phones)

    russian = await stub.LookupRegister(pb.LookupRegisterRequest(country="ru", tax_id="7812345675"), metadata=MANAGER)
    assert (russian.counterparty.kpp, russian.counterparty.legal_form) == ("781201001", pb.LEGAL_FORM_LEGAL_ENTITY)

    unknown = await stub.LookupRegister(pb.LookupRegisterRequest(country="UA", tax_id=ids.edrpou()), metadata=MANAGER)
    assert not unknown.found
    assert not unknown.HasField("counterparty")


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.LookupRegisterRequest(country="PL", tax_id="30123453"), "country"),
        (pb.LookupRegisterRequest(country="UA"), "tax_id"),
        (pb.LookupRegisterRequest(country="UA", tax_id="30123454"), "tax_id"),
        (pb.LookupRegisterRequest(country="RU", tax_id="781234567"), "tax_id"),
    ],
)
async def test_bad_lookup_is_invalid_argument(
    stub: pb_grpc.PartnersServiceStub, request_: pb.LookupRegisterRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.LookupRegister(request_, metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)
