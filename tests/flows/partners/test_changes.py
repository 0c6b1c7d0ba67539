"""Updating, finding duplicates of and merging partners; relations and the environment graph."""

from __future__ import annotations

import json
import uuid

import grpc
import pytest
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc

from crm_platform.grpc_errors import field_violations
from crm_platform.testing import KafkaProbe, auth, header

from . import ids

pytestmark = pytest.mark.flow

MANAGER = auth("manager")


async def register(
    stub: pb_grpc.PartnersServiceStub, name: str, *contacts: tuple[int, str], tax_id: str = ""
) -> pb.Partner:
    draft = pb.PartnerDraft(
        name=name, roles=[pb.PARTNER_ROLE_CLIENT], contacts=[pb.ContactInfo(kind=k, value=v) for k, v in contacts]
    )
    if tax_id:
        draft.counterparties.append(
            pb.CounterpartyDraft(legal_form=pb.LEGAL_FORM_LEGAL_ENTITY, country="UA", full_name=name, tax_id=tax_id)
        )
    answer = await stub.RegisterPartner(
        pb.RegisterPartnerRequest(partner=draft, confirm_duplicates=True), metadata=MANAGER
    )
    return answer.partner


async def test_update_publishes_the_new_state_and_get_partner_sees_it(stub: pb_grpc.PartnersServiceStub) -> None:
    partner = await register(stub, f"ТОВ «Вектор {uuid.uuid4().hex[:4]}»", (pb.CONTACT_KIND_PHONE, ids.phone()))
    cached = await stub.GetPartner(pb.GetPartnerRequest(id=partner.id), metadata=MANAGER)  # now in Redis
    draft = pb.PartnerDraft(
        name=partner.name,
        roles=[pb.PARTNER_ROLE_CLIENT, pb.PARTNER_ROLE_DEALER],
        manager_id="taras.shevchuk",
        segment="Дилери",
        contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_EMAIL, value="dealer@vector.ua")],
    )
    async with KafkaProbe("crm.partners.partner.v1") as probe:
        updated = await stub.UpdatePartner(
            pb.UpdatePartnerRequest(id=partner.id, expected_version=cached.version, partner=draft), metadata=MANAGER
        )
        record = await probe.wait_for(
            lambda r: header(r, "ce_subject") == partner.id and header(r, "ce_type") == "crm.partners.partner.updated"
        )
    assert updated.version == cached.version + 1
    data = json.loads(record.value or b"{}")
    assert (data["manager_id"], data["version"], data["segment"]) == ("taras.shevchuk", updated.version, "Дилери")
    fetched = await stub.GetPartner(pb.GetPartnerRequest(id=partner.id), metadata=MANAGER)
    assert fetched.manager_id == "taras.shevchuk"
    assert [c.value for c in fetched.contacts] == ["dealer@vector.ua"]

    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await stub.UpdatePartner(
            pb.UpdatePartnerRequest(id=partner.id, expected_version=cached.version, partner=draft), metadata=MANAGER
        )
    assert stale.value.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.UpdatePartnerRequest(id="x", partner=pb.PartnerDraft(name="A")), "id"),
        (pb.UpdatePartnerRequest(id=str(uuid.uuid4())), "partner"),
        (pb.UpdatePartnerRequest(id=str(uuid.uuid4()), partner=pb.PartnerDraft(name="")), "partner.name"),
        (
            pb.UpdatePartnerRequest(id=str(uuid.uuid4()), expected_version=-1, partner=pb.PartnerDraft(name="A")),
            "expected_version",
        ),
    ],
)
async def test_bad_update_is_invalid_argument(
    stub: pb_grpc.PartnersServiceStub, request_: pb.UpdatePartnerRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UpdatePartner(request_, metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


async def test_find_duplicates_by_name_across_spellings_then_merge(stub: pb_grpc.PartnersServiceStub) -> None:
    word = f"Зоряне Поле {uuid.uuid4().hex[:3]}"
    original = await register(stub, f"ТОВ «{word}»", (pb.CONTACT_KIND_PHONE, ids.phone()), tax_id=ids.edrpou())
    latin_twin = await register(stub, f"{word} LLC".replace("Зоряне Поле", "Zoriane Pole"))
    typo_twin = await register(
        stub, f"ПП {word}".replace("Поле", "Пoле"), (pb.CONTACT_KIND_EMAIL, f"{uuid.uuid4().hex[:6]}@pole.ua")
    )
    unrelated = await register(stub, f"ТОВ «Зоряна Ніч {uuid.uuid4().hex[:3]}»")

    found = await stub.FindDuplicates(pb.FindDuplicatesRequest(partner_id=original.id), metadata=MANAGER)
    by_id = {c.partner_id: c for c in found.candidates}
    assert set(by_id) >= {latin_twin.id, typo_twin.id}
    assert unrelated.id not in by_id
    assert original.id not in by_id
    assert [m.reason for m in by_id[latin_twin.id].reasons] == [pb.DUPLICATE_REASON_NAME]

    async with KafkaProbe("crm.partners.partner.v1") as probe:
        survivor = await stub.MergePartners(
            pb.MergePartnersRequest(survivor_id=original.id, merged_ids=[latin_twin.id, typo_twin.id]),
            metadata=auth("head"),
        )
        record = await probe.wait_for(
            lambda r: header(r, "ce_subject") == original.id and header(r, "ce_type") == "crm.partners.partner.merged"
        )
    assert set(json.loads(record.value or b"{}")["merged_ids"]) == {latin_twin.id, typo_twin.id}
    assert survivor.version == original.version + 1
    assert typo_twin.contacts[0].value in [c.value for c in survivor.contacts]
    # A merged id keeps answering with the survivor; a repeated merge changes nothing.
    via_old_id = await stub.GetPartner(pb.GetPartnerRequest(id=typo_twin.id), metadata=MANAGER)
    assert via_old_id.id == original.id
    again = await stub.MergePartners(
        pb.MergePartnersRequest(survivor_id=original.id, merged_ids=[latin_twin.id, typo_twin.id]),
        metadata=auth("head"),
    )
    assert again.version == survivor.version
    after = await stub.FindDuplicates(pb.FindDuplicatesRequest(partner_id=original.id), metadata=MANAGER)
    assert not {latin_twin.id, typo_twin.id} & {c.partner_id for c in after.candidates}


async def test_merge_rules(stub: pb_grpc.PartnersServiceStub) -> None:
    a = await register(stub, f"Альфа {uuid.uuid4().hex[:6]}")
    with pytest.raises(grpc.aio.AioRpcError) as itself:
        await stub.MergePartners(pb.MergePartnersRequest(survivor_id=a.id, merged_ids=[a.id]), metadata=MANAGER)
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await stub.MergePartners(pb.MergePartnersRequest(survivor_id=a.id), metadata=MANAGER)
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stub.MergePartners(
            pb.MergePartnersRequest(survivor_id=a.id, merged_ids=[str(uuid.uuid4())]), metadata=MANAGER
        )
    with pytest.raises(grpc.aio.AioRpcError) as malformed:
        await stub.MergePartners(pb.MergePartnersRequest(survivor_id=a.id, merged_ids=["x"]), metadata=MANAGER)
    assert field_violations(itself.value) == {"merged_ids": "must not contain the survivor"}
    assert "merged_ids" in field_violations(empty.value)
    assert unknown.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert field_violations(malformed.value) == {"merged_ids[0]": "must be a UUID"}


async def test_check_duplicates_of_a_draft(stub: pb_grpc.PartnersServiceStub) -> None:
    email = f"{uuid.uuid4().hex[:6]}@kvitka.ua"
    known = await register(stub, f"Квітка {uuid.uuid4().hex[:6]}", (pb.CONTACT_KIND_EMAIL, email))
    found = await stub.CheckDuplicates(
        pb.CheckDuplicatesRequest(
            partner=pb.PartnerDraft(
                name="Зовсім інша назва", contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_EMAIL, value=email.upper())]
            )
        ),
        metadata=MANAGER,
    )
    assert [(c.partner_id, [m.reason for m in c.reasons]) for c in found.candidates] == [
        (known.id, [pb.DUPLICATE_REASON_EMAIL])
    ]
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stub.CheckDuplicates(
            pb.CheckDuplicatesRequest(partner=pb.PartnerDraft(name="x"), limit=51), metadata=MANAGER
        )
    assert "limit" in field_violations(bad.value)


async def test_persons_relations_and_environment(stub: pb_grpc.PartnersServiceStub) -> None:
    plant = await register(stub, f"ПрАТ «Завод Іскра {uuid.uuid4().hex[:4]}»")
    dealer = await register(stub, f"ТОВ «Іскра-Дилер {uuid.uuid4().hex[:4]}»")
    rival = await register(stub, f"ТОВ «Блиск {uuid.uuid4().hex[:4]}»")
    director = await stub.AddPerson(
        pb.AddPersonRequest(
            person=pb.PersonDraft(
                name="Гончаренко Василь Іванович",
                contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_PHONE, value=ids.phone())],
                links=[
                    pb.PersonLink(
                        partner_id=dealer.id, position="Директор", decision_role=pb.DECISION_ROLE_DECISION_MAKER
                    )
                ],
            )
        ),
        metadata=MANAGER,
    )
    # One person, two partners: no duplicate person.
    linked = await stub.LinkPerson(
        pb.LinkPersonRequest(person_id=director.id, link=pb.PersonLink(partner_id=rival.id, position="Консультант")),
        metadata=MANAGER,
    )
    assert {link.partner_id for link in linked.links} == {dealer.id, rival.id}
    buyer = await stub.AddPerson(
        pb.AddPersonRequest(
            person=pb.PersonDraft(
                name="Ткаченко Ірина", links=[pb.PersonLink(partner_id=plant.id, position="Закупівлі")]
            )
        ),
        metadata=MANAGER,
    )
    relate = stub.RelatePartners
    first = await relate(
        pb.RelatePartnersRequest(
            from_partner_id=dealer.id, to_partner_id=plant.id, kind=pb.PARTNER_RELATION_KIND_DEALER_OF
        ),
        metadata=MANAGER,
    )
    repeated = await relate(
        pb.RelatePartnersRequest(
            from_partner_id=dealer.id, to_partner_id=plant.id, kind=pb.PARTNER_RELATION_KIND_DEALER_OF
        ),
        metadata=MANAGER,
    )
    assert (first.created, repeated.created) == (True, False)
    await stub.RelatePersons(
        pb.RelatePersonsRequest(
            from_person_id=director.id, to_person_id=buyer.id, kind=pb.PERSON_RELATION_KIND_INFLUENCES
        ),
        metadata=MANAGER,
    )
    near = await stub.GetEnvironment(pb.GetEnvironmentRequest(partner_id=plant.id), metadata=MANAGER)
    assert {(n.name, n.distance) for n in near.nodes} == {(plant.name, 0), (dealer.name, 1), ("Ткаченко Ірина", 1)}
    wide = await stub.GetEnvironment(pb.GetEnvironmentRequest(partner_id=plant.id, depth=2), metadata=MANAGER)
    names = {n.name: n for n in wide.nodes}
    assert names["Гончаренко Василь Іванович"].distance == 2
    assert names["Гончаренко Василь Іванович"].kind == pb.EnvironmentNode.KIND_PERSON
    edges = {(e.from_id, e.to_id, e.kind) for e in wide.edges}
    assert (director.id, buyer.id, "influences") in edges
    assert (dealer.id, plant.id, "dealer_of") in edges
    assert (director.id, dealer.id, "works_at") in edges

    found = await stub.ResolveContact(pb.ResolveContactRequest(phone=director.contacts[0].value), metadata=MANAGER)
    assert [(p.person_id, set(p.partner_ids)) for p in found.persons] == [(director.id, {dealer.id, rival.id})]


@pytest.mark.parametrize(
    ("call", "request_", "code", "field"),
    [
        (
            "RelatePartners",
            pb.RelatePartnersRequest(from_partner_id="x"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "from_partner_id",
        ),
        (
            "RelatePartners",
            pb.RelatePartnersRequest(from_partner_id=str(uuid.uuid4()), to_partner_id=str(uuid.uuid4())),
            grpc.StatusCode.INVALID_ARGUMENT,
            "kind",
        ),
        (
            "RelatePartners",
            pb.RelatePartnersRequest(
                from_partner_id=str(uuid.uuid4()),
                to_partner_id=str(uuid.uuid4()),
                kind=pb.PARTNER_RELATION_KIND_DEALER_OF,
            ),
            grpc.StatusCode.NOT_FOUND,
            "",
        ),
        (
            "RelatePersons",
            pb.RelatePersonsRequest(from_person_id=str(uuid.uuid4()), to_person_id=str(uuid.uuid4()), kind=9),
            grpc.StatusCode.INVALID_ARGUMENT,
            "kind",
        ),
        (
            "GetEnvironment",
            pb.GetEnvironmentRequest(partner_id=str(uuid.uuid4()), depth=4),
            grpc.StatusCode.INVALID_ARGUMENT,
            "depth",
        ),
        ("GetEnvironment", pb.GetEnvironmentRequest(partner_id=str(uuid.uuid4())), grpc.StatusCode.NOT_FOUND, ""),
        (
            "AddPerson",
            pb.AddPersonRequest(person=pb.PersonDraft(name=" ")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "person.name",
        ),
        (
            "AddPerson",
            pb.AddPersonRequest(person=pb.PersonDraft(name="Олег", links=[pb.PersonLink(partner_id="p")])),
            grpc.StatusCode.INVALID_ARGUMENT,
            "person.links[0].partner_id",
        ),
        (
            "LinkPerson",
            pb.LinkPersonRequest(person_id=str(uuid.uuid4()), link=pb.PersonLink(partner_id=str(uuid.uuid4()))),
            grpc.StatusCode.NOT_FOUND,
            "",
        ),
        ("GetPerson", pb.GetPersonRequest(id="1"), grpc.StatusCode.INVALID_ARGUMENT, "id"),
        ("ListPersons", pb.ListPersonsRequest(partner_id=""), grpc.StatusCode.INVALID_ARGUMENT, "partner_id"),
        ("FindDuplicates", pb.FindDuplicatesRequest(partner_id=str(uuid.uuid4())), grpc.StatusCode.NOT_FOUND, ""),
        (
            "AddCounterparty",
            pb.AddCounterpartyRequest(
                partner_id=str(uuid.uuid4()),
                counterparty=pb.CounterpartyDraft(legal_form=1, country="UA", full_name="A", tax_id="1"),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "counterparty.tax_id",
        ),
    ],
)
async def test_bad_calls_name_the_field(
    stub: pb_grpc.PartnersServiceStub, call: str, request_: object, code: grpc.StatusCode, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, call)(request_, metadata=MANAGER)
    assert caught.value.code() == code
    if field:
        assert field in field_violations(caught.value)


async def test_add_counterparty_shows_in_get_partner(stub: pb_grpc.PartnersServiceStub) -> None:
    partner = await register(stub, f"ФОП Руденко {uuid.uuid4().hex[:4]}")
    await stub.GetPartner(pb.GetPartnerRequest(id=partner.id), metadata=MANAGER)
    tax_id = ids.ipn()
    added = await stub.AddCounterparty(
        pb.AddCounterpartyRequest(
            partner_id=partner.id,
            counterparty=pb.CounterpartyDraft(
                legal_form=pb.LEGAL_FORM_SOLE_TRADER,
                country="UA",
                full_name="ФОП Руденко Марія Олегівна",
                tax_id=tax_id,
            ),
        ),
        metadata=MANAGER,
    )
    fetched = await stub.GetPartner(pb.GetPartnerRequest(id=partner.id), metadata=MANAGER)
    assert [(c.id, c.tax_id) for c in fetched.counterparties] == [(added.id, tax_id)]
