"""Price types, base or derived by a rule, and the recalculation of derived prices."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import AlreadyExists, InvalidArgument, NotFound
from crm_platform.outbox import add_event
from pricing.domain import Rounding, Rule, check_no_cycle, clean_text, derivation_order
from pricing.events import SOURCE, PriceTypeChanged, RuleData
from pricing.models import PriceTypeRow
from pricing.price_tables import PriceTables
from pricing.repository import PriceRepository, PriceTypeRepository


@dataclass(frozen=True)
class RuleInput:
    base_id: uuid.UUID
    markup_percent: Decimal
    step: Decimal
    rounding: Rounding


def rule_of(row: PriceTypeRow) -> Rule | None:
    if row.base_id is None:
        return None
    return Rule(
        row.base_id,
        row.markup_percent or Decimal(0),
        row.rounding_step or Decimal("0.01"),
        Rounding(row.rounding_mode or Rounding.HALF_UP),
    )


def changed_event(row: PriceTypeRow) -> PriceTypeChanged:
    rule = rule_of(row)
    return PriceTypeChanged(
        price_type_id=row.id,
        name=row.name,
        currency=row.currency,
        includes_vat=row.includes_vat,
        base_price_type_id=row.base_id,
        rule=RuleData(
            base_price_type_id=rule.base_id,
            markup_percent=rule.markup_percent,
            rounding_step=rule.step,
            rounding_mode=rule.rounding.value,
        )
        if rule
        else None,
        is_default=row.is_default,
    )


async def recalculate(
    session: AsyncSession, roots: set[uuid.UUID], product_ids: Sequence[uuid.UUID] | None, *, include_roots: bool
) -> dict[uuid.UUID, int]:
    """Recomputes every price type derived from roots (chains included), bases first, inside
    PostgreSQL (numeric: exact decimals, the rounding of ``Rule.apply``).

    Returns how many prices each derived type got."""
    types = {t.id: t for t in await PriceTypeRepository(session).all()}
    order = derivation_order(roots, {t.id: t.base_id for t in types.values()})
    if include_roots:
        order = [r for r in sorted(roots) if types[r].base_id is not None] + order
    prices = PriceRepository(session)
    written: dict[uuid.UUID, int] = {}
    for type_id in order:
        rule = rule_of(types[type_id])
        assert rule is not None
        written[type_id] = await prices.derive(type_id, rule, product_ids)
    return written


async def create_price_type(
    db: Database,
    tables: PriceTables,
    *,
    name: str,
    currency: str,
    includes_vat: bool,
    rule: RuleInput | None,
    is_default: bool,
    request_id: str | None,
) -> PriceTypeRow:
    name = clean_text(name, "name", 200)
    try:
        async with db.transaction() as session:
            repo = PriceTypeRepository(session)
            if request_id and (earlier := await repo.by_request_id(request_id)) is not None:
                return earlier
            await repo.lock_all()
            row = PriceTypeRow(name=name, currency=currency, includes_vat=includes_vat, request_id=request_id)
            if rule is not None:
                base = await repo.get(rule.base_id)
                if base is None:
                    raise InvalidArgument.single("rule.base_price_type_id", "no such price type")
                row.currency, row.includes_vat = base.currency, base.includes_vat
                _set_rule(row, rule)
            if is_default:
                await repo.clear_default()
                row.is_default = True
            await repo.add(row)
            if rule is not None:
                await recalculate(session, {row.id}, None, include_roots=True)
            add_event(session, changed_event(row), source=SOURCE)
    except IntegrityError:
        if request_id:
            async with db.reading() as session:
                if (earlier := await PriceTypeRepository(session).by_request_id(request_id)) is not None:
                    return earlier
        raise AlreadyExists("price type already exists") from None
    await tables.invalidate_types([row.id])
    return row


async def update_price_type(
    db: Database,
    tables: PriceTables,
    type_id: uuid.UUID,
    *,
    name: str,
    rule: RuleInput | None,
    make_default: bool,
) -> PriceTypeRow:
    async with db.transaction() as session:
        repo = PriceTypeRepository(session)
        await repo.lock_all()
        row = await repo.get(type_id)
        if row is None:
            raise NotFound(f"price type {type_id} not found")
        if name:
            row.name = clean_text(name, "name", 200)
        affected: list[uuid.UUID] = [type_id]
        if rule is not None:
            if row.base_id is None:
                raise InvalidArgument.single("rule", "a base price type has no rule; create a derived one")
            types = {t.id: t.base_id for t in await repo.all()}
            check_no_cycle(type_id, rule.base_id, types)
            base = await repo.get(rule.base_id)
            if base is None:
                raise InvalidArgument.single("rule.base_price_type_id", "no such price type")
            if base.currency != row.currency or base.includes_vat != row.includes_vat:
                raise InvalidArgument.single(
                    "rule.base_price_type_id", "the base must have the same currency and VAT basis"
                )
            _set_rule(row, rule)
            await session.flush()
            written = await recalculate(session, {type_id}, None, include_roots=True)
            affected = list(written) or affected
        if make_default:
            await repo.clear_default()
            row.is_default = True
        row.updated_at = utcnow()
        await session.flush()
        add_event(session, changed_event(row), source=SOURCE)
    await tables.invalidate_types(affected)
    return row


def _set_rule(row: PriceTypeRow, rule: RuleInput) -> None:
    Rule(rule.base_id, rule.markup_percent, rule.step, rule.rounding)  # validates
    row.base_id = rule.base_id
    row.markup_percent = rule.markup_percent
    row.rounding_step = rule.step
    row.rounding_mode = rule.rounding.value
