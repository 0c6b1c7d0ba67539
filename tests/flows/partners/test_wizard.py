"""The registration wizard: everything at once, atomically, with duplicate control."""

from __future__ import annotations

import json
import uuid

import grpc
import pytest
from crm.common.v1 import common_pb2
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc

from crm_platform.grpc_errors import field_violations
from crm_platform.testing import KafkaProbe, auth, header

from . import ids

pytestmark = pytest.mark.flow

MANAGER = auth("manager")


def wizard_draft(name: str, tax_id: str, phone: str, email: str) -> pb.PartnerDraft:
    return pb.PartnerDraft(
        name=name,
        roles=[pb.PARTNER_ROLE_CLIENT],
        manager_id="olena.kovalenko",
        region="Полтавська область",
        contacts=[
            pb.ContactInfo(kind=pb.CONTACT_KIND_PHONE, value=phone, label="офіс"),
            pb.ContactInfo(kind=pb.CONTACT_KIND_EMAIL, value=email),
        ],
        counterparties=[
            pb.CounterpartyDraft(
                legal_form=pb.LEGAL_FORM_LEGAL_ENTITY,
                country="UA",
                full_name=f"Товариство з обмеженою відповідальністю «{name}»",
                short_name=f"ТОВ «{name}»",
                tax_id=tax_id,
                legal_address=common_pb2.Address(
                    country_code="UA", postal_code="36000", city="Полтава", street="вул. Соборності", building="45"
                ),
                bank_accounts=[pb.BankAccount(iban=ids.ua_iban(), bank_name="АТ КБ «ПриватБанк»", currency="UAH")],
            )
        ],
        persons=[
            pb.PersonDraft(
                name="Коваль Сергій Петрович",
                position="Директор",
                decision_role=pb.DECISION_ROLE_DECISION_MAKER,
                contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_PHONE, value=ids.phone())],
            ),
            pb.PersonDraft(name="Литвин Оксана", position="Бухгалтер", decision_role=pb.DECISION_ROLE_USER),
        ],
    )


async def test_wizard_registers_everything_and_announces_it(stub: pb_grpc.PartnersServiceStub) -> None:
    tax_id = ids.edrpou()
    name = f"Полтава-Агротех {uuid.uuid4().hex[:4]}"
    async with KafkaProbe("crm.partners.partner.v1") as probe:
        answer = await stub.RegisterPartner(
            pb.RegisterPartnerRequest(
                request_id=str(uuid.uuid4()),
                partner=wizard_draft(name, tax_id, ids.phone(), f"info.{uuid.uuid4().hex[:6]}@agrotech.ua"),
            ),
            metadata=MANAGER,
        )
        record = await probe.wait_for(lambda r: header(r, "ce_subject") == answer.partner.id)
    partner = answer.partner
    assert list(answer.duplicates) == []
    assert len(partner.counterparties) == 1
    counterparty = partner.counterparties[0]
    assert (counterparty.tax_id, counterparty.legal_form) == (tax_id, pb.LEGAL_FORM_LEGAL_ENTITY)
    assert counterparty.legal_address.city == "Полтава"
    assert counterparty.bank_accounts[0].main
    assert sorted(p.name for p in answer.persons) == ["Коваль Сергій Петрович", "Литвин Оксана"]
    director = next(p for p in answer.persons if p.name.startswith("Коваль"))
    assert [(link.partner_id, link.position, link.decision_role) for link in director.links] == [
        (partner.id, "Директор", pb.DECISION_ROLE_DECISION_MAKER)
    ]
    assert json.loads(record.value or b"{}")["tax_ids"] == [tax_id]

    persons = await stub.ListPersons(pb.ListPersonsRequest(partner_id=partner.id), metadata=MANAGER)
    assert [p.name for p in persons.persons] == ["Коваль Сергій Петрович", "Литвин Оксана"]
    fetched = await stub.GetPartner(pb.GetPartnerRequest(id=partner.id), metadata=MANAGER)
    assert fetched.counterparties[0].tax_id == tax_id


async def test_duplicates_stop_the_wizard_until_confirmed(stub: pb_grpc.PartnersServiceStub) -> None:
    tax_id, phone = ids.edrpou(), ids.phone()
    word = uuid.uuid4().hex[:5]
    first = await stub.RegisterPartner(
        pb.RegisterPartnerRequest(partner=wizard_draft(f"Світанок {word}", tax_id, phone, f"a.{word}@svitanok.ua")),
        metadata=MANAGER,
    )
    # The same company typed again: Russian spelling, another legal-form word, the phone written locally.
    again = wizard_draft(f"ООО Рассвет {word}", tax_id, "0" + phone[4:], f"b.{word}@svitanok.ua")
    stopped = await stub.RegisterPartner(pb.RegisterPartnerRequest(partner=again), metadata=MANAGER)
    assert not stopped.HasField("partner")
    [candidate] = stopped.duplicates
    assert candidate.partner_id == first.partner.id
    reasons = {m.reason for m in candidate.reasons}
    assert {pb.DUPLICATE_REASON_TAX_ID, pb.DUPLICATE_REASON_PHONE} <= reasons
    assert candidate.score >= 0.99

    listed = await stub.ListPartners(pb.ListPartnersRequest(name_contains=f"Рассвет {word}"), metadata=MANAGER)
    assert list(listed.partners) == []  # nothing was registered

    confirmed = await stub.RegisterPartner(
        pb.RegisterPartnerRequest(partner=again, confirm_duplicates=True), metadata=MANAGER
    )
    assert confirmed.partner.id
    assert confirmed.partner.id != first.partner.id


async def test_a_bad_counterparty_registers_nothing(stub: pb_grpc.PartnersServiceStub) -> None:
    name = f"Нікому не відомий {uuid.uuid4().hex[:6]}"
    draft = wizard_draft(name, ids.edrpou(), ids.phone(), "x@y.ua")
    draft.counterparties[0].bank_accounts[0].iban = "UA21 3223 1300 0002 6007 2335 6600 2"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RegisterPartner(pb.RegisterPartnerRequest(partner=draft), metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "checksum" in field_violations(caught.value)["partner.counterparties[0].bank_accounts[0].iban"]
    listed = await stub.ListPartners(pb.ListPartnersRequest(name_contains=name), metadata=MANAGER)
    assert list(listed.partners) == []


def _counterparty(**fields: object) -> pb.CounterpartyDraft:
    base: dict[str, object] = {
        "legal_form": pb.LEGAL_FORM_LEGAL_ENTITY,
        "country": "UA",
        "full_name": "ТОВ «Бета»",
        "tax_id": "14360570",
    }
    base.update(fields)
    return pb.CounterpartyDraft(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("counterparty", "field", "reason"),
    [
        (_counterparty(tax_id="14360571"), "partner.counterparties[0].tax_id", "checksum"),
        (_counterparty(tax_id="1436057"), "partner.counterparties[0].tax_id", "digits"),
        (_counterparty(tax_id=""), "partner.counterparties[0].tax_id", "required"),
        (_counterparty(legal_form=7), "partner.counterparties[0].legal_form", "unknown"),
        (_counterparty(legal_form=0), "partner.counterparties[0].legal_form", "UNSPECIFIED"),
        (_counterparty(country="PL"), "partner.counterparties[0].country", "UA, RU"),
        (_counterparty(full_name=" "), "partner.counterparties[0].full_name", "empty"),
        (_counterparty(full_name="Я" * 501), "partner.counterparties[0].full_name", "longer"),
        (_counterparty(kpp="773601001"), "partner.counterparties[0].kpp", "Russian"),
        (
            _counterparty(country="RU", tax_id="7707083893", kpp="77360100"),
            "partner.counterparties[0].kpp",
            "KPP",
        ),
        (_counterparty(country="RU", tax_id="7707083894"), "partner.counterparties[0].tax_id", "checksum"),
        (
            _counterparty(legal_form=pb.LEGAL_FORM_SOLE_TRADER, country="RU", tax_id="7707083893"),
            "partner.counterparties[0].tax_id",
            "12 digits",
        ),
        (
            _counterparty(legal_form=pb.LEGAL_FORM_SOLE_TRADER, tax_id="1234567890"),
            "partner.counterparties[0].tax_id",
            "checksum",
        ),
        (
            _counterparty(bank_accounts=[pb.BankAccount(iban="DE89370400440532013000")]),
            "partner.counterparties[0].bank_accounts[0].iban",
            "UA",
        ),
        (
            _counterparty(bank_accounts=[pb.BankAccount(iban=ids.ua_iban(), currency="UAX")]),
            "partner.counterparties[0].bank_accounts[0].currency",
            "currency",
        ),
        (
            _counterparty(
                country="RU",
                tax_id="7707083893",
                bank_accounts=[pb.BankAccount(account="40702810400000000226", bic="044525225")],
            ),
            "partner.counterparties[0].bank_accounts[0].account",
            "BIC",
        ),
        (
            _counterparty(country="RU", tax_id="7707083893", bank_accounts=[pb.BankAccount(account="1", bic="12")]),
            "partner.counterparties[0].bank_accounts[0].bic",
            "9 digits",
        ),
    ],
)
async def test_bad_counterparty_is_invalid_argument_naming_the_field(
    stub: pb_grpc.PartnersServiceStub, counterparty: pb.CounterpartyDraft, field: str, reason: str
) -> None:
    draft = pb.PartnerDraft(name="ТОВ «Бета»", counterparties=[counterparty])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RegisterPartner(pb.RegisterPartnerRequest(partner=draft), metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(caught.value)
    assert field in violations, violations
    assert reason in violations[field]


@pytest.mark.parametrize(
    ("person", "field"),
    [
        (pb.PersonDraft(name=""), "partner.persons[0].name"),
        (pb.PersonDraft(name="Олег", decision_role=99), "partner.persons[0].decision_role"),
        (pb.PersonDraft(name="Олег", position="x" * 121), "partner.persons[0].position"),
        (
            pb.PersonDraft(name="Олег", contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_EMAIL, value="oleh@")]),
            "partner.persons[0].contacts[0].value",
        ),
    ],
)
async def test_bad_person_in_the_wizard_is_invalid_argument(
    stub: pb_grpc.PartnersServiceStub, person: pb.PersonDraft, field: str
) -> None:
    draft = pb.PartnerDraft(name="ТОВ «Гамма»", persons=[person])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RegisterPartner(pb.RegisterPartnerRequest(partner=draft), metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


async def test_russian_counterparty_with_kpp_and_account(stub: pb_grpc.PartnersServiceStub) -> None:
    draft = pb.PartnerDraft(
        name=f"ООО «Северная звезда {uuid.uuid4().hex[:4]}»",
        counterparties=[
            pb.CounterpartyDraft(
                legal_form=pb.LEGAL_FORM_LEGAL_ENTITY,
                country="RU",
                full_name="Общество с ограниченной ответственностью «Северная звезда»",
                tax_id=ids.inn10(),
                kpp="781001001",
                bank_accounts=[pb.BankAccount(account="40702810400000000225", bic="044525225", currency="RUB")],
            )
        ],
    )
    answer = await stub.RegisterPartner(
        pb.RegisterPartnerRequest(partner=draft, default_phone_region="RU", confirm_duplicates=True), metadata=MANAGER
    )
    counterparty = answer.partner.counterparties[0]
    assert (counterparty.kpp, counterparty.bank_accounts[0].bic) == ("781001001", "044525225")
