"""Leads: states, list with filters, the kanban board, conversion and loss."""

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


async def new_lead(stub: pb_grpc.PartnersServiceStub, **fields: object) -> pb.Lead:
    base: dict[str, object] = {"request_id": str(uuid.uuid4()), "source": "site form"}
    base.update(fields)
    return await stub.CreateLead(pb.CreateLeadRequest(**base), metadata=MANAGER)  # type: ignore[arg-type]


async def test_lead_list_board_and_loss(stub: pb_grpc.PartnersServiceStub) -> None:
    responsible = f"manager-{uuid.uuid4().hex[:6]}"
    created = [
        await new_lead(stub, name=f"Клієнт {i}", company="ТОВ «Лан»", responsible_id=responsible, tags=["насіння"])
        for i in range(5)
    ]
    await stub.TakeLeadInWork(pb.TakeLeadInWorkRequest(id=created[0].id), metadata=MANAGER)
    async with KafkaProbe("crm.partners.lead.v1") as probe:
        lost = await stub.LoseLead(
            pb.LoseLeadRequest(id=created[1].id, reason="Обрали конкурента", comment="Ціна нижча на 5%"),
            metadata=MANAGER,
        )
        record = await probe.wait_for(lambda r: header(r, "ce_subject") == created[1].id)
    assert header(record, "ce_type") == "crm.partners.lead.lost"
    assert json.loads(record.value or b"{}")["reason"] == "Обрали конкурента"
    assert (lost.state, lost.lost_reason) == (pb.LEAD_STATE_LOST, "Обрали конкурента")

    mine = pb.LeadFilter(responsible_id=responsible)
    first = await stub.ListLeads(pb.ListLeadsRequest(filter=mine, page={"page_size": 3}), metadata=MANAGER)
    second = await stub.ListLeads(
        pb.ListLeadsRequest(filter=mine, page={"page_size": 3, "page_token": first.page.next_page_token}),
        metadata=MANAGER,
    )
    assert [lead.name for lead in [*first.leads, *second.leads]] == [f"Клієнт {i}" for i in range(4, -1, -1)]
    assert second.page.next_page_token == ""
    new_only = await stub.ListLeads(
        pb.ListLeadsRequest(filter=pb.LeadFilter(responsible_id=responsible, states=[pb.LEAD_STATE_NEW])),
        metadata=MANAGER,
    )
    assert len(new_only.leads) == 3
    by_text = await stub.ListLeads(
        pb.ListLeadsRequest(filter=pb.LeadFilter(responsible_id=responsible, text="клієнт 3")), metadata=MANAGER
    )
    assert [lead.id for lead in by_text.leads] == [created[3].id]

    board = await stub.GetLeadBoard(pb.GetLeadBoardRequest(filter=mine, per_column=2), metadata=MANAGER)
    columns = {c.state: c for c in board.columns}
    assert [c.state for c in board.columns] == [
        pb.LEAD_STATE_NEW,
        pb.LEAD_STATE_IN_WORK,
        pb.LEAD_STATE_CONVERTED,
        pb.LEAD_STATE_LOST,
    ]
    assert {s: c.count for s, c in columns.items()} == {
        pb.LEAD_STATE_NEW: 3,
        pb.LEAD_STATE_IN_WORK: 1,
        pb.LEAD_STATE_CONVERTED: 0,
        pb.LEAD_STATE_LOST: 1,
    }
    assert len(columns[pb.LEAD_STATE_NEW].leads) == 2

    with pytest.raises(grpc.aio.AioRpcError) as no_reason:
        await stub.LoseLead(pb.LoseLeadRequest(id=created[2].id, reason=" "), metadata=MANAGER)
    assert field_violations(no_reason.value) == {"reason": "losing a lead needs a reason"}


async def test_conversion_keeps_the_lead_id_and_can_ask_for_a_deal(stub: pb_grpc.PartnersServiceStub) -> None:
    phone = ids.phone()
    lead = await new_lead(
        stub,
        name="Тимошенко Павло",
        company=f"ФОП Тимошенко {uuid.uuid4().hex[:4]}",
        phone=phone,
        responsible_id="ivan",
    )
    async with KafkaProbe("crm.partners.lead.v1") as probe:
        done = await stub.ConvertLead(
            pb.ConvertLeadRequest(id=lead.id, open_deal=True, deal_title="Перша поставка"), metadata=MANAGER
        )
        record = await probe.wait_for(
            lambda r: header(r, "ce_type") == "crm.partners.lead.converted" and header(r, "ce_subject") == lead.id
        )
    assert done.lead.state == pb.LEAD_STATE_CONVERTED
    assert done.partner.lead_id == lead.id
    assert done.partner.name == lead.company
    assert done.partner.manager_id == "ivan"
    assert done.lead.partner_id == done.partner.id
    data = json.loads(record.value or b"{}")
    assert (data["partner_id"], data["deal_requested"], data["deal_title"]) == (done.partner.id, True, "Перша поставка")

    again = await stub.ConvertLead(pb.ConvertLeadRequest(id=lead.id), metadata=MANAGER)
    assert again.partner.id == done.partner.id
    with pytest.raises(grpc.aio.AioRpcError) as lost:
        await stub.LoseLead(pb.LoseLeadRequest(id=lead.id, reason="x"), metadata=MANAGER)
    assert lost.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    # The phone now belongs to a partner, so a second lead with it meets duplicate control.
    twin = await new_lead(stub, name="Павло", phone=phone)
    stopped = await stub.ConvertLead(pb.ConvertLeadRequest(id=twin.id), metadata=MANAGER)
    assert not stopped.HasField("partner")
    assert [c.partner_id for c in stopped.duplicates] == [done.partner.id]
    joined = await stub.ConvertLead(
        pb.ConvertLeadRequest(id=twin.id, existing_partner_id=done.partner.id), metadata=MANAGER
    )
    assert (joined.partner.id, joined.lead.state) == (done.partner.id, pb.LEAD_STATE_CONVERTED)


@pytest.mark.parametrize(
    ("call", "request_", "field"),
    [
        ("ListLeads", pb.ListLeadsRequest(filter=pb.LeadFilter(states=[9])), "filter.states[0]"),
        ("ListLeads", pb.ListLeadsRequest(page={"page_token": "bad!"}), "page.page_token"),
        ("ListLeads", pb.ListLeadsRequest(page={"page_size": 501}), "page.page_size"),
        ("GetLeadBoard", pb.GetLeadBoardRequest(per_column=101), "per_column"),
        ("TakeLeadInWork", pb.TakeLeadInWorkRequest(id="x"), "id"),
        ("LoseLead", pb.LoseLeadRequest(id=str(uuid.uuid4()), reason="r", comment="x" * 4001), "comment"),
        ("ConvertLead", pb.ConvertLeadRequest(id=str(uuid.uuid4()), existing_partner_id="p"), "existing_partner_id"),
        ("ConvertLead", pb.ConvertLeadRequest(id=str(uuid.uuid4()), partner=pb.PartnerDraft(name="")), "partner.name"),
    ],
)
async def test_bad_lead_calls_name_the_field(
    stub: pb_grpc.PartnersServiceStub, call: str, request_: object, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, call)(request_, metadata=MANAGER)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)
