"""The S3-compatible storage adapter against a real S3 server (moto's, over HTTP)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from aiobotocore.session import get_session

from claims.s3_storage import MIN_PART, S3Location, S3Storage, S3StorageError
from claims.settings import ClaimsSettings
from crm_platform.errors import InvalidArgument, Unavailable
from crm_platform.testing import free_port

REGION = "eu-central-1"
KEYS = {"access_key_id": "claims-test", "secret_access_key": "claims-test-secret"}


def client(endpoint: str) -> Any:
    return get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEYS["access_key_id"],
        aws_secret_access_key=KEYS["secret_access_key"],
    )


async def new_bucket(endpoint: str) -> str:
    name = f"claims-{uuid.uuid4().hex[:12]}"
    async with client(endpoint) as s3:
        await s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


async def opened(endpoint: str, bucket: str, **overrides: Any) -> S3Storage:
    location = S3Location(
        bucket=bucket, endpoint_url=endpoint, region=REGION, addressing_style="path", **KEYS, **overrides
    )
    return await S3Storage(location).open()


async def stream(data: bytes, chunk: int = 256 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), chunk):
        yield data[i : i + chunk]


async def read(storage: S3Storage, key: str, chunk: int = 256 * 1024) -> list[bytes]:
    return [part async for part in storage.get(key, chunk)]


async def keys(endpoint: str, bucket: str) -> list[str]:
    async with client(endpoint) as s3:
        listed = await s3.list_objects_v2(Bucket=bucket)
    return [o["Key"] for o in listed.get("Contents", [])]


async def pending_uploads(endpoint: str, bucket: str) -> Iterable[object]:
    async with client(endpoint) as s3:
        return (await s3.list_multipart_uploads(Bucket=bucket)).get("Uploads", [])


async def test_a_small_file_goes_up_in_one_put_and_comes_back_in_chunks(s3_endpoint: str) -> None:
    bucket = await new_bucket(s3_endpoint)
    storage = await opened(s3_endpoint, bucket)
    data = os.urandom(700_000)
    try:
        await storage.put("claim/file", stream(data))
        parts = await read(storage, "claim/file", 64 * 1024)
    finally:
        await storage.close()
    assert b"".join(parts) == data
    assert max(len(p) for p in parts) <= 64 * 1024
    assert await keys(s3_endpoint, bucket) == ["claim/file"]


async def test_a_large_file_goes_up_in_parts_byte_for_byte(s3_endpoint: str) -> None:
    bucket = await new_bucket(s3_endpoint)
    storage = await opened(s3_endpoint, bucket, part_bytes=MIN_PART, prefix="claims/")
    data = os.urandom(2 * MIN_PART + 123_457)
    try:
        await storage.put("c1/f1", stream(data))
        body = b"".join(await read(storage, "c1/f1"))
    finally:
        await storage.close()
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert await keys(s3_endpoint, bucket) == ["claims/c1/f1"]
    async with client(s3_endpoint) as s3:
        head = await s3.head_object(Bucket=bucket, Key="claims/c1/f1")
    assert head["ETag"].strip('"').endswith("-3")  # three parts: multipart, not one buffered PUT


async def test_a_stream_failing_midway_leaves_no_object_and_no_open_upload(s3_endpoint: str) -> None:
    bucket = await new_bucket(s3_endpoint)
    storage = await opened(s3_endpoint, bucket, part_bytes=MIN_PART)

    async def too_big() -> AsyncIterator[bytes]:
        async for chunk in stream(os.urandom(MIN_PART + 300_000)):
            yield chunk
        raise InvalidArgument.single("chunk", "the file is larger than the limit")

    try:
        with pytest.raises(InvalidArgument):
            await storage.put("c1/f1", too_big())
        with pytest.raises(InvalidArgument):
            await storage.put("c1/f2", _fails_at_once())
    finally:
        await storage.close()
    assert await keys(s3_endpoint, bucket) == []
    assert list(await pending_uploads(s3_endpoint, bucket)) == []


async def _fails_at_once() -> AsyncIterator[bytes]:
    yield b"%PDF-1.4"
    raise InvalidArgument.single("chunk", "the file is larger than the limit")


async def test_a_missing_object_is_file_not_found_and_delete_is_idempotent(s3_endpoint: str) -> None:
    storage = await opened(s3_endpoint, await new_bucket(s3_endpoint))
    try:
        with pytest.raises(FileNotFoundError):
            await read(storage, "c1/none")
        await storage.put("c1/f", stream(b"abc"))
        await storage.delete("c1/f")
        await storage.delete("c1/f")
        with pytest.raises(FileNotFoundError):
            await read(storage, "c1/f")
    finally:
        await storage.close()


async def test_a_missing_bucket_stops_the_start_with_its_name(s3_endpoint: str) -> None:
    with pytest.raises(S3StorageError, match=r"'claims-nowhere' .* does not exist"):
        await opened(s3_endpoint, "claims-nowhere")


async def test_an_unreachable_server_stops_the_start(s3_endpoint: str) -> None:
    with pytest.raises(S3StorageError, match="cannot be reached"):
        await opened(f"http://127.0.0.1:{free_port()}", "claims-files")


async def test_a_bucket_gone_while_serving_is_unavailable_not_a_missing_file(s3_endpoint: str) -> None:
    bucket = await new_bucket(s3_endpoint)
    storage = await opened(s3_endpoint, bucket)
    try:
        await storage.put("c1/f", stream(b"abc"))
        async with client(s3_endpoint) as s3:
            await s3.delete_object(Bucket=bucket, Key="c1/f")
            await s3.delete_bucket(Bucket=bucket)
        with pytest.raises(Unavailable):
            await read(storage, "c1/f")
        with pytest.raises(Unavailable):
            await storage.put("c1/g", stream(b"abc"))
    finally:
        await storage.close()


@pytest.mark.parametrize("key", ["", "/abs", "c1/../../other", ".."])
async def test_keys_that_are_not_plain_relative_keys_are_refused(s3_endpoint: str, key: str) -> None:
    storage = await opened(s3_endpoint, await new_bucket(s3_endpoint))
    try:
        with pytest.raises(ValueError, match="plain relative key"):
            await storage.put(key, stream(b"abc"))
    finally:
        await storage.close()


def test_parts_smaller_than_s3_allows_are_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        S3Storage(S3Location(bucket="claims-files", part_bytes=MIN_PART - 1))


def test_the_s3_storage_is_chosen_by_a_setting_and_needs_a_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ClaimsSettings().storage == "local"
    monkeypatch.setenv("CRM_CLAIMS_STORAGE", "s3")
    with pytest.raises(ValueError, match="CRM_CLAIMS_S3_BUCKET is required"):
        ClaimsSettings()
    monkeypatch.setenv("CRM_CLAIMS_S3_BUCKET", "claims-files")
    monkeypatch.setenv("CRM_CLAIMS_S3_ACCESS_KEY_ID", "key")
    with pytest.raises(ValueError, match="go together"):
        ClaimsSettings()
    monkeypatch.setenv("CRM_CLAIMS_S3_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-example")
    monkeypatch.setenv("CRM_CLAIMS_S3_ENDPOINT_URL", "http://minio:9000")
    location = ClaimsSettings().s3_location()
    assert (location.bucket, location.endpoint_url, location.secret_access_key) == (
        "claims-files",
        "http://minio:9000",
        "wJalrXUtnFEMI-example",
    )
    assert "wJalrXUtnFEMI" not in repr(ClaimsSettings())  # the key stays out of logs
