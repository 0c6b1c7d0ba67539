"""Cached price tables for Quote: in memory, backed by Redis, loaded from PostgreSQL.

A price type's table (every product's prices by date), the price types, the products,
the exchange rates and the agreements are kept in memory. Writers drop the Redis copy
after their commit; every replica drops its memory copy on pricing's own events
(``invalidate_from_event``), and at once for writes it made itself.
"""

from __future__ import annotations

import bisect
import json
import time
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crm_platform.cache import Cache
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition
from pricing.domain import AgreementKind, AgreementStatus
from pricing.models import AgreementRow, PriceTypeRow, ProductRow
from pricing.repository import (
    AgreementRepository,
    KnownPartnerRepository,
    PriceRepository,
    PriceTypeRepository,
    ProductRepository,
    RateRepository,
)

Series = tuple[list[date], list[Decimal]]
# Tables read on every Quote line are keyed by the product id's 128-bit integer (UUID.int):
# UUID.__hash__ is Python code, an int's hash is not.
ProductKey = int
SEGMENT_TTL_SECONDS = 2.0
REDIS_DISTRUST_SECONDS = 5.0
AGREEMENTS_TTL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """What Quote needs of a product: a plain snapshot, cheaper to read than an ORM row."""

    id: uuid.UUID
    sku: str
    name: str
    vat_rate: Decimal
    cost: Decimal
    cost_currency: str
    # Written into every quoted line: formatted once, not per call.
    id_text: str
    vat_text: str

    @classmethod
    def of(cls, row: ProductRow) -> ProductInfo:
        vat_text = format(row.vat_rate.normalize(), "f")
        return cls(row.id, row.sku, row.name, row.vat_rate, row.cost, row.cost_currency, str(row.id), vat_text)


@dataclass
class PriceTable:
    series: dict[ProductKey, Series]

    def price(self, product_id: uuid.UUID, on: date) -> tuple[Decimal, date] | None:
        found = self.series.get(product_id.int)
        if found is None:
            return None
        dates, amounts = found
        at = bisect.bisect_right(dates, on) - 1
        return (amounts[at], dates[at]) if at >= 0 else None

    def dumps(self) -> bytes:
        return json.dumps(
            {f"{p:032x}": [[d.isoformat() for d in ds], [str(a) for a in am]] for p, (ds, am) in self.series.items()}
        ).encode()

    @classmethod
    def loads(cls, raw: bytes) -> PriceTable:
        data = json.loads(raw)
        return cls(
            {
                # Hex, with or without hyphens: copies written before the keys were integers still load.
                int(p.replace("-", ""), 16): ([date.fromisoformat(d) for d in ds], [Decimal(a) for a in am])
                for p, (ds, am) in data.items()
            }
        )


class PriceTables:
    def __init__(self, db: Database, redis_cache: Cache | None) -> None:
        self.db = db
        self.redis = redis_cache
        self._tables: dict[uuid.UUID, PriceTable] = {}
        self._types: dict[uuid.UUID, PriceTypeRow] | None = None
        self._default: tuple[dict[uuid.UUID, PriceTypeRow], PriceTypeRow | None] | None = None
        self._products: dict[ProductKey, ProductInfo] = {}
        self._skus: dict[str, uuid.UUID] = {}
        self._rates: dict[tuple[str, str, date], tuple[Decimal, date] | None] = {}
        self._agreements: dict[uuid.UUID, AgreementRow] | None = None
        self._segments: dict[uuid.UUID, tuple[str | None, float]] = {}
        self._refreshing: set[uuid.UUID] = set()
        self._fresh: set[uuid.UUID] = set()
        self._skip_redis_until = 0.0
        # Bumped by every drop: a load that started before a drop must not store what it read.
        self._generation = 0
        self._agreements_expire = 0.0
        self._party_index: tuple[dict[uuid.UUID, AgreementRow], dict[uuid.UUID | str, list[AgreementRow]]] | None = None

    # ------------------------------------------------------------ invalidation

    async def invalidate_types(self, type_ids: list[uuid.UUID]) -> None:
        self.drop_types(type_ids)
        if self.redis is not None:
            await self.redis.delete(*(f"table:{t}" for t in type_ids))

    def drop_types(self, type_ids: list[uuid.UUID] | None = None) -> None:
        """Forgets tables; the next load of each comes from PostgreSQL, since the Redis copy
        may predate the change (the writer drops it only after its commit)."""
        self._generation += 1
        self._types = None
        if type_ids is None:
            self._tables.clear()
            self._skip_redis_until = time.monotonic() + REDIS_DISTRUST_SECONDS
        for type_id in type_ids or []:
            self._tables.pop(type_id, None)
            self._fresh.add(type_id)

    def drop_rates(self) -> None:
        self._generation += 1
        self._rates.clear()

    def drop_agreements(self) -> None:
        self._generation += 1
        self._agreements = None

    def drop_partner(self, partner_id: uuid.UUID | None = None) -> None:
        if partner_id is None:
            self._segments.clear()
        else:
            self._segments.pop(partner_id, None)

    def drop_products(self) -> None:
        # New dicts, not cleared ones: a load in flight fills the old ones, which nobody reads any more.
        self._products = {}
        self._skus = {}

    def invalidate_from_event(self, event_type: str, key: str) -> None:
        if event_type == "crm.pricing.price.changed":
            self.drop_types([uuid.UUID(key)])
        elif event_type == "crm.pricing.price_type.changed":
            self.drop_types()
        elif event_type == "crm.pricing.rate.set":
            self.drop_rates()
        elif event_type == "crm.pricing.product.updated":
            self.drop_products()
        elif event_type.startswith("crm.pricing.agreement."):
            self.drop_agreements()

    # ------------------------------------------------------------ reads

    async def types(self) -> dict[uuid.UUID, PriceTypeRow]:
        found = self._types
        if found is None:
            generation = self._generation
            async with self.db.reading() as session:
                found = {t.id: t for t in await PriceTypeRepository(session).all()}
            if generation == self._generation:  # not dropped while loading: still current
                self._types = found
        return found

    async def price_type(self, type_id: uuid.UUID) -> PriceTypeRow | None:
        return (await self.types()).get(type_id)

    async def default_type(self) -> PriceTypeRow | None:
        types = await self.types()
        cached = self._default
        if cached is None or cached[0] is not types:  # computed once per load of the types
            cached = self._default = (types, next((t for t in types.values() if t.is_default), None))
        return cached[1]

    async def table(self, type_id: uuid.UUID) -> PriceTable:
        found = self._tables.get(type_id)
        if found is not None:
            return found
        generation = self._generation
        from_database = self.redis is None or type_id in self._fresh or time.monotonic() < self._skip_redis_until
        raw = None if from_database or self.redis is None else await self.redis.get(f"table:{type_id}")
        if raw is not None:
            found = PriceTable.loads(raw)
        else:
            self._fresh.discard(type_id)
            found = await self._load_table(type_id)
            if self.redis is not None and generation == self._generation:
                await self.redis.set(f"table:{type_id}", found.dumps())
        if generation == self._generation:
            self._tables[type_id] = found
        return found

    async def _load_table(self, type_id: uuid.UUID) -> PriceTable:
        async with self.db.reading() as session:
            rows = await PriceRepository(session).table(type_id)
        series: dict[ProductKey, Series] = {}
        for product_id, on, amount in rows:
            dates, amounts = series.setdefault(product_id.int, ([], []))
            dates.append(on)
            amounts.append(amount)
        return PriceTable(series)

    async def products(
        self, ids: list[uuid.UUID], skus: list[str]
    ) -> tuple[dict[ProductKey, ProductInfo], dict[str, uuid.UUID]]:
        """The products by id (keyed by ``id.int``) and the ids by SKU, loading what is not in memory."""
        products, known_skus = self._products, self._skus
        missing_ids = [i for i in ids if i.int not in products]
        missing_skus = [s for s in skus if s not in known_skus]
        if missing_ids or missing_skus:
            async with self.db.reading() as session:
                rows = await ProductRepository(session).many(missing_ids, missing_skus)
            for row in rows:
                products[row.id.int] = ProductInfo.of(row)
                known_skus[row.sku] = row.id
        return products, known_skus

    async def rate(self, source: str, target: str, on: date) -> tuple[Decimal, date]:
        """The rate in force on a date: the direct pair, or the inverse of the opposite pair."""
        found = await self.rate_or_none(source, target, on)
        if found is None:
            raise missing_rate(source, target, on)
        return found

    async def rate_or_none(self, source: str, target: str, on: date) -> tuple[Decimal, date] | None:
        if source == target:
            return Decimal(1), on
        key = (source, target, on)
        if key in self._rates:
            found = self._rates[key]
        else:
            generation = self._generation
            async with self.db.reading() as session:
                rates = RateRepository(session)
                direct = await rates.latest(source, target, on)
                inverse = await rates.latest(target, source, on)
            if direct is not None and (inverse is None or direct[1] >= inverse[1]):
                found = direct
            elif inverse is not None:
                found = (Decimal(1) / inverse[0], inverse[1])
            else:
                found = None
            if generation == self._generation:
                self._rates[key] = found
        return found

    async def agreement(self, agreement_id: uuid.UUID) -> AgreementRow | None:
        """By id; drafts are created without an event, so a miss is looked up."""
        agreements = await self._all_agreements()
        if agreement_id not in agreements:
            async with self.db.reading() as session:
                found = await AgreementRepository(session).get(agreement_id)
            if found is None:
                return None
            agreements[agreement_id] = found
        return agreements[agreement_id]

    async def agreement_for(self, partner_id: uuid.UUID, on: date) -> AgreementRow | None:
        """The partner's individual agreement in force, else its segment's typical one."""
        by_party = await self._agreed_by_party()
        for a in by_party.get(partner_id, ()):
            if _in_force(a, on):
                return a
        segment = await self.segment_of(partner_id)
        for a in by_party.get(segment, ()) if segment else ():
            if _in_force(a, on):
                return a
        return None

    async def lapsed_agreement_for(self, partner_id: uuid.UUID, on: date) -> AgreementRow | None:
        """The partner's agreed agreement (individual first) whose validity does not cover `on`."""
        by_party = await self._agreed_by_party()
        mine = by_party.get(partner_id, [])
        segment = await self.segment_of(partner_id)
        if not mine and segment:
            mine = by_party.get(segment, [])
        return max(mine, key=lambda a: a.valid_from, default=None)

    async def _agreed_by_party(self) -> dict[uuid.UUID | str, list[AgreementRow]]:
        """Agreed agreements by partner id (individual) or segment (typical)."""
        agreements = await self._all_agreements()
        index = self._party_index
        if index is None or index[0] is not agreements:
            by_party: dict[uuid.UUID | str, list[AgreementRow]] = {}
            for a in agreements.values():
                if a.status != AgreementStatus.AGREED:
                    continue
                key = a.partner_id if a.kind == AgreementKind.INDIVIDUAL else a.segment
                if key is not None:
                    by_party.setdefault(key, []).append(a)
            index = self._party_index = (agreements, by_party)
        return index[1]

    async def segment_of(self, partner_id: uuid.UUID) -> str | None:
        # Partners' events reach the invalidation reader and the consumer independently,
        # so an entry may be refreshed before the consumer committed: entries also expire.
        # While one call refreshes an expired entry, the others use it as it was, rather than
        # every call in flight asking the database the same question.
        cached = self._segments.get(partner_id)
        now = time.monotonic()
        if cached is not None and (cached[1] >= now or partner_id in self._refreshing):
            return cached[0]
        self._refreshing.add(partner_id)
        try:
            async with self.db.reading() as session:
                segment = await KnownPartnerRepository(session).segment_of(partner_id)
        finally:
            self._refreshing.discard(partner_id)
        self._segments[partner_id] = (segment, now + SEGMENT_TTL_SECONDS)
        return segment

    async def _all_agreements(self) -> dict[uuid.UUID, AgreementRow]:
        found = self._agreements
        if found is None or time.monotonic() > self._agreements_expire:
            generation = self._generation
            async with self.db.reading() as session:
                rows = await AgreementRepository(session).page(100_000, None, partner_id=None, segment="", status="")
            found = {a.id: a for a in rows}
            if generation == self._generation:
                self._agreements = found
                # Bounds how long a change made by a consumer (a partner merge) can go unseen.
                self._agreements_expire = time.monotonic() + AGREEMENTS_TTL_SECONDS
        return found


def missing_rate(source: str, target: str, on: date) -> FailedPrecondition:
    return FailedPrecondition(
        f"no exchange rate {source}→{target} on or before {on}: set one with SetExchangeRate",
        rule="exchange_rate_missing",
    )


def _in_force(agreement: AgreementRow, on: date) -> bool:
    return agreement.valid_from <= on and (agreement.valid_to is None or agreement.valid_to >= on)
