"""Where claim files' bytes live, behind one small interface.

The adapter only stores and returns bytes; sizes, hashes and content types are the
caller's business (files.py), so every adapter is checked the same way on read.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

CHUNK = 256 * 1024


class FileStorage(Protocol):
    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        """Stores the stream under key; a failure while streaming leaves nothing behind."""

    def get(self, key: str, chunk_bytes: int = CHUNK) -> AsyncIterator[bytes]:
        """The stored bytes, in chunks; FileNotFoundError when there are none."""

    async def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files in a local directory, written to a temporary name and renamed when complete,
    so a reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key {key!r} leaves the storage directory")
        return path

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        handle = await asyncio.to_thread(partial.open, "wb")
        try:
            async for chunk in chunks:
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(_flush, handle)
            handle.close()
            await asyncio.to_thread(os.replace, partial, path)
        except BaseException:
            handle.close()
            await asyncio.to_thread(partial.unlink, True)
            raise

    async def get(self, key: str, chunk_bytes: int = CHUNK) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_bytes):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)


def _flush(handle: object) -> None:
    handle.flush()  # type: ignore[attr-defined]
    os.fsync(handle.fileno())  # type: ignore[attr-defined]
