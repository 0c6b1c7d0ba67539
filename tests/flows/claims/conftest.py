from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from crm.claims.v1 import claims_pb2 as pb
from crm.claims.v1 import claims_pb2_grpc as pb_grpc

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import Services, auth

MAX_FILE_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="session")
def claims_files_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("claims-files")


@pytest.fixture(scope="session")
async def claims(services: Services, claims_files_dir: Path) -> ServiceProcess:
    return await services.start(
        "claims",
        env={"CRM_CLAIMS_FILES_DIR": str(claims_files_dir), "CRM_CLAIMS_MAX_FILE_BYTES": str(MAX_FILE_BYTES)},
    )


@pytest.fixture
async def stub(claims: ServiceProcess) -> AsyncIterator[pb_grpc.ClaimsServiceStub]:
    async with grpc.aio.insecure_channel(claims.address) as channel:
        yield pb_grpc.ClaimsServiceStub(channel)


def draft(partner_id: str = "", **overrides: object) -> pb.ClaimDraft:
    fields: dict[str, object] = {
        "partner_id": partner_id,
        "claimant_kind": pb.CLAIMANT_KIND_CLIENT,
        "contact_person": "Коваленко Олена Петрівна",
        "culprit_department": "Відділ логістики",
        "culprit_employee_id": "andrii.melnyk",
        "essence": "Партію насіння соняшнику доставлено на шість днів пізніше погодженого строку.",
        "reason_codes": ["late_delivery"],
        "desired_result": "Знижка 5% на наступне замовлення",
        "responsible_id": "iryna.bondarenko",
        "manager_id": "olena.kovalenko",
    }
    fields.update(overrides)
    return pb.ClaimDraft(**fields)  # type: ignore[arg-type]


async def register(stub: pb_grpc.ClaimsServiceStub, partner_id: str | None = None, **overrides: object) -> pb.Claim:
    return await stub.RegisterClaim(
        pb.RegisterClaimRequest(
            request_id=str(uuid.uuid4()), claim=draft(partner_id or str(uuid.uuid4()), **overrides)
        ),
        metadata=auth("manager"),
    )
