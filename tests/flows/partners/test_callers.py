"""What other services call: deals finds the partner of a shop order, interactions
resolves a caller's phone or e-mail and creates a lead from an unknown one."""

from __future__ import annotations

import asyncio
import json
import random
import uuid

import grpc
import pytest
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc

from crm_platform.grpc_errors import field_violations
from crm_platform.testing import KafkaProbe, auth, header

pytestmark = pytest.mark.flow

SERVICE = auth("service")


def unique_phone() -> str:
    return f"067 {random.randint(100, 999)} {random.randint(10, 99)} {random.randint(10, 99)}"


def unique_email(local: str = "olha") -> str:
    return f"{local}.{uuid.uuid4().hex[:6]}@ukr.net"


def shop_request(customer_id: str, **customer: str) -> pb.FindOrCreateByShopCustomerRequest:
    return pb.FindOrCreateByShopCustomerRequest(
        shop_id="rozetka-shop", shop_customer_id=customer_id, customer=pb.ShopCustomer(**customer)
    )


async def test_two_orders_of_one_new_customer_at_once_get_one_partner(stub: pb_grpc.PartnersServiceStub) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    email = unique_email()
    request = shop_request(customer_id, name="Ольга Петренко", phone=unique_phone(), email=email)
    async with KafkaProbe("crm.partners.partner.v1") as probe:
        answers = await asyncio.gather(*(stub.FindOrCreateByShopCustomer(request, metadata=SERVICE) for _ in range(5)))
        assert len({a.partner_id for a in answers}) == 1
        assert sum(a.created for a in answers) == 1
        assert {a.matched_by for a in answers if not a.created} == {"shop_customer"}
        partner_id = answers[0].partner_id
        record = await probe.wait_for(lambda r: header(r, "ce_subject") == partner_id)
        registrations = [r for r in await probe.collect(1.0) if header(r, "ce_subject") == partner_id]
    assert header(record, "ce_type") == "crm.partners.partner.registered"
    assert len(registrations) == 1
    data = json.loads(record.value or b"{}")
    assert data["name"] == "Ольга Петренко"
    assert data["source"] == "shop:rozetka-shop"
    assert {c["kind"] for c in data["contacts"]} == {"phone", "email"}

    partner = await stub.GetPartner(pb.GetPartnerRequest(id=partner_id), metadata=SERVICE)
    assert partner.roles == [pb.PARTNER_ROLE_CLIENT]
    assert email in [c.value for c in partner.contacts]


async def test_a_known_customer_of_another_shop_is_matched_by_phone_or_email(
    stub: pb_grpc.PartnersServiceStub,
) -> None:
    phone, email = unique_phone(), unique_email("ivan")
    registered = await stub.RegisterPartner(
        pb.RegisterPartnerRequest(
            partner=pb.PartnerDraft(
                name="Іван Шевчук",
                contacts=[
                    pb.ContactInfo(kind=pb.CONTACT_KIND_PHONE, value=phone),
                    pb.ContactInfo(kind=pb.CONTACT_KIND_EMAIL, value=email),
                ],
            ),
            confirm_duplicates=True,
        ),
        metadata=auth("manager"),
    )
    # The shop writes the phone its own way and the e-mail in capitals.
    e164 = registered.partner.contacts[0].value
    by_phone = await stub.FindOrCreateByShopCustomer(
        shop_request(f"c-{uuid.uuid4().hex[:8]}", name="Ivan Shevchuk", phone=e164.replace("+380", "0")),
        metadata=SERVICE,
    )
    by_email = await stub.FindOrCreateByShopCustomer(
        shop_request(f"c-{uuid.uuid4().hex[:8]}", name="Ivan", email=email.upper()), metadata=SERVICE
    )
    assert (by_phone.partner_id, by_phone.created, by_phone.matched_by) == (registered.partner.id, False, "phone")
    assert (by_email.partner_id, by_email.created, by_email.matched_by) == (registered.partner.id, False, "email")


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (shop_request("", name="Ольга"), "shop_id"),
        (pb.FindOrCreateByShopCustomerRequest(shop_id="s", customer=pb.ShopCustomer(name="Ольга")), "shop_customer_id"),
        (shop_request("c-1", name=" "), "customer.name"),
        (shop_request("c-1", name="Ольга", phone="12-34"), "customer.phone"),
        (shop_request("c-1", name="Ольга", email="olha@"), "customer.email"),
        (shop_request("c" * 121, name="Ольга"), "shop_customer_id"),
    ],
)
async def test_bad_shop_customer_is_invalid_argument(
    stub: pb_grpc.PartnersServiceStub, request_: pb.FindOrCreateByShopCustomerRequest, field: str
) -> None:
    if field == "shop_id":
        request_.shop_id = ""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.FindOrCreateByShopCustomer(request_, metadata=SERVICE)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


@pytest.mark.parametrize("role", ["manager", "shop"])
async def test_only_services_find_or_create_shop_customers(stub: pb_grpc.PartnersServiceStub, role: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.FindOrCreateByShopCustomer(shop_request("c-1", name="Ольга"), metadata=auth(role, shop_id="s"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_resolve_contact_finds_partners_and_open_leads(stub: pb_grpc.PartnersServiceStub) -> None:
    phone = unique_phone()
    registered = await stub.RegisterPartner(
        pb.RegisterPartnerRequest(
            partner=pb.PartnerDraft(
                name="ТОВ «Полтавська кераміка»", contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_PHONE, value=phone)]
            ),
            confirm_duplicates=True,
        ),
        metadata=auth("manager"),
    )
    lead = await stub.CreateLead(
        pb.CreateLeadRequest(request_id=uuid.uuid4().hex, name="Марина", phone=phone, source="phone call"),
        metadata=SERVICE,
    )
    found = await stub.ResolveContact(pb.ResolveContactRequest(phone=f"+38 {phone}"), metadata=SERVICE)
    assert found.normalized == registered.partner.contacts[0].value
    assert [(p.partner_id, p.name) for p in found.partners] == [(registered.partner.id, "ТОВ «Полтавська кераміка»")]
    assert [(r.lead_id, r.name, r.state) for r in found.leads] == [(lead.id, "Марина", pb.LEAD_STATE_NEW)]

    unknown = await stub.ResolveContact(pb.ResolveContactRequest(email=unique_email()), metadata=SERVICE)
    assert (list(unknown.partners), list(unknown.persons), list(unknown.leads)) == ([], [], [])


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.ResolveContactRequest(), "phone"),
        (pb.ResolveContactRequest(phone="not a phone"), "phone"),
        (pb.ResolveContactRequest(email="@ukr.net"), "email"),
        (pb.ResolveContactRequest(phone="0671234567", email="a@ukr.net"), "email"),
    ],
)
async def test_bad_resolve_contact_is_invalid_argument(
    stub: pb_grpc.PartnersServiceStub, request_: pb.ResolveContactRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ResolveContact(request_, metadata=SERVICE)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


async def test_create_lead_is_idempotent_and_announced(stub: pb_grpc.PartnersServiceStub) -> None:
    request = pb.CreateLeadRequest(
        request_id=f"interactions:call:{uuid.uuid4()}",
        name="Андрій Мельник",
        company="ФОП Мельник А. В.",
        phone="+380 50 123 45 67",
        email="Andriy.Melnyk@Gmail.com",
        source="phone call",
        subject="Цікавить оптова ціна на насіння соняшнику",
        responsible_id="olena.kovalenko",
    )
    async with KafkaProbe("crm.partners.lead.v1") as probe:
        first, again = await asyncio.gather(
            stub.CreateLead(request, metadata=SERVICE), stub.CreateLead(request, metadata=SERVICE)
        )
        record = await probe.wait_for(lambda r: header(r, "ce_subject") == first.id)
        created = [r for r in await probe.collect(1.0) if header(r, "ce_subject") == first.id]
    assert first.id == again.id
    assert first.state == pb.LEAD_STATE_NEW
    assert first.phone == "+380501234567"
    assert len(created) == 1
    assert header(record, "ce_type") == "crm.partners.lead.created"
    data = json.loads(record.value or b"{}")
    assert (data["name"], data["company"], data["source"]) == ("Андрій Мельник", "ФОП Мельник А. В.", "phone call")
    fetched = await stub.GetLead(pb.GetLeadRequest(id=first.id), metadata=auth("manager"))
    assert fetched.subject == "Цікавить оптова ціна на насіння соняшнику"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.CreateLeadRequest(name="Андрій"), "request_id"),
        (pb.CreateLeadRequest(request_id="r"), "name"),
        (pb.CreateLeadRequest(request_id="r", phone="123"), "phone"),
        (pb.CreateLeadRequest(request_id="r", email="andriy@"), "email"),
        (pb.CreateLeadRequest(request_id="r", name="Я" * 301), "name"),
        (pb.CreateLeadRequest(request_id="r", name="Андрій", subject="x" * 4001), "subject"),
        (pb.CreateLeadRequest(request_id="r", name="Андрій", tags=[""]), "tags[0]"),
        (pb.CreateLeadRequest(request_id="r" * 121, name="Андрій"), "request_id"),
    ],
)
async def test_bad_lead_is_invalid_argument(
    stub: pb_grpc.PartnersServiceStub, request_: pb.CreateLeadRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateLead(request_, metadata=SERVICE)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


async def test_get_lead_unknown_or_malformed(stub: pb_grpc.PartnersServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetLead(pb.GetLeadRequest(id=str(uuid.uuid4())), metadata=SERVICE)
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stub.GetLead(pb.GetLeadRequest(id="lead-1"), metadata=SERVICE)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert field_violations(bad.value) == {"id": "must be a UUID"}
