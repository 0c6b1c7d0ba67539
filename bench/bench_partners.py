"""partners: duplicate detection precision and recall on a labelled set of 5,200 partners
the bench builds itself (duplicates made by typos, transliteration, legal-form words,
phone formats and shared tax ids); GetPartner throughput against the bare echo server
(same reply size, same run); p99 of a duplicate check with 1,000,000 partners.

Scratch databases are loaded with COPY and dropped at the end; GetPartner is measured
through the gRPC API of the service running as its own process (python -m partners).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
import grpc
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc
from stdnum.ua import edrpou

from bench.common import LoadResult, alternating, describe, echo_server, gateway_metadata, start_group_at_end
from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.localrun import ServiceProcess
from crm_platform.migrations import upgrade
from crm_platform.testing import ADMIN_DSN, STATE, db_url, free_port
from crm_platform.text import fold, latin
from partners.app import SPEC
from partners.duplicates import Probe, find_candidates
from partners.matching import LEGAL_FORMS, _squash, latin_words, name_blocks, name_key

ORIGINALS = 3_700
DUPLICATES_PER_KIND = 300
BIG = int(__import__("os").environ.get("BENCH_PARTNERS_BIG", "1000000"))
CHECKS = 300
CONCURRENCY = 16
SECONDS = 5.0
ROUNDS = 10


WORDS = [
    "Полтава",
    "Агро",
    "Сервіс",
    "Трейд",
    "Буд",
    "Метал",
    "Зоря",
    "Світанок",
    "Дніпро",
    "Карпати",
    "Поділля",
    "Вектор",
    "Альянс",
    "Техно",
    "Пром",
    "Енерго",
    "Лан",
    "Колос",
    "Граніт",
    "Сокіл",
    "Форвард",
    "Меридіан",
    "Оріон",
    "Хмельник",
    "Житомир",
    "Волинь",
    "Буковина",
    "Чумак",
    "Козак",
    "Калина",
    "Верба",
    "Берест",
    "Явір",
    "Дуб",
    "Ясен",
    "Сосна",
    "Криниця",
    "Джерело",
    "Росток",
    "Нива",
    "Степ",
    "Галичина",
    "Слобода",
    "Легіон",
    "Фортуна",
    "Атлант",
    "Титан",
    "Гермес",
    "Аврора",
    "Альфа",
    "Бета",
    "Гамма",
    "Дельта",
    "Омега",
    "Сигма",
    "Спектр",
    "Квант",
    "Імпульс",
    "Прогрес",
    "Успіх",
    "Надія",
    "Віра",
    "Мрія",
    "Дружба",
    "Єдність",
    "Рівне",
    "Луцьк",
    "Ужгород",
    "Черкаси",
    "Суми",
    "Херсон",
    "Одеса",
    "Миколаїв",
    "Кременчук",
    "Умань",
    "Бердичів",
    "Ковель",
    "Ізюм",
    "Ніжин",
    "Хліб",
    "Молоко",
    "Цукор",
    "Олія",
    "Зерно",
    "Насіння",
    "Добрива",
    "Техніка",
    "Логістик",
    "Транс",
    "Авто",
    "Мото",
    "Електро",
    "Сталь",
    "Бетон",
    "Цегла",
]
FORMS = ["ТОВ", "ПП", "ПрАТ", "ФОП", "ТзОВ"]
OTHER_FORMS = ["ООО", "LLC", "Ltd", "Товариство з обмеженою відповідальністю", ""]
QUOTES = [("«", "»"), ('"', '"'), ("", "")]
TRANSLIT = dict(
    zip(
        "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
        [
            "a",
            "b",
            "v",
            "h",
            "g",
            "d",
            "e",
            "ye",
            "zh",
            "z",
            "y",
            "i",
            "yi",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "_",
            "yu",
            "ya",
        ],
        strict=True,
    )
)


def translit(text: str) -> str:
    """A passport-style Latin spelling, not the one the service uses (anyascii)."""
    out = []
    for ch in text:
        low = ch.lower()
        if low in TRANSLIT:
            t = TRANSLIT[low].replace("_", "")
            out.append(t.capitalize() if ch != low else t)
        else:
            out.append(ch)
    return "".join(out)


@dataclass
class Row:
    id: uuid.UUID
    name: str
    phone: str = ""
    email: str = ""
    tax_id: str = ""
    cluster: int = 0
    kind: str = "original"
    contacts: list[tuple[str, str]] = field(default_factory=list)


def tax_id(rng: random.Random) -> str:
    body = rng.choice("12") + "".join(rng.choice("0123456789") for _ in range(6))
    return body + edrpou.calc_check_digit(body)


def typo(rng: random.Random, name: str) -> str:
    words = name.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w.strip('«»"')) >= 5 and w not in FORMS]
    i = rng.choice(candidates) if candidates else len(words) - 1
    word = words[i]
    pos = rng.randrange(1, len(word) - 1)
    edit = rng.choice(["swap", "drop", "double", "replace"])
    if edit == "swap":
        word = word[: pos - 1] + word[pos] + word[pos - 1] + word[pos + 1 :]
    elif edit == "drop":
        word = word[:pos] + word[pos + 1 :]
    elif edit == "double":
        word = word[:pos] + word[pos] + word[pos:]
    else:
        word = word[:pos] + rng.choice("аоеиі") + word[pos + 1 :]
    words[i] = word
    return " ".join(words)


def labelled_set(rng: random.Random) -> list[Row]:
    rows: list[Row] = []
    seen_keys: set[str] = set()
    while len(rows) < ORIGINALS:
        core = " ".join(rng.sample(WORDS, 2 if rng.random() < 0.5 else 3))
        words_key = " ".join(sorted(name_key(core).split()))  # "Лан Колос" and "Колос Лан" are one name
        if words_key in seen_keys:
            continue
        seen_keys.add(words_key)
        left, right = rng.choice(QUOTES)
        n = len(rows)
        rows.append(
            Row(
                uuid.uuid4(),
                f"{rng.choice(FORMS)} {left}{core}{right}",
                phone=f"+38067{n:07d}",
                email=f"office{n}@firm{n}.ua",
                tax_id=tax_id(rng),
                cluster=n,
            )
        )
    # Names of duplicates found only by phone or tax id: made-up brands, unique in the set.
    brands = iter(rng.sample([w for w in vocabulary(rng, 20_000) if w not in WORDS], DUPLICATES_PER_KIND * 2))
    originals = rng.sample(rows, DUPLICATES_PER_KIND * 5)
    kinds = ["typo", "translit", "legal_form", "phone_format", "tax_id"]
    for i, original in enumerate(originals):
        kind = kinds[i // DUPLICATES_PER_KIND]
        core = original.name.split(" ", 1)[1].strip('«»"')
        dup = Row(uuid.uuid4(), "", cluster=original.cluster, kind=kind)
        if kind == "typo":
            dup.name = typo(rng, original.name)
        elif kind == "translit":
            dup.name = f"{translit(core)} {rng.choice(['LLC', 'Ltd', ''])}".strip()
        elif kind == "legal_form":
            left, right = rng.choice(QUOTES)
            dup.name = f"{rng.choice(OTHER_FORMS)} {left}{core}{right}".strip()
        elif kind == "phone_format":
            local = original.phone.replace("+380", "0")
            dup.phone = f"{local[:3]} {local[3:6]}-{local[6:8]}-{local[8:]}"  # as a person types it
            dup.name = f"Магазин «{next(brands)}»"
        else:
            dup.tax_id = original.tax_id
            dup.name = f"{rng.choice(FORMS)} «{next(brands)} {rng.choice(['Груп', 'Холдинг', 'Інвест'])}»"
        rows.append(dup)
    return rows


async def copy_partners(conn: asyncpg.Connection, rows: Iterator[tuple]) -> None:  # type: ignore[type-arg]
    await conn.copy_records_to_table(
        "partner",
        records=rows,
        columns=[
            "id", "name", "name_folded", "name_latin", "name_key", "name_blocks", "roles", "manager_id", "segment",
            "region", "tags", "source", "version", "created_at", "updated_at",
        ],
    )  # fmt: skip


async def load_labelled(dsn: str, rows: list[Row]) -> None:
    from crm_platform.contacts import normalize_phone

    now = utcnow()
    conn = await asyncpg.connect(dsn)
    try:
        await copy_partners(
            conn,
            (
                (
                    r.id,
                    r.name,
                    fold(r.name),
                    latin(r.name),
                    name_key(r.name),
                    name_blocks(name_key(r.name)),
                    ["client"],
                    "",
                    "",
                    "",
                    [],
                    "",
                    1,
                    now,
                    now,
                )
                for r in rows
            ),
        )
        contacts = []
        for r in rows:
            if r.phone:
                contacts.append((uuid.uuid4(), r.id, 0, "phone", normalize_phone(r.phone, "phone"), ""))
            if r.email:
                contacts.append((uuid.uuid4(), r.id, 1, "email", r.email, ""))
        await conn.copy_records_to_table(
            "partner_contact", records=contacts, columns=["id", "partner_id", "position", "kind", "value", "label"]
        )
        await conn.copy_records_to_table(
            "counterparty",
            records=[
                (uuid.uuid4(), r.id, "legal_entity", "UA", r.name, "", r.tax_id, "", "", now)
                for r in rows
                if r.tax_id
            ],
            columns=[
                "id", "partner_id", "legal_form", "country", "full_name", "short_name", "tax_id", "kpp",
                "register_status", "created_at",
            ],
        )  # fmt: skip
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def probe_of(row: Row) -> Probe:
    from crm_platform.contacts import normalize_phone

    return Probe(
        name=row.name,
        tax_ids=(row.tax_id,) if row.tax_id else (),
        phones=(normalize_phone(row.phone, "phone"),) if row.phone else (),
        emails=(row.email,) if row.email else (),
    )


async def precision_recall(url: str, rows: list[Row]) -> None:
    cluster_of = {r.id: r.cluster for r in rows}
    originals = {r.cluster: r.id for r in rows if r.kind == "original"}
    truth = {frozenset((originals[r.cluster], r.id)): r.kind for r in rows if r.kind != "original"}
    predicted: set[frozenset[uuid.UUID]] = set()
    db = Database(url, pool_size=2)
    started = time.perf_counter()

    async def check(part: list[Row]) -> None:
        async with db.reading() as session:
            for row in part:
                for candidate in await find_candidates(session, probe_of(row), exclude=row.id):
                    predicted.add(frozenset((row.id, candidate.partner_id)))  # type: ignore[arg-type]

    try:
        await asyncio.gather(check(rows[0::2]), check(rows[1::2]))
    finally:
        await db.dispose()
    elapsed = time.perf_counter() - started
    correct = {p for p in predicted if len({cluster_of[i] for i in p}) == 1}
    found = {p for p in truth if p in predicted}
    precision = len(correct) / len(predicted) if predicted else 1.0
    recall = len(found) / len(truth)
    print(
        f"duplicate detection on {len(rows):,} partners ({len(truth):,} labelled duplicate pairs): "
        f"precision {precision:.3f}, recall {recall:.3f} ({len(predicted):,} pairs flagged; "
        f"{len(rows) / elapsed:,.0f} checks/s)"
    )
    by_kind: dict[str, list[bool]] = {}
    for pair, kind in truth.items():
        by_kind.setdefault(kind, []).append(pair in predicted)
    print("   recall by kind: " + ", ".join(f"{k} {sum(v) / len(v):.3f}" for k, v in by_kind.items()))


async def get_partner_throughput(name: str, partner_id: uuid.UUID) -> None:
    skipped = await start_group_at_end(name, SPEC.consumer.topics if SPEC.consumer else [])
    process = ServiceProcess(
        name="partners",
        grpc_port=free_port(),
        http_port=free_port(),
        database=name,
        log_path=STATE / "logs" / "bench" / f"{name}.log",
        env_overrides={"CRM_LOG_LEVEL": "WARNING", "CRM_KAFKA_GROUP_ID": name},
    )
    process.start()
    try:
        await asyncio.to_thread(process.wait_serving, 90.0)
        request = pb.GetPartnerRequest(id=str(partner_id))
        metadata = gateway_metadata("manager")
        async with grpc.aio.insecure_channel(process.address) as channel:
            stub = pb_grpc.PartnersServiceStub(channel)
            reply = await stub.GetPartner(request, metadata=metadata)
            for _ in range(200):
                await stub.GetPartner(request, metadata=metadata)
            reply_size = len(reply.SerializeToString())
            async with echo_server(reply_size) as echo_address, grpc.aio.insecure_channel(echo_address) as echo_channel:
                echo_call = echo_channel.unary_unary("/bench.Echo/Echo")
                raw_request = request.SerializeToString()
                for _ in range(200):
                    await echo_call(raw_request, metadata=metadata)
                rounds = await alternating(
                    lambda: stub.GetPartner(request, metadata=metadata),
                    lambda: echo_call(raw_request, metadata=metadata),
                    rounds=ROUNDS,
                    window=SECONDS / ROUNDS,
                    concurrency=CONCURRENCY,
                )
        measured, echo = LoadResult.combined([m for m, _ in rounds]), LoadResult.combined([e for _, e in rounds])
    finally:
        await asyncio.to_thread(process.stop, 15.0)
    print(f"(the service's consumer group starts at the head of its topics: {skipped:,} old events not replayed)")
    print(f"GetPartner ({reply_size} B reply, cached in process, Redis behind): {measured.summary()}")
    print(f"echo baseline ({reply_size} B reply):        {echo.summary()}")
    print(f"GetPartner / echo throughput ratio: {measured.per_second / echo.per_second:.2f}")


SYLLABLES = [c + v for c in "бвгдзклмнпрстфхцчш" for v in "аоеиуія"]


def vocabulary(rng: random.Random, size: int = 40_000) -> list[str]:
    """Made-up words from Ukrainian syllables: names as varied as a real register's."""
    words: set[str] = set(WORDS)
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize())
    return sorted(words)


def word_keys(words: list[str]) -> dict[str, tuple[str, str, str, list[str]]]:
    """fold, latin, key and blocks per word, so a million names need no per-name transliteration."""
    table = {}
    for word in words + FORMS:
        pieces = latin_words(word)
        key = "" if all(p in _LEGAL for p in pieces) else " ".join(_squash(p) for p in pieces)
        table[word] = (fold(word), latin(word), key, name_blocks(key) if key else [])
    return table


_LEGAL = frozenset(w for form in LEGAL_FORMS for w in latin_words(form))


async def big_duplicate_check(dsn: str, url: str) -> None:
    rng = random.Random(11)
    vocab = vocabulary(rng)
    keys = word_keys(vocab)
    now = utcnow()
    ids = [uuid.uuid4() for _ in range(BIG)]
    names: list[list[str]] = []

    def partners() -> Iterator[tuple]:  # type: ignore[type-arg]
        for partner_id in ids:
            words = [rng.choice(FORMS), *rng.sample(vocab, rng.randint(1, 3))]
            names.append(words)
            parts = [keys[w] for w in words]
            yield (
                partner_id,
                " ".join(words),
                " ".join(p[0] for p in parts),
                " ".join(p[1] for p in parts),
                " ".join(p[2] for p in parts if p[2]),
                list(dict.fromkeys(b for p in parts for b in p[3])),
                ["client"], "", "", "", [], "", 1, now, now,
            )  # fmt: skip

    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        for index in ("ix_partner_name_blocks", "ix_partner_name_folded_trgm", "ix_partner_name_latin_trgm"):
            await conn.execute(f"DROP INDEX IF EXISTS {index}")
        await conn.execute("DROP INDEX IF EXISTS ix_partner_contact_kind_value")
        await conn.execute("DROP INDEX IF EXISTS ix_counterparty_tax_id")
        await conn.execute("ALTER TABLE counterparty DROP CONSTRAINT IF EXISTS counterparty_partner_id_fkey")
        await conn.execute("ALTER TABLE partner_contact DROP CONSTRAINT IF EXISTS partner_contact_partner_id_fkey")
        others = [await asyncpg.connect(dsn) for _ in range(2)]
        try:
            await asyncio.gather(
                copy_partners(conn, partners()),
                others[0].copy_records_to_table(
                    "partner_contact",
                    records=((uuid.uuid4(), pid, 0, "phone", f"+38050{i:07d}", "") for i, pid in enumerate(ids)),
                    columns=["id", "partner_id", "position", "kind", "value", "label"],
                ),
                others[1].copy_records_to_table(
                    "counterparty",
                    records=(
                        (uuid.uuid4(), pid, "legal_entity", "UA", "x", "", f"{i:08d}", "", "", now)
                        for i, pid in enumerate(ids)
                    ),
                    columns=[
                        "id", "partner_id", "legal_form", "country", "full_name", "short_name", "tax_id", "kpp",
                        "register_status", "created_at",
                    ],
                ),
            )  # fmt: skip
            loaded = time.perf_counter() - started
            for c in (conn, *others):
                await c.execute("SET maintenance_work_mem = '256MB'")
            await asyncio.gather(
                conn.execute("CREATE INDEX ix_partner_name_blocks ON partner USING gin (name_blocks)"),
                others[0].execute("CREATE INDEX ix_partner_contact_kind_value ON partner_contact (kind, lower(value))"),
                others[1].execute("CREATE INDEX ix_counterparty_tax_id ON counterparty (tax_id)"),
            )
        finally:
            for other in others:
                await other.close()
        await conn.execute("ANALYZE")
        indexed = time.perf_counter() - started - loaded
    finally:
        await conn.close()
    print(f"{BIG:,} partners + phones + tax ids loaded by COPY in {loaded:.0f} s, indexed in {indexed:.0f} s")

    probes = []
    for _ in range(CHECKS):
        words = list(rng.choice(names))
        words[0] = rng.choice(OTHER_FORMS) or "ТОВ"
        name = typo(rng, " ".join(words))
        probes.append(
            Probe(
                name=name, tax_ids=(f"{rng.randrange(BIG * 2):08d}",), phones=(f"+38050{rng.randrange(BIG * 2):07d}",)
            )
        )
    db = Database(url, pool_size=2)
    latencies = []
    hits = 0
    try:
        async with db.reading() as session:
            for probe in probes[:20]:  # warm the caches
                await find_candidates(session, probe)
            for probe in probes:
                began = time.perf_counter()
                found = await find_candidates(session, probe)
                latencies.append(time.perf_counter() - began)
                hits += bool(found)
    finally:
        await db.dispose()
    print(f"duplicate check (name + tax id + phone) with {BIG:,} partners: {describe(latencies)}; {hits} found some")


async def main() -> None:
    small, big = (f"bench_partners_{kind}_{uuid.uuid4().hex[:6]}" for kind in ("set", "1m"))
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        for name in (small, big):
            await admin.execute(f'CREATE DATABASE "{name}"')
            await asyncio.to_thread(upgrade, SPEC.migrations_dir, db_url(name))
        rows = labelled_set(random.Random(5))
        await load_labelled(db_url(small).replace("postgresql+asyncpg", "postgresql"), rows)
        await precision_recall(db_url(small), rows)
        await get_partner_throughput(small, rows[0].id)
        await big_duplicate_check(db_url(big).replace("postgresql+asyncpg", "postgresql"), db_url(big))
    finally:
        for name in (small, big):
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
