"""Import of partners and leads from CSV and XLSX with a per-row report."""

from __future__ import annotations

import io
import uuid

import grpc
import pytest
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc
from openpyxl import Workbook

from crm_platform.grpc_errors import field_violations
from crm_platform.testing import auth

from . import ids

pytestmark = pytest.mark.flow

MANAGER = auth("manager")
Row = pb.ImportRowResult


async def test_partners_from_csv_created_duplicate_or_rejected_per_row(stub: pb_grpc.PartnersServiceStub) -> None:
    existing_tax_id, new_tax_id, word = ids.edrpou(), ids.edrpou(), uuid.uuid4().hex[:5]
    await stub.RegisterPartner(
        pb.RegisterPartnerRequest(
            partner=pb.PartnerDraft(
                name=f"ТОВ «Існуючий {word}»",
                counterparties=[
                    pb.CounterpartyDraft(
                        legal_form=pb.LEGAL_FORM_LEGAL_ENTITY, country="UA", full_name="x", tax_id=existing_tax_id
                    )
                ],
            ),
            confirm_duplicates=True,
        ),
        metadata=MANAGER,
    )
    csv_text = (
        "name;phone;email;tax_id;region;tags\n"
        f"ТОВ «Новий Обрій {word}»;{ids.phone()};info@obriy-{word}.ua;{new_tax_id};Київ;опт,новий\n"
        f"ПП Зовсім інша назва {word};;;{existing_tax_id};;\n"
        f"ТОВ «Помилка {word}»;;;{new_tax_id[:-1]}{(int(new_tax_id[-1]) + 1) % 10};;\n"
        f"ФОП Без пошти {word};;petro@;;;\n"
        ";;;;;\n"
    )
    report = await stub.ImportRecords(
        pb.ImportRecordsRequest(kind=pb.IMPORT_KIND_PARTNERS, format=pb.IMPORT_FORMAT_CSV, content=csv_text.encode()),
        metadata=MANAGER,
    )
    assert (report.created, report.duplicates, report.rejected) == (1, 1, 2)
    outcomes = [(r.row, r.outcome) for r in report.rows]
    assert outcomes == [
        (2, Row.OUTCOME_CREATED),
        (3, Row.OUTCOME_DUPLICATE),
        (4, Row.OUTCOME_REJECTED),
        (5, Row.OUTCOME_REJECTED),
    ]
    assert [e.field for e in report.rows[2].errors] == ["row.tax_id"]
    assert [e.field for e in report.rows[3].errors] == ["row.contacts[0].value"]
    created = await stub.GetPartner(pb.GetPartnerRequest(id=report.rows[0].id), metadata=MANAGER)
    assert created.counterparties[0].tax_id == new_tax_id
    assert list(created.tags) == ["опт", "новий"]


async def test_leads_from_xlsx(stub: pb_grpc.PartnersServiceStub) -> None:
    phone = ids.phone()
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Company", "Phone", "Email", "Subject"])
    sheet.append(["Оксана Левченко", "ТОВ «Весна»", phone, None, "Прайс на добрива"])
    sheet.append(["Оксана", None, phone, None, "Повторний дзвінок"])
    sheet.append([None, None, None, None, "Без контактів"])
    content = io.BytesIO()
    book.save(content)
    request = pb.ImportRecordsRequest(
        request_id=f"import-{uuid.uuid4()}",
        kind=pb.IMPORT_KIND_LEADS,
        format=pb.IMPORT_FORMAT_XLSX,
        content=content.getvalue(),
    )
    report = await stub.ImportRecords(request, metadata=MANAGER)
    assert [r.outcome for r in report.rows] == [Row.OUTCOME_CREATED, Row.OUTCOME_DUPLICATE, Row.OUTCOME_REJECTED]
    assert report.rows[1].duplicate_of == report.rows[0].id
    lead = await stub.GetLead(pb.GetLeadRequest(id=report.rows[0].id), metadata=MANAGER)
    assert (lead.company, lead.subject) == ("ТОВ «Весна»", "Прайс на добрива")


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.ImportRecordsRequest(format=pb.IMPORT_FORMAT_CSV, content=b"name\nx"), "kind"),
        (pb.ImportRecordsRequest(kind=pb.IMPORT_KIND_LEADS, content=b"name\nx"), "format"),
        (pb.ImportRecordsRequest(kind=pb.IMPORT_KIND_LEADS, format=pb.IMPORT_FORMAT_CSV), "content"),
        (
            pb.ImportRecordsRequest(kind=pb.IMPORT_KIND_LEADS, format=pb.IMPORT_FORMAT_CSV, content=b"phone\n067"),
            "content",
        ),
        (
            pb.ImportRecordsRequest(kind=pb.IMPORT_KIND_LEADS, format=pb.IMPORT_FORMAT_XLSX, content=b"not a zip"),
            "content",
        ),
        (
            pb.ImportRecordsRequest(
                kind=pb.IMPORT_KIND_LEADS, format=pb.IMPORT_FORMAT_CSV, content="name\nx".encode("utf-16")
            ),
            "content",
        ),
    ],
)
async def test_bad_import_is_invalid_argument(
    stub: pb_grpc.PartnersServiceStub, request_: pb.ImportRecordsRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ImportRecords(request_, metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)
