"""Autofill and check of a counterparty from the state register (EDR in Ukraine,
EGRUL/EGRIP in Russia), behind an adapter. The shipped adapter reads a local file
(JSON list of records), so the platform works offline; a live register client would
implement the same protocol."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from partners.legal import LegalForm, RegisterStatus

SAMPLE = Path(__file__).resolve().parent / "data" / "register_sample.json"


@dataclass(frozen=True)
class RegisterRecord:
    country: str
    tax_id: str
    legal_form: LegalForm
    full_name: str
    short_name: str = ""
    kpp: str = ""
    legal_address: dict[str, str] = field(default_factory=dict)
    phones: tuple[str, ...] = ()
    status: RegisterStatus = RegisterStatus.ACTIVE


class StateRegister(Protocol):
    async def lookup(self, country: str, tax_id: str) -> RegisterRecord | None: ...


class LocalRegisterFile:
    """Reads the whole file once; a register extract of a few hundred thousand rows fits."""

    def __init__(self, path: Path = SAMPLE) -> None:
        self.path = path
        self._records: dict[tuple[str, str], RegisterRecord] | None = None

    def _load(self) -> dict[tuple[str, str], RegisterRecord]:
        records = {}
        for item in json.loads(self.path.read_text(encoding="utf-8")):
            record = RegisterRecord(
                country=item["country"],
                tax_id=item["tax_id"],
                legal_form=LegalForm(item.get("legal_form", "legal_entity")),
                full_name=item["full_name"],
                short_name=item.get("short_name", ""),
                kpp=item.get("kpp", ""),
                legal_address={k: str(v) for k, v in item.get("legal_address", {}).items()},
                phones=tuple(item.get("phones", [])),
                status=RegisterStatus(item.get("status", "active")),
            )
            records[(record.country, record.tax_id)] = record
        return records

    async def lookup(self, country: str, tax_id: str) -> RegisterRecord | None:
        if self._records is None:
            self._records = self._load()
        return self._records.get((country, tax_id))
