"""Contact persons: import from CSV and XLSX, unlinking, merging; relations deleted;
the counterparty's own contacts."""

from __future__ import annotations

import io
import json
import uuid

import grpc
import pytest
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc
from openpyxl import Workbook

from crm_platform.grpc_errors import field_violations
from crm_platform.testing import KafkaProbe, auth, header

from . import ids

pytestmark = pytest.mark.flow

MANAGER = auth("manager")
Row = pb.ImportRowResult


async def register(stub: pb_grpc.PartnersServiceStub, name: str, tax_id: str = "") -> pb.Partner:
    draft = pb.PartnerDraft(name=name)
    if tax_id:
        draft.counterparties.append(
            pb.CounterpartyDraft(legal_form=pb.LEGAL_FORM_LEGAL_ENTITY, country="UA", full_name=name, tax_id=tax_id)
        )
    answer = await stub.RegisterPartner(
        pb.RegisterPartnerRequest(partner=draft, confirm_duplicates=True), metadata=MANAGER
    )
    return answer.partner


async def add_person(stub: pb_grpc.PartnersServiceStub, name: str, partner_id: str, *phones: str) -> pb.Person:
    draft = pb.PersonDraft(
        name=name,
        contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_PHONE, value=p) for p in phones],
        links=[pb.PersonLink(partner_id=partner_id, position="Менеджер")],
    )
    return await stub.AddPerson(pb.AddPersonRequest(person=draft), metadata=MANAGER)


def import_request(kind: int, file_format: int, content: bytes) -> pb.ImportRecordsRequest:
    return pb.ImportRecordsRequest(kind=kind, format=file_format, content=content)


async def test_persons_from_csv_linked_by_tax_id_or_name_with_duplicates_merged(
    stub: pb_grpc.PartnersServiceStub,
) -> None:
    word = uuid.uuid4().hex[:5]
    tax_id = ids.edrpou()
    by_tax = await register(stub, f"ТОВ «Агросвіт {word}»", tax_id)
    by_name = await register(stub, f"ПП Лан {word}")
    phone, other_phone = ids.phone(), ids.phone()
    local = "0" + phone[4:]  # the same number written the Ukrainian way
    csv_text = (
        "full name;position;phones;e-mails;partner tax id;partner\n"
        f"Петренко Олена Іванівна;Головний бухгалтер;{phone};olena@agro-{word}.ua;{tax_id};\n"
        f"Олена Петренко;;{local}, {other_phone};;{tax_id};\n"
        f"Петренко О. І.;;;OLENA@agro-{word}.ua;{tax_id};\n"
        f"Сидоренко Андрій;Директор;;andriy@lan-{word}.ua;;ПП Лан {word}\n"
        f"Без партнера;;{ids.phone()};;;\n"
        f"Коваль Ірина;;12345;iryna@;{tax_id};\n"
        f"Хтось Інший;;;;12345678;\n"
        f"Мельник Петро;;;;;ТОВ «Немає такого {word}»\n"
    )
    report = await stub.ImportRecords(
        import_request(pb.IMPORT_KIND_PERSONS, pb.IMPORT_FORMAT_CSV, csv_text.encode()), metadata=MANAGER
    )
    assert [(r.row, r.outcome) for r in report.rows] == [
        (2, Row.OUTCOME_CREATED),
        (3, Row.OUTCOME_MERGED),  # same phone at the same partner: the second phone is added
        (4, Row.OUTCOME_DUPLICATE),  # same e-mail, nothing new
        (5, Row.OUTCOME_CREATED),
        (6, Row.OUTCOME_REJECTED),
        (7, Row.OUTCOME_REJECTED),
        (8, Row.OUTCOME_REJECTED),
        (9, Row.OUTCOME_REJECTED),
    ]
    assert (report.created, report.merged, report.duplicates, report.rejected) == (2, 1, 1, 4)
    olena_id = report.rows[0].id
    assert [r.duplicate_of for r in report.rows[1:3]] == [olena_id, olena_id]
    errors = {r.row: {e.field: e.reason for e in r.errors} for r in report.rows if r.errors}
    assert set(errors[6]) == {"row.partner"}
    assert set(errors[7]) == {"row.contacts[0].value", "row.contacts[1].value"}
    assert "no partner" in errors[8]["row.partner_tax_id"]
    assert "no partner" in errors[9]["row.partner"]

    olena = await stub.GetPerson(pb.GetPersonRequest(id=olena_id), metadata=MANAGER)
    assert olena.name == "Петренко Олена Іванівна"
    assert [c.value for c in olena.contacts] == [phone, f"olena@agro-{word}.ua", other_phone]
    assert [(link.partner_id, link.position) for link in olena.links] == [(by_tax.id, "Головний бухгалтер")]
    at_lan = await stub.ListPersons(pb.ListPersonsRequest(partner_id=by_name.id), metadata=MANAGER)
    assert [(p.name, p.links[0].position) for p in at_lan.persons] == [("Сидоренко Андрій", "Директор")]

    again = await stub.ImportRecords(
        import_request(pb.IMPORT_KIND_PERSONS, pb.IMPORT_FORMAT_CSV, csv_text.encode()), metadata=MANAGER
    )
    assert (again.created, again.merged, again.duplicates) == (0, 0, 4)


async def test_persons_from_xlsx(stub: pb_grpc.PartnersServiceStub) -> None:
    word = uuid.uuid4().hex[:5]
    partner = await register(stub, f"ТОВ «Дніпро-Транс {word}»")
    phone = ids.phone()
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Position", "Phone", "Email", "Partner"])
    sheet.append(["Шевчук Тарас", "Логіст", phone, None, partner.name])
    sheet.append(["Шевчук Т.", "Логіст", phone, None, partner.name])
    sheet.append([None, "Водій", None, None, partner.name])
    sheet.append(["Іваненко Марія", None, None, "maria@", partner.name])
    content = io.BytesIO()
    book.save(content)
    report = await stub.ImportRecords(
        import_request(pb.IMPORT_KIND_PERSONS, pb.IMPORT_FORMAT_XLSX, content.getvalue()), metadata=MANAGER
    )
    assert [r.outcome for r in report.rows] == [
        Row.OUTCOME_CREATED,
        Row.OUTCOME_DUPLICATE,
        Row.OUTCOME_REJECTED,
        Row.OUTCOME_REJECTED,
    ]
    assert [e.field for e in report.rows[2].errors] == ["row.name"]
    assert [e.field for e in report.rows[3].errors] == ["row.contacts[0].value"]
    persons = await stub.ListPersons(pb.ListPersonsRequest(partner_id=partner.id), metadata=MANAGER)
    assert [p.name for p in persons.persons] == ["Шевчук Тарас"]


async def test_a_persons_file_without_a_partner_column_is_invalid(stub: pb_grpc.PartnersServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ImportRecords(
            import_request(pb.IMPORT_KIND_PERSONS, pb.IMPORT_FORMAT_CSV, "name;phone\nОлег;0671234567".encode()),
            metadata=MANAGER,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "partner" in field_violations(caught.value)["content"]


async def test_counterparty_keeps_its_own_contacts(stub: pb_grpc.PartnersServiceStub) -> None:
    phone = ids.phone()
    partner = await register(stub, f"ТОВ «Сокіл {uuid.uuid4().hex[:5]}»")
    counterparty = await stub.AddCounterparty(
        pb.AddCounterpartyRequest(
            partner_id=partner.id,
            counterparty=pb.CounterpartyDraft(
                legal_form=pb.LEGAL_FORM_LEGAL_ENTITY,
                country="UA",
                full_name="Товариство з обмеженою відповідальністю «Сокіл»",
                tax_id=ids.edrpou(),
                contacts=[
                    pb.ContactInfo(kind=pb.CONTACT_KIND_PHONE, value="0" + phone[4:], label="бухгалтерія"),
                    pb.ContactInfo(kind=pb.CONTACT_KIND_EMAIL, value="Office@Sokil.UA"),
                    pb.ContactInfo(kind=pb.CONTACT_KIND_ADDRESS, value="м. Київ, вул. Хрещатик, 1"),
                ],
            ),
        ),
        metadata=MANAGER,
    )
    assert [(c.value, c.label) for c in counterparty.contacts] == [
        (phone, "бухгалтерія"),
        ("Office@sokil.ua", ""),
        ("м. Київ, вул. Хрещатик, 1", ""),
    ]
    fetched = await stub.GetPartner(pb.GetPartnerRequest(id=partner.id), metadata=MANAGER)
    assert not fetched.contacts  # the partner's own contacts stay apart
    assert fetched.counterparties[0].contacts[0].value == phone
    owners = await stub.ResolveContact(pb.ResolveContactRequest(phone=phone), metadata=MANAGER)
    assert [p.partner_id for p in owners.partners] == [partner.id]

    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stub.AddCounterparty(
            pb.AddCounterpartyRequest(
                partner_id=partner.id,
                counterparty=pb.CounterpartyDraft(
                    legal_form=pb.LEGAL_FORM_LEGAL_ENTITY,
                    country="UA",
                    full_name="x",
                    tax_id=ids.edrpou(),
                    contacts=[
                        pb.ContactInfo(kind=pb.CONTACT_KIND_EMAIL, value="ok@sokil.ua"),
                        pb.ContactInfo(kind=pb.CONTACT_KIND_PHONE, value="067"),
                        pb.ContactInfo(kind=99, value="x"),
                    ],
                ),
            ),
            metadata=MANAGER,
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(bad.value)) == {"counterparty.contacts[1].value", "counterparty.contacts[2].kind"}


async def test_wizard_rejects_a_counterpartys_bad_email(stub: pb_grpc.PartnersServiceStub) -> None:
    draft = pb.PartnerDraft(
        name="ТОВ «Зірка»",
        counterparties=[
            pb.CounterpartyDraft(
                legal_form=pb.LEGAL_FORM_LEGAL_ENTITY,
                country="UA",
                full_name="ТОВ «Зірка»",
                tax_id=ids.edrpou(),
                contacts=[pb.ContactInfo(kind=pb.CONTACT_KIND_EMAIL, value="zirka@")],
            )
        ],
    )
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stub.RegisterPartner(pb.RegisterPartnerRequest(partner=draft), metadata=MANAGER)
    assert set(field_violations(bad.value)) == {"partner.counterparties[0].contacts[0].value"}


async def test_unlinking_a_person_and_deleting_relations(stub: pb_grpc.PartnersServiceStub) -> None:
    word = uuid.uuid4().hex[:5]
    first, second = await register(stub, f"ТОВ «Перший {word}»"), await register(stub, f"ТОВ «Другий {word}»")
    person = await add_person(stub, "Бондар Василь", first.id, ids.phone())
    await stub.LinkPerson(
        pb.LinkPersonRequest(person_id=person.id, link=pb.PersonLink(partner_id=second.id)), metadata=MANAGER
    )
    colleague = await add_person(stub, "Ткаченко Оксана", first.id)
    await stub.RelatePartners(
        pb.RelatePartnersRequest(
            from_partner_id=first.id, to_partner_id=second.id, kind=pb.PARTNER_RELATION_KIND_DEALER_OF
        ),
        metadata=MANAGER,
    )
    await stub.RelatePersons(
        pb.RelatePersonsRequest(
            from_person_id=person.id, to_person_id=colleague.id, kind=pb.PERSON_RELATION_KIND_REPORTS_TO
        ),
        metadata=MANAGER,
    )

    unlinked = await stub.UnlinkPerson(
        pb.UnlinkPersonRequest(person_id=person.id, partner_id=first.id), metadata=MANAGER
    )
    assert [link.partner_id for link in unlinked.links] == [second.id]
    repeated = await stub.UnlinkPerson(
        pb.UnlinkPersonRequest(person_id=person.id, partner_id=first.id), metadata=MANAGER
    )
    assert [link.partner_id for link in repeated.links] == [second.id]

    delete = pb.DeletePartnerRelationRequest(
        from_partner_id=first.id, to_partner_id=second.id, kind=pb.PARTNER_RELATION_KIND_DEALER_OF
    )
    assert (await stub.DeletePartnerRelation(delete, metadata=MANAGER)).removed is True
    assert (await stub.DeletePartnerRelation(delete, metadata=MANAGER)).removed is False
    delete_person = pb.DeletePersonRelationRequest(
        from_person_id=person.id, to_person_id=colleague.id, kind=pb.PERSON_RELATION_KIND_REPORTS_TO
    )
    assert (await stub.DeletePersonRelation(delete_person, metadata=MANAGER)).removed is True

    graph = await stub.GetEnvironment(pb.GetEnvironmentRequest(partner_id=first.id, depth=2), metadata=MANAGER)
    assert {n.id for n in graph.nodes} == {first.id, colleague.id}
    assert [e.kind for e in graph.edges] == ["works_at"]


async def test_merging_persons_keeps_everything_and_publishes_the_merge(stub: pb_grpc.PartnersServiceStub) -> None:
    word = uuid.uuid4().hex[:5]
    first, second = await register(stub, f"ТОВ «Ранок {word}»"), await register(stub, f"ТОВ «Вечір {word}»")
    phone, other = ids.phone(), ids.phone()
    survivor = await add_person(stub, "Гончаренко Ігор", first.id, phone)
    duplicate = await add_person(stub, "Ігор Гончаренко", second.id, phone, other)
    boss = await add_person(stub, "Литвин Олег", second.id)
    await stub.RelatePersons(
        pb.RelatePersonsRequest(
            from_person_id=duplicate.id, to_person_id=boss.id, kind=pb.PERSON_RELATION_KIND_REPORTS_TO
        ),
        metadata=MANAGER,
    )
    await stub.RelatePersons(
        pb.RelatePersonsRequest(
            from_person_id=survivor.id, to_person_id=duplicate.id, kind=pb.PERSON_RELATION_KIND_KNOWS
        ),
        metadata=MANAGER,
    )
    request = pb.MergeContactPersonsRequest(
        request_id=str(uuid.uuid4()), survivor_id=survivor.id, merged_ids=[duplicate.id]
    )
    async with KafkaProbe("crm.partners.person.v1") as probe:
        merged = await stub.MergeContactPersons(request, metadata=MANAGER)
        record = await probe.wait_for(lambda r: header(r, "ce_subject") == survivor.id)
    assert header(record, "ce_type") == "crm.partners.person.merged"
    data = json.loads(record.value or b"{}")
    assert data["merged_ids"] == [duplicate.id]
    assert sorted(data["partner_ids"]) == sorted([first.id, second.id])

    assert merged.name == "Гончаренко Ігор"
    assert [c.value for c in merged.contacts] == [phone, other]
    assert sorted(link.partner_id for link in merged.links) == sorted([first.id, second.id])
    assert (await stub.GetPerson(pb.GetPersonRequest(id=duplicate.id), metadata=MANAGER)).id == survivor.id
    graph = await stub.GetEnvironment(pb.GetEnvironmentRequest(partner_id=second.id, depth=2), metadata=MANAGER)
    edges = {(e.from_id, e.to_id, e.kind) for e in graph.edges}
    assert (survivor.id, boss.id, "reports_to") in edges
    assert not any(duplicate.id in (a, b) for a, b, _ in edges)
    owners = await stub.ResolveContact(pb.ResolveContactRequest(phone=other), metadata=MANAGER)
    assert [p.person_id for p in owners.persons] == [survivor.id]

    again = await stub.MergeContactPersons(request, metadata=MANAGER)
    assert again.id == survivor.id
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await stub.MergeContactPersons(
            pb.MergeContactPersonsRequest(survivor_id=boss.id, merged_ids=[duplicate.id]), metadata=MANAGER
        )
    assert gone.value.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("method", "request_", "field"),
    [
        ("UnlinkPerson", pb.UnlinkPersonRequest(person_id="x", partner_id=str(uuid.uuid4())), "person_id"),
        ("UnlinkPerson", pb.UnlinkPersonRequest(person_id=str(uuid.uuid4())), "partner_id"),
        ("MergeContactPersons", pb.MergeContactPersonsRequest(survivor_id=str(uuid.uuid4())), "merged_ids"),
        ("MergeContactPersons", pb.MergeContactPersonsRequest(survivor_id="1", merged_ids=["2"]), "survivor_id"),
        (
            "MergeContactPersons",
            pb.MergeContactPersonsRequest(survivor_id=str(uuid.uuid4()), merged_ids=[str(uuid.uuid4()), "x"]),
            "merged_ids[1]",
        ),
        (
            "MergeContactPersons",
            pb.MergeContactPersonsRequest(
                request_id="r" * 121, survivor_id=str(uuid.uuid4()), merged_ids=[str(uuid.uuid4())]
            ),
            "request_id",
        ),
        (
            "DeletePartnerRelation",
            pb.DeletePartnerRelationRequest(from_partner_id=str(uuid.uuid4()), to_partner_id=str(uuid.uuid4())),
            "kind",
        ),
        (
            "DeletePartnerRelation",
            pb.DeletePartnerRelationRequest(to_partner_id=str(uuid.uuid4()), kind=pb.PARTNER_RELATION_KIND_DEALER_OF),
            "from_partner_id",
        ),
        (
            "DeletePersonRelation",
            pb.DeletePersonRelationRequest(from_person_id=str(uuid.uuid4()), to_person_id="y", kind=1),
            "to_person_id",
        ),
        (
            "DeletePersonRelation",
            pb.DeletePersonRelationRequest(from_person_id=str(uuid.uuid4()), to_person_id=str(uuid.uuid4()), kind=9),
            "kind",
        ),
        ("AddCounterparty", pb.AddCounterpartyRequest(partner_id=str(uuid.uuid4())), "counterparty"),
    ],
)
async def test_bad_input_is_invalid_argument(
    stub: pb_grpc.PartnersServiceStub, method: str, request_: object, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, method)(request_, metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


async def test_merging_an_unknown_person_is_not_found(stub: pb_grpc.PartnersServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.MergeContactPersons(
            pb.MergeContactPersonsRequest(survivor_id=str(uuid.uuid4()), merged_ids=[str(uuid.uuid4())]),
            metadata=MANAGER,
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
