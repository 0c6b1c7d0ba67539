"""The three analytics reports on known figures: claims written straight into the running
service's database in 2018 and 2019 (years no other test touches), read over gRPC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from crm.claims.v1 import claims_pb2 as pb
from crm.claims.v1 import claims_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import PG_PORT, Services, auth

pytestmark = pytest.mark.flow

LOGISTICS, STORE = "Відділ логістики", "Склад"


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


# (registered, department, employee, reasons, status, closed)
ROWS = [
    *[("2019-01-15", LOGISTICS, "andrii.melnyk", ["late_delivery"], "satisfied", "2019-02-10")] * 2,
    ("2019-01-20", LOGISTICS, "andrii.melnyk", ["late_delivery"], "under_investigation", None),
    ("2019-03-02", STORE, "", ["poor_quality"], "satisfied", "2019-03-20"),
    ("2019-03-03", STORE, "", ["poor_quality"], "partly_satisfied", "2019-03-21"),
    ("2019-03-04", STORE, "", ["poor_quality"], "rejected", "2019-03-22"),
    *[("2019-03-10", LOGISTICS, "andrii.melnyk", ["late_delivery", "wrong_documents"], "rejected", "2019-04-05")] * 2,
    ("2018-01-05", STORE, "", ["poor_quality"], "satisfied", "2018-01-25"),
    *[("2018-03-05", STORE, "", ["poor_quality"], "registered", None)] * 2,
    ("2019-07-01", STORE, "", ["poor_quality"], "registered", None),  # outside the period
]
PERIOD = pb.Period(from_date="2019-01-01", to_date="2019-06-30")


@pytest.fixture(scope="module")
async def history(claims: ServiceProcess, services: Services) -> None:
    database = await services.databases.ensure("claims")
    conn = await asyncpg.connect(f"postgresql://crm:crm@127.0.0.1:{PG_PORT}/{database}")
    try:
        await conn.copy_records_to_table(
            "claim",
            columns=[
                "id",
                "partner_id",
                "claimant_kind",
                "contact_person",
                "culprit_department",
                "culprit_employee_id",
                "essence",
                "reason_codes",
                "desired_result",
                "responsible_id",
                "manager_id",
                "status",
                "result",
                "registered_by",
                "registered_by_user",
                "registered_at",
                "closed_at",
                "version",
            ],
            records=[
                (
                    uuid.uuid4(),
                    uuid.uuid4(),
                    "client",
                    "Петренко Марія",
                    department,
                    employee,
                    "Історична претензія",
                    reasons,
                    "",
                    "",
                    "",
                    status,
                    "Рішення" if closed else "",
                    "staff",
                    "import",
                    at(registered),
                    at(closed) if closed else None,
                    1,
                )
                for registered, department, employee, reasons, status, closed in ROWS
            ],
        )
    finally:
        await conn.close()


async def test_registration_dynamics_per_month_with_the_year_before(
    stub: pb_grpc.ClaimsServiceStub, history: None
) -> None:
    report = await stub.RegistrationDynamics(pb.RegistrationDynamicsRequest(period=PERIOD), metadata=auth("head"))
    current = report.current
    assert [(m.month, m.registered, m.processed, m.still_open) for m in current.months] == [
        ("2019-01", 3, 0, 1),
        ("2019-02", 0, 2, 0),
        ("2019-03", 5, 3, 0),
        ("2019-04", 0, 2, 0),
        ("2019-05", 0, 0, 0),
        ("2019-06", 0, 0, 0),
    ]
    assert (current.peak_month, current.peak_registered) == ("2019-03", 5)
    assert (current.total_registered, current.total_processed, current.total_still_open) == (8, 7, 1)
    assert [(d.month, d.department, d.registered) for d in current.by_department] == [
        ("2019-01", LOGISTICS, 3),
        ("2019-03", STORE, 3),
        ("2019-03", LOGISTICS, 2),
    ]
    previous = report.previous_year
    assert [(m.month, m.registered, m.processed, m.still_open) for m in previous.months][:3] == [
        ("2018-01", 1, 1, 0),
        ("2018-02", 0, 0, 0),
        ("2018-03", 2, 0, 2),
    ]
    assert previous.peak_month == "2018-03"


async def test_satisfaction_per_reason(stub: pb_grpc.ClaimsServiceStub, history: None) -> None:
    report = await stub.SatisfactionByReason(pb.AnalyticsPeriodRequest(period=PERIOD), metadata=auth("head"))
    by_code = {r.reason_code: r for r in report.reasons}
    assert set(by_code) == {"late_delivery", "wrong_documents", "poor_quality"}
    late = by_code["late_delivery"]
    assert (late.closed, late.satisfied, late.rejected) == (4, 2, 2)
    assert (late.satisfied_share, late.rejected_share) == ("50.0", "50.0")
    assert late.reason_name == "Порушення строків поставки"
    quality = by_code["poor_quality"]
    assert (quality.satisfied_share, quality.partly_satisfied_share, quality.rejected_share) == ("33.3", "33.3", "33.3")
    assert (quality.previous_closed, quality.previous_satisfied_share) == (1, "100.0")
    assert by_code["wrong_documents"].rejected_share == "100.0"


async def test_structure_of_claims(stub: pb_grpc.ClaimsServiceStub, history: None) -> None:
    report = await stub.ClaimStructure(pb.ClaimStructureRequest(period=PERIOD), metadata=auth("head"))
    assert [(e.key, e.claims, e.previous_claims) for e in report.departments] == [(LOGISTICS, 5, 0), (STORE, 3, 3)]
    assert [(e.key, e.claims) for e in report.employees] == [("andrii.melnyk", 5)]
    assert [(e.key, e.claims, e.previous_claims) for e in report.reasons] == [
        ("late_delivery", 5, 0),
        ("poor_quality", 3, 3),
        ("wrong_documents", 2, 0),
    ]
    assert report.reasons[1].label == "Неналежна якість товару"
    assert (report.total, report.previous_total) == (8, 3)
    top_one = await stub.ClaimStructure(pb.ClaimStructureRequest(period=PERIOD, top=1), metadata=auth("head"))
    assert [e.key for e in top_one.departments] == [LOGISTICS]


async def test_a_client_may_not_read_analytics(stub: pb_grpc.ClaimsServiceStub) -> None:
    import grpc

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ClaimStructure(
            pb.ClaimStructureRequest(period=PERIOD), metadata=auth("client", partner_id=str(uuid.uuid4()))
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
