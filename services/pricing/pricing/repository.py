"""pricing' queries: the only module that writes SQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.paging import PageToken
from pricing.domain import Rounding, Rule
from pricing.models import (
    AgreementRow,
    ExchangeRateRow,
    KnownPartner,
    PriceListItemRow,
    PriceListRow,
    PriceRow,
    PriceTypeRow,
    ProductRow,
)

PRICE = PriceRow.__table__  # type: ignore[attr-defined]


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, product: ProductRow) -> ProductRow:
        self.session.add(product)
        await self.session.flush()
        return product

    async def get(self, product_id: uuid.UUID, *, lock: bool = False) -> ProductRow | None:
        return await self.session.get(ProductRow, product_id, with_for_update=lock)

    async def by_sku(self, sku: str) -> ProductRow | None:
        return (await self.session.execute(select(ProductRow).where(ProductRow.sku == sku))).scalars().first()

    async def by_request_id(self, request_id: str) -> ProductRow | None:
        query = select(ProductRow).where(ProductRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def many(self, ids: Iterable[uuid.UUID], skus: Iterable[str]) -> list[ProductRow]:
        ids, skus = list(ids), list(skus)
        if not ids and not skus:
            return []
        query = select(ProductRow).where(or_(ProductRow.id.in_(ids), ProductRow.sku.in_(skus)))  # type: ignore[union-attr,attr-defined]
        return list((await self.session.execute(query)).scalars())

    async def all_for_matching(self) -> list[tuple[uuid.UUID, str, str]]:
        rows = await self.session.execute(select(ProductRow.id, ProductRow.sku, ProductRow.name_folded))
        return [(r[0], r[1], r[2]) for r in rows]

    async def page(self, size: int, after: PageToken | None, query: str) -> list[ProductRow]:
        statement = select(ProductRow)
        if query:
            like = f"%{query}%"
            statement = statement.where(
                or_(ProductRow.name_folded.like(like), func.lower(ProductRow.sku).like(like))  # type: ignore[attr-defined]
            )
        if after is not None:
            statement = statement.where(tuple_(ProductRow.name, ProductRow.id) > tuple_(after.key, after.id))
        statement = statement.order_by(ProductRow.name, ProductRow.id).limit(size)
        return list((await self.session.execute(statement)).scalars())


class PriceTypeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: PriceTypeRow) -> PriceTypeRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, type_id: uuid.UUID) -> PriceTypeRow | None:
        return await self.session.get(PriceTypeRow, type_id)

    async def by_request_id(self, request_id: str) -> PriceTypeRow | None:
        query = select(PriceTypeRow).where(PriceTypeRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def all(self) -> list[PriceTypeRow]:
        return list((await self.session.execute(select(PriceTypeRow).order_by(PriceTypeRow.id))).scalars())

    async def default(self) -> PriceTypeRow | None:
        query = select(PriceTypeRow).where(PriceTypeRow.is_default.is_(True))  # type: ignore[attr-defined]
        return (await self.session.execute(query)).scalars().first()

    async def clear_default(self) -> None:
        await self.session.execute(
            update(PriceTypeRow).where(PriceTypeRow.is_default.is_(True)).values(is_default=False)  # type: ignore[attr-defined]
        )

    async def lock_all(self) -> None:
        """Serialises changes of derivation (cycle checks see each other's rules)."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('pricing.price_type'))"))

    async def page(self, size: int, after: PageToken | None) -> list[PriceTypeRow]:
        statement = select(PriceTypeRow)
        if after is not None:
            statement = statement.where(tuple_(PriceTypeRow.name, PriceTypeRow.id) > tuple_(after.key, after.id))
        statement = statement.order_by(PriceTypeRow.name, PriceTypeRow.id).limit(size)
        return list((await self.session.execute(statement)).scalars())


class PriceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, type_id: uuid.UUID, on: date, prices: Sequence[tuple[uuid.UUID, Decimal]]) -> None:
        statement = insert(PRICE).values(
            [
                {"price_type_id": type_id, "product_id": p, "effective_from": on, "amount": a, "derived": False}
                for p, a in prices
            ]
        )
        statement = statement.on_conflict_do_update(
            index_elements=[PRICE.c.price_type_id, PRICE.c.product_id, PRICE.c.effective_from],
            set_={"amount": statement.excluded.amount},
        )
        await self.session.execute(statement)

    async def rows_of(
        self, type_id: uuid.UUID, product_ids: Sequence[uuid.UUID] | None
    ) -> list[tuple[uuid.UUID, date, Decimal]]:
        # Straight through asyncpg: a whole price type is 100,000s of rows.
        raw = await self._raw()
        sql = "SELECT product_id, effective_from, amount FROM price WHERE price_type_id = $1"
        if product_ids is None:
            records = await raw.fetch(sql, type_id)
        else:
            records = await raw.fetch(sql + " AND product_id = ANY($2::uuid[])", type_id, list(product_ids))
        return [(r[0], r[1], r[2]) for r in records]

    async def _raw(self) -> Any:
        connection = await self.session.connection()
        return (await connection.get_raw_connection()).driver_connection

    async def derive(self, type_id: uuid.UUID, rule: Rule, product_ids: Sequence[uuid.UUID] | None) -> int:
        """Replaces the type's prices (of product_ids, or all) by its rule applied to its base's."""
        raw = await self._raw()
        args: list[Any] = [type_id, rule.base_id, rule.markup_percent, rule.step]
        only = ""
        if product_ids is None:
            await raw.execute("DELETE FROM price WHERE price_type_id = $1", type_id)
        else:
            ids = list(product_ids)
            await raw.execute(
                "DELETE FROM price WHERE price_type_id = $1 AND product_id = ANY($2::uuid[])", type_id, ids
            )
            args.append(ids)
            only = " AND product_id = ANY($5::uuid[])"
        status = await raw.execute(
            "INSERT INTO price (price_type_id, product_id, effective_from, amount, derived) "
            f"SELECT $1, product_id, effective_from, {_rounded(rule)}, true FROM price WHERE price_type_id = $2{only}",
            *args,
        )
        return int(status.rsplit(" ", 1)[-1])

    async def table(self, type_id: uuid.UUID) -> list[tuple[uuid.UUID, date, Decimal]]:
        raw = await self._raw()
        records = await raw.fetch(
            "SELECT product_id, effective_from, amount FROM price WHERE price_type_id = $1 "
            "ORDER BY product_id, effective_from",
            type_id,
        )
        return [(r[0], r[1], r[2]) for r in records]

    async def in_force_page(
        self, type_id: uuid.UUID, on: date, size: int, after: uuid.UUID | None
    ) -> list[tuple[uuid.UUID, str, date, Decimal, bool]]:
        query = (
            select(PRICE.c.product_id, ProductRow.sku, PRICE.c.effective_from, PRICE.c.amount, PRICE.c.derived)
            .join(ProductRow, ProductRow.id == PRICE.c.product_id)  # type: ignore[arg-type]
            .where(PRICE.c.price_type_id == type_id, PRICE.c.effective_from <= on)
            .distinct(PRICE.c.product_id)
            .order_by(PRICE.c.product_id, PRICE.c.effective_from.desc())
            .limit(size)
        )
        if after is not None:
            query = query.where(PRICE.c.product_id > after)
        return [(r[0], r[1], r[2], r[3], r[4]) for r in await self.session.execute(query)]


def _rounded(rule: Rule) -> str:
    """SQL of ``Rule.apply`` for prices (never negative): $3 markup percent, $4 step."""
    units = "(amount * (100 + $3::numeric) / 100 / $4::numeric)"
    by_mode = {
        Rounding.HALF_UP: f"round({units})",  # PostgreSQL rounds numeric halves away from zero
        Rounding.UP: f"ceil({units})",
        Rounding.DOWN: f"trunc({units})",
        Rounding.HALF_EVEN: f"(CASE WHEN {units} - trunc({units}) = 0.5 "
        f"THEN trunc({units}) + mod(trunc({units}), 2) ELSE round({units}) END)",
    }
    return f"{by_mode[rule.rounding]} * $4::numeric"


class RateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def set(self, source: str, target: str, on: date, rate: Decimal) -> None:
        table = ExchangeRateRow.__table__  # type: ignore[attr-defined]
        statement = insert(table).values(from_currency=source, to_currency=target, on=on, rate=rate)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.from_currency, table.c.to_currency, table.c.on],
            set_={"rate": statement.excluded.rate},
        )
        await self.session.execute(statement)

    async def latest(self, source: str, target: str, on: date) -> tuple[Decimal, date] | None:
        table = ExchangeRateRow.__table__  # type: ignore[attr-defined]
        query = (
            select(table.c.rate, table.c.on)
            .where(table.c.from_currency == source, table.c.to_currency == target, table.c.on <= on)
            .order_by(table.c.on.desc())
            .limit(1)
        )
        row = (await self.session.execute(query)).first()
        return (row[0], row[1]) if row else None


class AgreementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: AgreementRow) -> AgreementRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, agreement_id: uuid.UUID, *, lock: bool = False) -> AgreementRow | None:
        return await self.session.get(AgreementRow, agreement_id, with_for_update=lock)

    async def by_request_id(self, request_id: str) -> AgreementRow | None:
        query = select(AgreementRow).where(AgreementRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def lock_party(self, party: str) -> None:
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"agreement:{party}"})

    async def agreed_of_party(
        self, *, partner_id: uuid.UUID | None, segment: str, exclude: uuid.UUID
    ) -> list[AgreementRow]:
        query = select(AgreementRow).where(AgreementRow.status == "agreed", AgreementRow.id != exclude)
        if partner_id is not None:
            query = query.where(AgreementRow.partner_id == partner_id, AgreementRow.kind == "individual")
        else:
            query = query.where(AgreementRow.segment == segment, AgreementRow.kind == "typical")
        return list((await self.session.execute(query)).scalars())

    async def in_force(self, *, partner_id: uuid.UUID | None, segment: str, on: date) -> AgreementRow | None:
        query = select(AgreementRow).where(
            AgreementRow.status == "agreed",
            AgreementRow.valid_from <= on,
            or_(AgreementRow.valid_to.is_(None), AgreementRow.valid_to >= on),  # type: ignore[union-attr]
        )
        if partner_id is not None:
            query = query.where(AgreementRow.partner_id == partner_id, AgreementRow.kind == "individual")
        else:
            query = query.where(AgreementRow.segment == segment, AgreementRow.kind == "typical")
        return (await self.session.execute(query.limit(1))).scalars().first()

    async def page(
        self, size: int, after: uuid.UUID | None, *, partner_id: uuid.UUID | None, segment: str, status: str
    ) -> list[AgreementRow]:
        query = select(AgreementRow)
        if partner_id is not None:
            query = query.where(AgreementRow.partner_id == partner_id)
        if segment:
            query = query.where(AgreementRow.segment == segment)
        if status:
            query = query.where(AgreementRow.status == status)
        if after is not None:
            query = query.where(AgreementRow.id > after)
        return list((await self.session.execute(query.order_by(AgreementRow.id).limit(size))).scalars())


class KnownPartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def segment_of(self, partner_id: uuid.UUID) -> str | None:
        row = await self.session.get(KnownPartner, partner_id)
        return row.segment if row else None

    async def upsert(self, partner_id: uuid.UUID, *, segment: str, version: int) -> None:
        """Keeps the newest version: an older event arriving late changes nothing."""
        table = KnownPartner.__table__  # type: ignore[attr-defined]
        statement = insert(table).values(id=partner_id, segment=segment, version=version, updated_at=utcnow())
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={"segment": statement.excluded.segment, "version": statement.excluded.version, "updated_at": utcnow()},
            where=table.c.version < statement.excluded.version,
        )
        await self.session.execute(statement)

    async def repoint(self, merged_ids: Sequence[uuid.UUID], survivor: uuid.UUID) -> None:
        if not merged_ids:
            return
        for table in (AgreementRow, PriceListRow):
            await self.session.execute(
                update(table).where(table.partner_id.in_(merged_ids)).values(partner_id=survivor)  # type: ignore[union-attr,attr-defined]
            )


class PriceListRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: PriceListRow, items: Sequence[PriceListItemRow]) -> PriceListRow:
        self.session.add(row)
        await self.session.flush()
        self.session.add_all(items)
        await self.session.flush()
        return row

    async def get(self, list_id: uuid.UUID) -> PriceListRow | None:
        return await self.session.get(PriceListRow, list_id)

    async def by_request_id(self, request_id: str) -> PriceListRow | None:
        query = select(PriceListRow).where(PriceListRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def items(self, list_id: uuid.UUID) -> list[PriceListItemRow]:
        query = select(PriceListItemRow).where(PriceListItemRow.price_list_id == list_id).order_by(PriceListItemRow.row)
        return list((await self.session.execute(query)).scalars())
