"""Claim files: streamed in and out in chunks, size-limited, typed from their bytes, and
checked against their SHA-256 on every read so changed bytes are never served."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import filetype  # type: ignore[import-untyped]
from sqlalchemy.exc import IntegrityError

from claims.access import visible
from claims.domain import MAX_ID
from claims.models import FileRow
from claims.repository import ClaimRepository, FileRepository
from claims.storage import FileStorage
from crm_platform.auth import Principal
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound, Violations

HEAD_BYTES = 8192
MAX_FILE_NAME = 255


@dataclass(frozen=True)
class UploadStart:
    claim_id: uuid.UUID
    file_name: str
    request_id: str | None


def check_file_name(name: str) -> str:
    v = Violations()
    clean = name.strip()
    if not clean:
        v.add("start.file_name", "must not be empty")
    elif len(clean) > MAX_FILE_NAME:
        v.add("start.file_name", f"longer than {MAX_FILE_NAME} characters")
    elif any(c in clean for c in "/\\\0") or clean in (".", ".."):
        v.add("start.file_name", "a file name, not a path")
    v.raise_if_any()
    return clean


def detect_content_type(head: bytes) -> str:
    """From the bytes themselves (magic numbers); plain text when it decodes as UTF-8."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a character cut by the head's end is still text
            return "application/octet-stream"
    return "text/plain"


class _Measured:
    """Passes chunks through while counting, hashing and keeping the head; stops the
    stream as soon as it exceeds the limit."""

    def __init__(self, chunks: AsyncIterator[bytes], limit: int) -> None:
        self._chunks = chunks
        self._limit = limit
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.head = b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            self.size += len(chunk)
            if self.size > self._limit:
                raise InvalidArgument.single("chunk", f"the file is larger than the limit of {self._limit} bytes")
            self.sha256.update(chunk)
            if len(self.head) < HEAD_BYTES:
                self.head += chunk[: HEAD_BYTES - len(self.head)]
            yield chunk


class ClaimFiles:
    def __init__(self, db: Database, storage: FileStorage, *, max_bytes: int, chunk_bytes: int) -> None:
        self.db = db
        self.storage = storage
        self.max_bytes = max_bytes
        self.chunk_bytes = chunk_bytes

    async def upload(self, principal: Principal, start: UploadStart, chunks: AsyncIterator[bytes]) -> FileRow:
        if start.request_id and len(start.request_id) > MAX_ID:
            raise InvalidArgument.single("start.request_id", f"longer than {MAX_ID} characters")
        async with self.db.reading() as session:
            visible(await ClaimRepository(session).get(start.claim_id), principal, start.claim_id)
            if start.request_id:
                earlier = await FileRepository(session).by_request_id(start.claim_id, start.request_id)
                if earlier is not None:
                    async for _ in chunks:  # the repeated upload's bytes are not needed
                        pass
                    return earlier
        file_id = uuid.uuid4()
        key = f"{start.claim_id}/{file_id}"
        measured = _Measured(chunks, self.max_bytes)
        await self.storage.put(key, aiter(measured))
        if measured.size == 0:
            await self.storage.delete(key)
            raise InvalidArgument.single("chunk", "the file is empty")
        try:
            async with self.db.transaction() as session:
                return await FileRepository(session).add(
                    FileRow(
                        id=file_id,
                        claim_id=start.claim_id,
                        request_id=start.request_id,
                        file_name=start.file_name,
                        content_type=detect_content_type(measured.head),
                        size_bytes=measured.size,
                        sha256=measured.sha256.hexdigest(),
                        storage_key=key,
                        uploaded_by=principal.subject,
                    )
                )
        except IntegrityError:
            await self.storage.delete(key)
            if not start.request_id:
                raise
            async with self.db.reading() as session:  # the same upload, repeated at once, was first
                earlier = await FileRepository(session).by_request_id(start.claim_id, start.request_id)
            if earlier is None:
                raise
            return earlier
        except BaseException:
            await self.storage.delete(key)
            raise

    async def find(self, principal: Principal, claim_id: uuid.UUID, file_id: uuid.UUID) -> FileRow:
        async with self.db.reading() as session:
            visible(await ClaimRepository(session).get(claim_id), principal, claim_id)
            row = await FileRepository(session).get(claim_id, file_id)
        if row is None:
            raise NotFound(f"file {file_id} of claim {claim_id} not found")
        return row

    async def verify(self, row: FileRow) -> None:
        """Reads the stored bytes through once; a mismatch marks the file corrupt and refuses it."""
        if not row.corrupt:
            digest = hashlib.sha256()
            size = 0
            try:
                async for chunk in self.storage.get(row.storage_key, self.chunk_bytes):
                    digest.update(chunk)
                    size += len(chunk)
            except FileNotFoundError:
                size = -1
            if size == row.size_bytes and digest.hexdigest() == row.sha256:
                return
            await self._mark_corrupt(row)
        raise FailedPrecondition(
            f"file {row.id} ({row.file_name}) is corrupt: its stored bytes no longer match their SHA-256",
            rule="file_intact",
        )

    async def stream(self, row: FileRow) -> AsyncIterator[bytes]:
        """The verified file's chunks, hashed again on the way: bytes changed between the
        check and the read end the download with an error instead of completing it."""
        digest = hashlib.sha256()
        async for chunk in self.storage.get(row.storage_key, self.chunk_bytes):
            digest.update(chunk)
            yield chunk
        if digest.hexdigest() != row.sha256:
            await self._mark_corrupt(row)
            raise FailedPrecondition(f"file {row.id} changed while it was read; it is corrupt", rule="file_intact")

    async def _mark_corrupt(self, row: FileRow) -> None:
        async with self.db.transaction() as session:
            await FileRepository(session).mark_corrupt(row.id)
