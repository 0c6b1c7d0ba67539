"""pricing' tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Date, Index, Integer, Numeric, PrimaryKeyConstraint, String
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from crm_platform.clock import utcnow
from crm_platform.ids import new_id
from crm_platform.tables import utc_column


class PricingTable(SQLModel, registry=registry()):
    pass


def _money() -> Column[Decimal]:
    return Column(Numeric(18, 4), nullable=False)


def _version() -> Column[int]:
    """1 when created, +1 on every change: what expected_version is compared with."""
    return Column(Integer, nullable=False, server_default="1")


class ProductRow(PricingTable, table=True):
    __tablename__ = "product"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    sku: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(300, collation="uk-UA-x-icu"), nullable=False, index=True))
    name_folded: str = Field(sa_column=Column(String(300), nullable=False, index=True))
    unit: str = Field(sa_column=Column(String(20), nullable=False))
    vat_rate: Decimal = Field(sa_column=Column(Numeric(5, 2), nullable=False))
    cost: Decimal = Field(sa_column=_money())
    cost_currency: str = Field(sa_column=Column(String(3), nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    version: int = Field(default=1, sa_column=_version())


class PriceTypeRow(PricingTable, table=True):
    __tablename__ = "price_type"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=Column(String(200, collation="uk-UA-x-icu"), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    includes_vat: bool = True
    base_id: uuid.UUID | None = Field(default=None, index=True)
    markup_percent: Decimal | None = Field(default=None, sa_column=Column(Numeric(9, 4)))
    rounding_step: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 4)))
    rounding_mode: str | None = Field(default=None, sa_column=Column(String(20)))
    is_default: bool = False
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PriceRow(PricingTable, table=True):
    """A price of a product in a price type from a date; derived rows are computed, never set by hand."""

    __tablename__ = "price"
    __table_args__ = (
        PrimaryKeyConstraint("price_type_id", "product_id", "effective_from"),
        Index("ix_price_product", "product_id"),
    )

    price_type_id: uuid.UUID
    product_id: uuid.UUID
    effective_from: date = Field(sa_column=Column(Date, nullable=False))
    amount: Decimal = Field(sa_column=_money())
    derived: bool = False


class ExchangeRateRow(PricingTable, table=True):
    __tablename__ = "exchange_rate"
    __table_args__ = (PrimaryKeyConstraint("from_currency", "to_currency", "on"),)

    from_currency: str = Field(sa_column=Column(String(3), nullable=False))
    to_currency: str = Field(sa_column=Column(String(3), nullable=False))
    on: date = Field(sa_column=Column(Date, nullable=False))
    rate: Decimal = Field(sa_column=Column(Numeric(24, 10), nullable=False))


class AgreementRow(PricingTable, table=True):
    __tablename__ = "agreement"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=Column(String(300, collation="uk-UA-x-icu"), nullable=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    segment: str = Field(default="", sa_column=Column(String(120), nullable=False, index=True))
    partner_id: uuid.UUID | None = Field(default=None, index=True)
    base_agreement_id: uuid.UUID | None = None
    price_type_id: uuid.UUID | None = None
    currency: str = Field(default="", sa_column=Column(String(3), nullable=False))
    discount_percent: Decimal = Field(sa_column=Column(Numeric(9, 4), nullable=False))
    manual_discount_limit_percent: Decimal = Field(sa_column=Column(Numeric(9, 4), nullable=False))
    prepayment_percent: Decimal = Field(sa_column=Column(Numeric(9, 4), nullable=False))
    credit_days: int = 0
    payment_form: str = Field(sa_column=Column(String(20), nullable=False))
    tax_regime: str = Field(sa_column=Column(String(20), nullable=False))
    delivery_terms: str = Field(default="", sa_column=Column(String(300), nullable=False))
    sale_kind: str = Field(sa_column=Column(String(20), nullable=False))
    contract_required: bool = False
    returnable_packaging: bool = False
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
    valid_to: date | None = Field(default=None, sa_column=Column(Date))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    version: int = Field(default=1, sa_column=_version())


class KnownPartner(PricingTable, table=True):
    """A partner's segment, from partners' events."""

    __tablename__ = "known_partner"

    id: uuid.UUID = Field(primary_key=True)
    segment: str = Field(default="", sa_column=Column(String(120), nullable=False))
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PriceListRow(PricingTable, table=True):
    """A supplier's or competitor's price list: kept apart from our prices."""

    __tablename__ = "price_list"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=Column(String(300), nullable=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    partner_id: uuid.UUID | None = None
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    on: date = Field(sa_column=Column(Date, nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PriceListItemRow(PricingTable, table=True):
    __tablename__ = "price_list_item"
    __table_args__ = (PrimaryKeyConstraint("price_list_id", "row"),)

    price_list_id: uuid.UUID
    row: int
    product_id: uuid.UUID | None = None
    sku: str = Field(default="", sa_column=Column(String(64), nullable=False))
    name: str = Field(default="", sa_column=Column(String(300), nullable=False))
    price: Decimal = Field(sa_column=_money())
