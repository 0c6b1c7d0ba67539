"""Claim files over gRPC: streamed in chunks both ways, size-limited, typed from their
bytes, and never served once their bytes changed on disk."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import grpc
import pytest
from crm.claims.v1 import claims_pb2 as pb
from crm.claims.v1 import claims_pb2_grpc as pb_grpc

from crm_platform.grpc_errors import field_violations
from crm_platform.testing import auth
from tests.flows.claims.conftest import MAX_FILE_BYTES, register

pytestmark = pytest.mark.flow

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"
CHUNK = 64 * 1024


async def messages(claim_id: str, name: str, data: bytes, request_id: str = "") -> AsyncIterator[pb.UploadFileRequest]:
    yield pb.UploadFileRequest(start=pb.UploadStart(claim_id=claim_id, file_name=name, request_id=request_id))
    for i in range(0, len(data), CHUNK):
        yield pb.UploadFileRequest(chunk=data[i : i + CHUNK])


async def download(
    stub: pb_grpc.ClaimsServiceStub, claim_id: str, file_id: str, metadata: Iterable[tuple[str, str]] | None = None
) -> tuple[pb.ClaimFile, bytes]:
    info = pb.ClaimFile()
    body = bytearray()
    async for part in stub.DownloadFile(
        pb.DownloadFileRequest(claim_id=claim_id, file_id=file_id), metadata=metadata or auth()
    ):
        if part.WhichOneof("part") == "file":
            info = part.file
        else:
            body += part.chunk
    return info, bytes(body)


async def test_a_file_goes_up_and_comes_back_byte_for_byte(stub: pb_grpc.ClaimsServiceStub) -> None:
    claim = await register(stub)
    data = PNG + os.urandom(300_000)
    stored = await stub.UploadFile(messages(claim.id, "фото пошкодження.png", data), metadata=auth())
    assert stored.content_type == "image/png"
    assert stored.size_bytes == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.file_name == "фото пошкодження.png"

    info, body = await download(stub, claim.id, stored.id)
    assert body == data
    assert info.sha256 == stored.sha256
    listed = await stub.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=auth())
    assert [f.id for f in listed.files] == [stored.id]


async def test_the_content_type_comes_from_the_bytes_not_the_name(stub: pb_grpc.ClaimsServiceStub) -> None:
    claim = await register(stub)
    text = "Акт розбіжностей № 17 від 12.03.2026\nНедостача: 4 мішки.\n".encode()
    as_pdf = await stub.UploadFile(messages(claim.id, "акт.pdf", text), metadata=auth())
    assert as_pdf.content_type == "text/plain"
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
    named_txt = await stub.UploadFile(messages(claim.id, "лист.txt", pdf), metadata=auth())
    assert named_txt.content_type == "application/pdf"


async def test_a_repeated_upload_with_one_request_id_stores_one_file(stub: pb_grpc.ClaimsServiceStub) -> None:
    claim = await register(stub)
    request_id = str(uuid.uuid4())
    first = await stub.UploadFile(messages(claim.id, "a.png", PNG, request_id), metadata=auth())
    second = await stub.UploadFile(messages(claim.id, "a.png", PNG, request_id), metadata=auth())
    assert first.id == second.id
    assert len((await stub.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=auth())).files) == 1


async def test_a_file_over_the_limit_is_refused_and_not_kept(
    stub: pb_grpc.ClaimsServiceStub, claims_files_dir: Path
) -> None:
    claim = await register(stub)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UploadFile(messages(claim.id, "video.mp4", b"\0" * (MAX_FILE_BYTES + 1)), metadata=auth())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "limit" in field_violations(caught.value)["chunk"]
    folder = claims_files_dir / claim.id
    assert not folder.exists() or not any(folder.iterdir())  # not even a partial file
    assert not (await stub.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=auth())).files


async def test_a_file_changed_on_disk_is_reported_corrupt_and_not_served(
    stub: pb_grpc.ClaimsServiceStub, claims_files_dir: Path
) -> None:
    claim = await register(stub)
    data = b"%PDF-1.4\n" + os.urandom(200_000)
    stored = await stub.UploadFile(messages(claim.id, "рахунок.pdf", data), metadata=auth())
    on_disk = claims_files_dir / claim.id / stored.id
    assert on_disk.read_bytes() == data
    tampered = bytearray(data)
    tampered[150_000] ^= 0xFF
    on_disk.write_bytes(bytes(tampered))

    received: list[pb.DownloadFileResponse] = []

    async def read_all() -> None:
        call = stub.DownloadFile(pb.DownloadFileRequest(claim_id=claim.id, file_id=stored.id), metadata=auth())
        async for part in call:
            received.append(part)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await read_all()
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "corrupt" in (caught.value.details() or "")
    assert received == []  # not one byte of it
    after = await stub.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=auth())
    assert after.files[0].corrupt

    on_disk.write_bytes(data)  # even restored, a file once found corrupt stays refused until re-uploaded
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await download(stub, claim.id, stored.id)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_missing_file_is_reported_corrupt(stub: pb_grpc.ClaimsServiceStub, claims_files_dir: Path) -> None:
    claim = await register(stub)
    stored = await stub.UploadFile(messages(claim.id, "a.png", PNG), metadata=auth())
    (claims_files_dir / claim.id / stored.id).unlink()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await download(stub, claim.id, stored.id)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_client_uploads_to_its_own_claim_only(stub: pb_grpc.ClaimsServiceStub) -> None:
    me = auth("client", partner_id=str(uuid.uuid4()))
    own = await stub.RegisterClaim(
        pb.RegisterClaimRequest(
            claim=pb.ClaimDraft(
                claimant_kind=pb.CLAIMANT_KIND_CLIENT,
                essence="Брак у партії",
                reason_codes=["poor_quality"],
                culprit_department="Склад",
            )
        ),
        metadata=me,
    )
    mine = await stub.UploadFile(messages(own.id, "брак.png", PNG), metadata=me)
    assert (await download(stub, own.id, mine.id, me))[1] == PNG

    other = await register(stub)
    theirs = await stub.UploadFile(messages(other.id, "a.png", PNG), metadata=auth())
    for attempt in (
        stub.UploadFile(messages(other.id, "x.png", PNG), metadata=me),
        download(stub, other.id, theirs.id, me),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await attempt
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("first", "field"),
    [
        (pb.UploadFileRequest(chunk=b"abc"), "start"),
        (pb.UploadFileRequest(start=pb.UploadStart(claim_id="7", file_name="a.txt")), "start.claim_id"),
    ],
)
async def test_bad_uploads_name_the_field(
    stub: pb_grpc.ClaimsServiceStub, first: pb.UploadFileRequest, field: str
) -> None:
    async def one() -> AsyncIterator[pb.UploadFileRequest]:
        yield first

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UploadFile(one(), metadata=auth())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


@pytest.mark.parametrize(("name", "data"), [("../../etc/passwd", PNG), ("", PNG), ("порожній.txt", b"")])
async def test_bad_file_names_and_empty_files_are_refused(
    stub: pb_grpc.ClaimsServiceStub, name: str, data: bytes
) -> None:
    claim = await register(stub)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UploadFile(messages(claim.id, name, data), metadata=auth())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) & {"start.file_name", "chunk"}
