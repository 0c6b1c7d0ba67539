"""claims: the three analytics reports with 1,000,000 claims stored, and file upload and
download throughput over gRPC against writing and reading the same bytes straight to disk.

The claims service runs as its own process (python -m claims) against a scratch database
loaded with COPY; every figure is measured through its gRPC API.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from aiobotocore.session import get_session
from botocore.exceptions import EndpointConnectionError
from crm.claims.v1 import claims_pb2 as pb
from crm.claims.v1 import claims_pb2_grpc as pb_grpc

from bench.common import describe, timed
from crm_platform.localrun import ServiceProcess
from crm_platform.testing import ADMIN_DSN, PG_PORT, STATE, auth, free_port

CLAIMS = 1_000_000
FILE_BYTES = 32 * 1024 * 1024
CHUNK = 256 * 1024
FILE_ROUNDS = 5
S3_ROUNDS = 3
S3_PART_BYTES = 8 * 1024 * 1024  # the service's default part size
S3_REGION = "eu-central-1"
S3_KEYS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench-secret"}
REPORT_REPEAT = 5

DEPARTMENTS = [
    "Відділ логістики",
    "Склад",
    "Відділ продажів",
    "Бухгалтерія",
    "Служба доставки",
    "Відділ якості",
    "Сервісний центр",
    "Відділ закупівель",
    "Юридичний відділ",
    "Кол-центр",
]
EMPLOYEES = [
    f"{n}.{s}"
    for n in ("andrii", "olena", "taras", "iryna", "oksana")
    for s in ("melnyk", "koval", "bondar", "tkach", "shevchuk", "boyko", "kravets", "lysenko", "rudenko", "moroz")
]
REASONS = [
    "late_delivery",
    "poor_quality",
    "short_delivery",
    "damaged_goods",
    "wrong_documents",
    "staff_conduct",
    "price_dispute",
]
OUTCOMES = ["satisfied", "partly_satisfied", "rejected", "withdrawn"]
COLUMNS = [
    "id",
    "number",
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
]


def claim_rows(count: int) -> Iterator[tuple[object, ...]]:
    """Claims registered over three years (2024-2026), most of them closed some days later;
    generated while COPY sends them."""
    rng = random.Random(8)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    span = int((datetime(2026, 11, 1, tzinfo=UTC) - start).total_seconds())
    partners = [uuid.uuid4() for _ in range(20_000)]
    for number in range(1, count + 1):
        registered = start + timedelta(seconds=rng.randrange(span))
        closed = rng.random() < 0.85
        status = rng.choice(OUTCOMES) if closed else rng.choice(("registered", "under_investigation"))
        reasons = [rng.choice(REASONS)] if rng.random() < 0.7 else rng.sample(REASONS, 2)
        yield (
            uuid.uuid4(),
            number,
            rng.choice(partners),
            "client",
            "Коваленко Олена",
            rng.choice(DEPARTMENTS),
            rng.choice(EMPLOYEES) if rng.random() < 0.6 else "",
            "Порушено строки поставки",
            reasons,
            "",
            "",
            "",
            status,
            "Рішення комісії" if closed else "",
            "staff",
            "bench",
            registered,
            registered + timedelta(days=rng.randrange(1, 40)) if closed else None,
            1,
        )


async def main() -> None:
    name = f"bench_claims_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    files_dir = Path(tempfile.mkdtemp(prefix="bench-claims-"))
    process = ServiceProcess(
        name="claims",
        grpc_port=free_port(),
        http_port=free_port(),
        database=name,
        log_path=STATE / "logs" / "bench" / f"{name}.log",
        env_overrides={
            "CRM_KAFKA_GROUP_ID": name,
            "CRM_LOG_LEVEL": "WARNING",
            "CRM_SHUTDOWN_GRACE_SECONDS": "5",
            "CRM_CLAIMS_FILES_DIR": str(files_dir),
            "CRM_CLAIMS_MAX_FILE_BYTES": str(FILE_BYTES * 2),
        },
    )
    try:
        process.start()
        await asyncio.to_thread(process.wait_serving, 90.0)
        await load(name)
        async with grpc.aio.insecure_channel(
            process.address,
            options=[("grpc.max_receive_message_length", 8 * 1024 * 1024)],
        ) as channel:
            stub = pb_grpc.ClaimsServiceStub(channel)
            await reports(stub)
            await files(stub, files_dir)
        await asyncio.to_thread(process.stop, 15.0)  # the S3 instance below is the only one then
        await s3_files(name)
    finally:
        await asyncio.to_thread(process.stop, 15.0)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        await asyncio.to_thread(shutil.rmtree, files_dir, True)


async def load(database: str) -> None:
    conn = await asyncpg.connect(f"postgresql://crm:crm@127.0.0.1:{PG_PORT}/{database}")
    try:
        # A bulk load's usual course: secondary indexes are built once, after COPY.
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'claim' AND indexname LIKE 'ix_%'"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        started = time.perf_counter()
        await conn.copy_records_to_table("claim", columns=COLUMNS, records=claim_rows(CLAIMS))
        copied = time.perf_counter() - started
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute(f"SELECT setval('claim_number_seq', {CLAIMS})")
        await conn.execute("VACUUM ANALYZE claim")  # what autovacuum does after a bulk load
        indexed = time.perf_counter() - started - copied
    finally:
        await conn.close()
    print(f"loaded {CLAIMS:,} claims with COPY in {copied:.1f} s ({CLAIMS / copied:,.0f} rows/s, generated meanwhile)")
    print(f"  ({len(indexes)} secondary indexes built and the table vacuumed in {indexed:.1f} s)")


async def reports(stub: pb_grpc.ClaimsServiceStub) -> None:
    metadata = auth("head")
    year = pb.Period(from_date="2025-01-01", to_date="2025-12-31")
    quarter = pb.Period(from_date="2025-04-01", to_date="2025-06-30")
    for label, period in (("a year (2025 vs 2024)", year), ("a quarter (2025 Q2 vs 2024 Q2)", quarter)):
        dynamics = await timed(
            lambda p=period: stub.RegistrationDynamics(pb.RegistrationDynamicsRequest(period=p), metadata=metadata),
            REPORT_REPEAT,
        )
        satisfaction = await timed(
            lambda p=period: stub.SatisfactionByReason(pb.AnalyticsPeriodRequest(period=p), metadata=metadata),
            REPORT_REPEAT,
        )
        structure = await timed(
            lambda p=period: stub.ClaimStructure(pb.ClaimStructureRequest(period=p), metadata=metadata),
            REPORT_REPEAT,
        )
        print(f"registration dynamics, {label}: {describe(dynamics)}")
        print(f"satisfaction per reason, {label}: {describe(satisfaction)}")
        print(f"structure (departments, employees, reasons), {label}: {describe(structure)}")
    sample = await stub.RegistrationDynamics(pb.RegistrationDynamicsRequest(period=year), metadata=metadata)
    print(
        f"  (2025: {sample.current.total_registered:,} registered, peak {sample.current.peak_month}; "
        f"2024: {sample.previous_year.total_registered:,})"
    )


def rate(seconds: list[float]) -> str:
    mb = FILE_BYTES / 1024 / 1024
    return f"{mb / (sum(seconds) / len(seconds)):,.0f} MB/s mean, {mb / min(seconds):,.0f} MB/s best"


async def over_grpc(stub: pb_grpc.ClaimsServiceStub, data: bytes, rounds: int) -> tuple[list[float], list[float]]:
    """Seconds per upload and per download of `data` through the service's streaming RPCs."""
    claim = await stub.RegisterClaim(
        pb.RegisterClaimRequest(
            claim=pb.ClaimDraft(
                partner_id=str(uuid.uuid4()),
                claimant_kind=pb.CLAIMANT_KIND_CLIENT,
                culprit_department="Склад",
                essence="Фото та відео пошкодженого вантажу",
                reason_codes=["damaged_goods"],
            )
        ),
        metadata=auth(),
    )

    async def parts() -> AsyncIterator[pb.UploadFileRequest]:
        yield pb.UploadFileRequest(start=pb.UploadStart(claim_id=claim.id, file_name="відео.bin"))
        for i in range(0, len(data), CHUNK):
            yield pb.UploadFileRequest(chunk=data[i : i + CHUNK])

    uploads, downloads = [], []
    stored = None
    for _ in range(rounds):
        started = time.perf_counter()
        stored = await stub.UploadFile(parts(), metadata=auth())
        uploads.append(time.perf_counter() - started)
    assert stored is not None
    for _ in range(rounds):
        received = hashlib.sha256()
        started = time.perf_counter()
        async for part in stub.DownloadFile(
            pb.DownloadFileRequest(claim_id=claim.id, file_id=stored.id), metadata=auth()
        ):
            if part.WhichOneof("part") == "chunk":
                received.update(part.chunk)
        downloads.append(time.perf_counter() - started)
        assert received.hexdigest() == stored.sha256
    return uploads, downloads


async def files(stub: pb_grpc.ClaimsServiceStub, files_dir: Path) -> None:
    data = os.urandom(FILE_BYTES)
    uploads, downloads = await over_grpc(stub, data, FILE_ROUNDS)

    path = files_dir / "straight-to-disk.bin"
    writes, reads = [], []
    for _ in range(FILE_ROUNDS):
        started = time.perf_counter()
        with path.open("wb") as handle:
            for i in range(0, len(data), CHUNK):
                handle.write(data[i : i + CHUNK])
            handle.flush()
            os.fsync(handle.fileno())
        writes.append(time.perf_counter() - started)
        started = time.perf_counter()
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        reads.append(time.perf_counter() - started)

    mb = FILE_BYTES // 1024 // 1024
    print(f"local storage: file of {mb} MB in {CHUNK // 1024} KB chunks, {FILE_ROUNDS} rounds each:")
    print(f"  upload over gRPC (hash, type, fsync, record): {rate(uploads)}")
    print(f"  write straight to disk (fsync):                {rate(writes)}")
    print(f"  download over gRPC (SHA-256 verified, then streamed and hashed again): {rate(downloads)}")
    print(f"  read straight from disk (with SHA-256):        {rate(reads)}")


def s3_server(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


async def multipart_put(s3: Any, bucket: str, key: str, data: bytes) -> None:
    upload = (await s3.create_multipart_upload(Bucket=bucket, Key=key))["UploadId"]
    parts = []
    for number, offset in enumerate(range(0, len(data), S3_PART_BYTES), start=1):
        body = data[offset : offset + S3_PART_BYTES]
        sent = await s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)
        parts.append({"ETag": sent["ETag"], "PartNumber": number})
    await s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})


async def s3_files(database: str) -> None:
    """The same file through claims started with CRM_CLAIMS_STORAGE=s3 against an S3-compatible
    server (moto's, in a process of its own), beside PUT and GET of the same bytes straight to it."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = s3_server(port, STATE / "logs" / "bench" / f"{database}-s3server.log")
    process = None
    try:
        client = get_session().create_client("s3", endpoint_url=endpoint, region_name=S3_REGION, **S3_KEYS)
        async with client as s3:
            bucket = f"bench-claims-{uuid.uuid4().hex[:8]}"
            for _ in range(100):
                try:
                    await s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": S3_REGION})
                    break
                except (EndpointConnectionError, ConnectionError):
                    await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"the S3 server on {endpoint} did not start; see {STATE / 'logs' / 'bench'}")
            process = ServiceProcess(
                name="claims",
                grpc_port=free_port(),
                http_port=free_port(),
                database=database,
                log_path=STATE / "logs" / "bench" / f"{database}-s3.log",
                env_overrides={
                    "CRM_KAFKA_GROUP_ID": f"{database}_s3",
                    "CRM_LOG_LEVEL": "WARNING",
                    "CRM_SHUTDOWN_GRACE_SECONDS": "5",
                    "CRM_CLAIMS_STORAGE": "s3",
                    "CRM_CLAIMS_S3_BUCKET": bucket,
                    "CRM_CLAIMS_S3_ENDPOINT_URL": endpoint,
                    "CRM_CLAIMS_S3_REGION": S3_REGION,
                    "CRM_CLAIMS_S3_ADDRESSING_STYLE": "path",
                    "CRM_CLAIMS_S3_ACCESS_KEY_ID": S3_KEYS["aws_access_key_id"],
                    "CRM_CLAIMS_S3_SECRET_ACCESS_KEY": S3_KEYS["aws_secret_access_key"],
                    "CRM_CLAIMS_MAX_FILE_BYTES": str(FILE_BYTES * 2),
                },
            )
            process.start()
            await asyncio.to_thread(process.wait_serving, 90.0)
            data = os.urandom(FILE_BYTES)
            async with grpc.aio.insecure_channel(process.address) as channel:
                uploads, downloads = await over_grpc(pb_grpc.ClaimsServiceStub(channel), data, S3_ROUNDS)

            puts, multiparts, gets = [], [], []
            for _ in range(S3_ROUNDS):
                started = time.perf_counter()
                await s3.put_object(Bucket=bucket, Key="straight/object.bin", Body=data)
                puts.append(time.perf_counter() - started)
                started = time.perf_counter()
                await multipart_put(s3, bucket, "straight/parts.bin", data)
                multiparts.append(time.perf_counter() - started)
                started = time.perf_counter()
                digest = hashlib.sha256()
                got = await s3.get_object(Bucket=bucket, Key="straight/object.bin")
                async with got["Body"] as body:
                    async for chunk in body.iter_chunks(CHUNK):
                        digest.update(chunk)
                gets.append(time.perf_counter() - started)
                assert digest.digest() == hashlib.sha256(data).digest()
    finally:
        if process is not None:
            await asyncio.to_thread(process.stop, 15.0)
        server.terminate()
        await asyncio.to_thread(server.wait, 15.0)

    mb = FILE_BYTES // 1024 // 1024
    print(f"S3 storage (moto's server on this machine): file of {mb} MB, {S3_ROUNDS} rounds each:")
    print(f"  upload over gRPC (8 MB multipart parts):       {rate(uploads)}")
    print(f"  PUT straight to the S3 server (one request):   {rate(puts)}")
    print(f"  multipart straight to it (the same 8 MB parts): {rate(multiparts)}")
    print(f"  download over gRPC (verified, then streamed):  {rate(downloads)}")
    print(f"  GET straight from the S3 server (with SHA-256): {rate(gets)}")
