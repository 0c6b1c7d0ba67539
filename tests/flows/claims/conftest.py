from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiobotocore.session import get_session
from crm.claims.v1 import claims_pb2 as pb
from crm.claims.v1 import claims_pb2_grpc as pb_grpc
from moto.server import ThreadedMotoServer

from crm_platform.localrun import ServiceProcess
from crm_platform.testing import Services, auth, free_port

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


S3_REGION = "eu-central-1"
S3_KEYS = {"CRM_CLAIMS_S3_ACCESS_KEY_ID": "claims-flow", "CRM_CLAIMS_S3_SECRET_ACCESS_KEY": "claims-flow-secret"}
S3_MAX_FILE_BYTES = 12 * 1024 * 1024
S3_PART_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto's) on a free local port, for claims started with storage=s3."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_client(endpoint: str) -> Any:
    return get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEYS["CRM_CLAIMS_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_KEYS["CRM_CLAIMS_S3_SECRET_ACCESS_KEY"],
    )


async def new_bucket(endpoint: str) -> str:
    name = f"claims-{uuid.uuid4().hex[:12]}"
    async with s3_client(endpoint) as s3:
        await s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": S3_REGION})
    return name


def s3_env(endpoint: str, bucket: str) -> dict[str, str]:
    return {
        "CRM_CLAIMS_STORAGE": "s3",
        "CRM_CLAIMS_S3_BUCKET": bucket,
        "CRM_CLAIMS_S3_ENDPOINT_URL": endpoint,
        "CRM_CLAIMS_S3_REGION": S3_REGION,
        "CRM_CLAIMS_S3_ADDRESSING_STYLE": "path",
        "CRM_CLAIMS_S3_PART_BYTES": str(S3_PART_BYTES),
        "CRM_CLAIMS_MAX_FILE_BYTES": str(S3_MAX_FILE_BYTES),
        **S3_KEYS,
    }
