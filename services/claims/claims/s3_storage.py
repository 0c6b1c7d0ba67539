"""Claim files in an S3-compatible object store (AWS S3, MinIO, Ceph, ...).

Uploads stream through in parts: a file smaller than one part is sent with a single PUT,
a larger one as a multipart upload that is aborted when the stream fails, so a failed
upload leaves no object behind. Downloads stream the object's body in chunks.
The store's own failures (no bucket, no access, no connection) become Unavailable: the
caller may retry, and a file is never called corrupt because the store could not be read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from claims.storage import CHUNK
from crm_platform.errors import Unavailable

log = logging.getLogger(__name__)

MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last
MISSING_KEY = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True)
class S3Location:
    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    addressing_style: str = "auto"
    prefix: str = ""
    part_bytes: int = 8 * 1024 * 1024
    connect_timeout: float = 5.0
    read_timeout: float = 30.0


class S3StorageError(RuntimeError):
    """The store cannot be used as configured; raised at start so the service does not serve."""


class S3Storage:
    def __init__(self, location: S3Location) -> None:
        if location.part_bytes < MIN_PART:
            raise ValueError(f"the S3 part size must be at least {MIN_PART} bytes")
        self.location = location
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def open(self) -> S3Storage:
        """Connects and checks that the bucket exists and is reachable with these credentials."""
        loc = self.location
        config = Config(
            s3={"addressing_style": loc.addressing_style},
            connect_timeout=loc.connect_timeout,
            read_timeout=loc.read_timeout,
            retries={"mode": "standard", "max_attempts": 3},
        )
        # Without keys in the settings botocore's own chain applies (AWS_* variables, web identity).
        self._client = await self._stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=loc.endpoint_url or None,
                region_name=loc.region or None,
                aws_access_key_id=loc.access_key_id or None,
                aws_secret_access_key=loc.secret_access_key or None,
                config=config,
            )
        )
        where = f"bucket {loc.bucket!r} at {loc.endpoint_url or 'AWS S3'}"
        try:
            await self._client.head_bucket(Bucket=loc.bucket)
        except ClientError as exc:
            await self.close()
            code = _code(exc)
            if code in {"404", "NoSuchBucket", "NotFound"}:
                raise S3StorageError(f"claims file storage: {where} does not exist") from exc
            raise S3StorageError(f"claims file storage: {where} cannot be used ({code})") from exc
        except BotoCoreError as exc:
            await self.close()
            raise S3StorageError(f"claims file storage: {where} cannot be reached: {exc}") from exc
        log.info("claims files stored in %s", where)
        return self

    async def close(self) -> None:
        await self._stack.aclose()

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"storage key {key!r} is not a plain relative key")
        return f"{self.location.prefix.strip('/')}/{key}" if self.location.prefix.strip("/") else key

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        name = self._key(key)
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        sending: asyncio.Task[dict[str, Any]] | None = None
        try:
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= self.location.part_bytes:
                    if upload_id is None:
                        upload_id = await self._start_multipart(name)
                    if sending is not None:
                        parts.append(await sending)
                    # A part goes up while the next one comes in: at most two parts in memory.
                    part = self._upload_part(name, upload_id, len(parts) + 1, bytes(buffer))
                    sending = asyncio.create_task(part)
                    buffer.clear()
            if upload_id is None:
                await self._call(self._client.put_object, Bucket=self.location.bucket, Key=name, Body=bytes(buffer))
                return
            if sending is not None:
                parts.append(await sending)
            if buffer:
                parts.append(await self._upload_part(name, upload_id, len(parts) + 1, bytes(buffer)))
            await self._call(
                self._client.complete_multipart_upload,
                Bucket=self.location.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            if sending is not None:
                sending.cancel()
                await asyncio.gather(sending, return_exceptions=True)
            if upload_id is not None:
                await asyncio.shield(self._abort(name, upload_id))
            raise

    async def get(self, key: str, chunk_bytes: int = CHUNK) -> AsyncIterator[bytes]:
        try:
            response = await self._client.get_object(Bucket=self.location.bucket, Key=self._key(key))
        except ClientError as exc:
            if _code(exc) in MISSING_KEY:
                raise FileNotFoundError(key) from exc
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        body = response["Body"]
        try:
            async for chunk in body.iter_chunks(chunk_bytes):
                yield chunk
        except (ClientError, BotoCoreError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise _unavailable(exc) from exc
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await self._call(self._client.delete_object, Bucket=self.location.bucket, Key=self._key(key))

    async def _start_multipart(self, name: str) -> str:
        created = await self._call(self._client.create_multipart_upload, Bucket=self.location.bucket, Key=name)
        return str(created["UploadId"])

    async def _upload_part(self, name: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        uploaded = await self._call(
            self._client.upload_part,
            Bucket=self.location.bucket,
            Key=name,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
        )
        return {"ETag": uploaded["ETag"], "PartNumber": number}

    async def _abort(self, name: str, upload_id: str) -> None:
        try:
            await self._client.abort_multipart_upload(Bucket=self.location.bucket, Key=name, UploadId=upload_id)
        except (ClientError, BotoCoreError):
            log.warning("multipart upload of %s not aborted; left to the bucket's lifecycle rule", name)

    @staticmethod
    async def _call(operation: Any, **kwargs: Any) -> Any:
        try:
            return await operation(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _unavailable(exc: Exception) -> Unavailable:
    reason = _code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return Unavailable(f"the claims file storage cannot be used now ({reason})")
