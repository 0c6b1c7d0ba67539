"""Claim files with the service started on the S3-compatible storage (CRM_CLAIMS_STORAGE=s3)
against a real S3 server: the same promises as on disk, and the store's own failures told
apart from corrupt files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import grpc
import pytest
from crm.claims.v1 import claims_pb2 as pb
from crm.claims.v1 import claims_pb2_grpc as pb_grpc

from crm_platform.grpc_errors import field_violations
from crm_platform.localrun import ServiceProcess
from crm_platform.testing import Services, auth
from tests.flows.claims.conftest import (
    S3_MAX_FILE_BYTES,
    S3_PART_BYTES,
    new_bucket,
    register,
    s3_client,
    s3_env,
)
from tests.flows.claims.test_files import PNG, download, messages

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
async def bucket(s3_endpoint: str) -> str:
    return await new_bucket(s3_endpoint)


@pytest.fixture(scope="module")
async def claims_s3(services: Services, s3_endpoint: str, bucket: str) -> ServiceProcess:
    return await services.start("claims", instance="-s3", database="claims_s3", env=s3_env(s3_endpoint, bucket))


@pytest.fixture
async def stub(claims_s3: ServiceProcess) -> AsyncIterator[pb_grpc.ClaimsServiceStub]:
    async with grpc.aio.insecure_channel(claims_s3.address) as channel:
        yield pb_grpc.ClaimsServiceStub(channel)


async def stored_keys(endpoint: str, bucket: str, prefix: str) -> list[str]:
    async with s3_client(endpoint) as s3:
        listed = await s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        uploads = await s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])] + [u["Key"] for u in uploads.get("Uploads", [])]


async def test_a_file_larger_than_a_part_goes_to_the_bucket_and_comes_back(
    stub: pb_grpc.ClaimsServiceStub, s3_endpoint: str, bucket: str
) -> None:
    claim = await register(stub)
    data = PNG + os.urandom(S3_PART_BYTES + 1_500_000)
    stored = await stub.UploadFile(messages(claim.id, "фото складу.png", data), metadata=auth())
    assert stored.content_type == "image/png"
    assert stored.size_bytes == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()

    async with s3_client(s3_endpoint) as s3:
        obj = await s3.get_object(Bucket=bucket, Key=f"{claim.id}/{stored.id}")
        async with obj["Body"] as body:
            assert await body.read() == data  # in the bucket itself, not on the service's disk
    info, body = await download(stub, claim.id, stored.id)
    assert body == data
    assert info.sha256 == stored.sha256


async def test_the_content_type_comes_from_the_bytes(stub: pb_grpc.ClaimsServiceStub) -> None:
    claim = await register(stub)
    text = "Претензія щодо якості: 12 пошкоджених упаковок.\n".encode()
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
    as_pdf = await stub.UploadFile(messages(claim.id, "претензія.pdf", text), metadata=auth())
    named_txt = await stub.UploadFile(messages(claim.id, "лист.txt", pdf), metadata=auth())
    assert (as_pdf.content_type, named_txt.content_type) == ("text/plain", "application/pdf")
    assert (await download(stub, claim.id, named_txt.id))[1] == pdf


async def test_a_file_over_the_limit_is_refused_and_nothing_stays_in_the_bucket(
    stub: pb_grpc.ClaimsServiceStub, s3_endpoint: str, bucket: str
) -> None:
    claim = await register(stub)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UploadFile(messages(claim.id, "відео.mp4", b"\0" * (S3_MAX_FILE_BYTES + 1)), metadata=auth())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "limit" in field_violations(caught.value)["chunk"]
    assert await stored_keys(s3_endpoint, bucket, claim.id) == []  # no object, no unfinished multipart upload
    assert not (await stub.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=auth())).files


async def test_an_object_overwritten_in_the_bucket_is_reported_corrupt_and_not_served(
    stub: pb_grpc.ClaimsServiceStub, s3_endpoint: str, bucket: str
) -> None:
    claim = await register(stub)
    data = b"%PDF-1.4\n" + os.urandom(200_000)
    stored = await stub.UploadFile(messages(claim.id, "накладна.pdf", data), metadata=auth())
    tampered = bytearray(data)
    tampered[150_000] ^= 0xFF
    async with s3_client(s3_endpoint) as s3:
        await s3.put_object(Bucket=bucket, Key=f"{claim.id}/{stored.id}", Body=bytes(tampered))

    received: list[pb.DownloadFileResponse] = []

    async def read_all() -> None:
        call = stub.DownloadFile(pb.DownloadFileRequest(claim_id=claim.id, file_id=stored.id), metadata=auth())
        async for part in call:
            received.append(part)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await read_all()
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "corrupt" in (caught.value.details() or "")
    assert received == []
    assert (await stub.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=auth())).files[0].corrupt


async def test_an_object_deleted_from_the_bucket_is_reported_corrupt(
    stub: pb_grpc.ClaimsServiceStub, s3_endpoint: str, bucket: str
) -> None:
    claim = await register(stub)
    stored = await stub.UploadFile(messages(claim.id, "a.png", PNG), metadata=auth())
    async with s3_client(s3_endpoint) as s3:
        await s3.delete_object(Bucket=bucket, Key=f"{claim.id}/{stored.id}")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await download(stub, claim.id, stored.id)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_bucket_gone_while_serving_is_unavailable_and_no_file_is_called_corrupt(
    stub: pb_grpc.ClaimsServiceStub, s3_endpoint: str, bucket: str
) -> None:
    claim = await register(stub)
    stored = await stub.UploadFile(messages(claim.id, "a.png", PNG), metadata=auth())
    key = f"{claim.id}/{stored.id}"
    async with s3_client(s3_endpoint) as s3:
        saved: dict[str, bytes] = {}
        for page in (await s3.list_objects_v2(Bucket=bucket)).get("Contents", []):
            obj = await s3.get_object(Bucket=bucket, Key=page["Key"])
            async with obj["Body"] as body:
                saved[page["Key"]] = await body.read()
            await s3.delete_object(Bucket=bucket, Key=page["Key"])
        await s3.delete_bucket(Bucket=bucket)
        try:
            for attempt in (
                download(stub, claim.id, stored.id),
                stub.UploadFile(messages(claim.id, "b.png", PNG), metadata=auth()),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await attempt
                assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            await s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
            for name, content in saved.items():
                await s3.put_object(Bucket=bucket, Key=name, Body=content)
    assert not (await stub.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=auth())).files[0].corrupt
    assert (await download(stub, claim.id, stored.id))[1] == PNG
    assert key in saved


async def test_claims_does_not_start_on_a_bucket_that_does_not_exist(services: Services, s3_endpoint: str) -> None:
    with pytest.raises(RuntimeError, match=r"claims-absent-bucket' at .* does not exist"):
        await services.start(
            "claims", instance="-s3-absent", database="claims_s3", env=s3_env(s3_endpoint, "claims-absent-bucket")
        )
