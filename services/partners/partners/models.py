"""Partners' tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Date, ForeignKey, Index, Numeric, String, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from crm_platform.clock import utcnow
from crm_platform.ids import new_id
from crm_platform.tables import utc_column


class PartnersTable(SQLModel, registry=registry()):
    pass


class PartnerRow(PartnersTable, table=True):
    __tablename__ = "partner"
    __table_args__ = (
        Index(
            "ix_partner_name_folded_trgm",
            "name_folded",
            postgresql_using="gin",
            postgresql_ops={"name_folded": "gin_trgm_ops"},
        ),
        Index(
            "ix_partner_name_latin_trgm",
            "name_latin",
            postgresql_using="gin",
            postgresql_ops={"name_latin": "gin_trgm_ops"},
        ),
        Index("ix_partner_name_blocks", "name_blocks", postgresql_using="gin"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=Column(String(300), nullable=False))
    name_folded: str = Field(sa_column=Column(String(300), nullable=False))
    name_latin: str = Field(sa_column=Column(String(600), nullable=False))
    # The name as duplicate control compares it: legal-form words dropped, Latin, spelling variants squashed.
    name_key: str = Field(default="", sa_column=Column(String(600), nullable=False, server_default=""))
    name_blocks: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}")
    )
    roles: list[str] = Field(sa_column=Column(ARRAY(String(20)), nullable=False))
    manager_id: str = Field(default="", sa_column=Column(String(120), nullable=False, index=True))
    segment: str = Field(default="", sa_column=Column(String(120), nullable=False, index=True))
    region: str = Field(default="", sa_column=Column(String(120), nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String(60)), nullable=False))
    source: str = Field(default="", sa_column=Column(String(120), nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    # The lead this partner was converted from, so the lead's interactions follow it.
    lead_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True, index=True))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ContactRow(PartnersTable, table=True):
    __tablename__ = "partner_contact"
    __table_args__ = (Index("ix_partner_contact_kind_value", "kind", func.lower(text("value"))),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    partner_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("partner.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    position: int = 0
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    value: str = Field(sa_column=Column(Text, nullable=False))
    label: str = Field(default="", sa_column=Column(String(120), nullable=False))
    address: dict[str, str] | None = Field(default=None, sa_column=Column(JSONB))


class ShopCustomerRow(PartnersTable, table=True):
    """A shop's own customer id, bound to the partner it became; one row per (shop, customer)."""

    __tablename__ = "shop_customer"

    shop_id: str = Field(sa_column=Column(String(120), primary_key=True))
    shop_customer_id: str = Field(sa_column=Column(String(120), primary_key=True))
    partner_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("partner.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PersonRow(PartnersTable, table=True):
    """A contact person; linked to one or more partners through PersonLinkRow."""

    __tablename__ = "person"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=Column(String(300), nullable=False))
    name_folded: str = Field(sa_column=Column(String(300), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PersonLinkRow(PartnersTable, table=True):
    __tablename__ = "person_link"

    person_id: uuid.UUID = Field(sa_column=Column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True))
    partner_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True, index=True)
    )
    position: str = Field(default="", sa_column=Column(String(120), nullable=False))
    decision_role: str = Field(default="", sa_column=Column(String(30), nullable=False))


class PersonContactRow(PartnersTable, table=True):
    __tablename__ = "person_contact"
    __table_args__ = (Index("ix_person_contact_kind_value", "kind", func.lower(text("value"))),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    person_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    position: int = 0
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    value: str = Field(sa_column=Column(Text, nullable=False))
    label: str = Field(default="", sa_column=Column(String(120), nullable=False))
    address: dict[str, str] | None = Field(default=None, sa_column=Column(JSONB))


class PersonAliasRow(PartnersTable, table=True):
    """A contact person merged into another: its id keeps answering with the survivor."""

    __tablename__ = "person_alias"

    merged_id: uuid.UUID = Field(primary_key=True)
    survivor_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    merged_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class LeadRow(PartnersTable, table=True):
    __tablename__ = "lead"
    __table_args__ = (
        Index("ix_lead_phone", "phone"),
        Index("ix_lead_email", func.lower(text("email"))),
        Index("ix_lead_state_created", "state", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(default="", sa_column=Column(String(300), nullable=False))
    company: str = Field(default="", sa_column=Column(String(300), nullable=False))
    phone: str = Field(default="", sa_column=Column(String(40), nullable=False))
    email: str = Field(default="", sa_column=Column(String(320), nullable=False))
    source: str = Field(default="", sa_column=Column(String(120), nullable=False))
    subject: str = Field(default="", sa_column=Column(Text, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String(60)), nullable=False))
    responsible_id: str = Field(default="", sa_column=Column(String(120), nullable=False, index=True))
    state: str = Field(default="new", sa_column=Column(String(20), nullable=False))
    lost_reason: str = Field(default="", sa_column=Column(String(300), nullable=False))
    lost_comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    partner_id: uuid.UUID | None = Field(default=None, sa_column=Column(ForeignKey("partner.id"), nullable=True))
    request_id: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PartnerAliasRow(PartnersTable, table=True):
    """A partner merged into another: its id keeps answering with the survivor."""

    __tablename__ = "partner_alias"

    merged_id: uuid.UUID = Field(primary_key=True)
    survivor_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("partner.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    merged_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CounterpartyRow(PartnersTable, table=True):
    """A legal person (or sole trader, or natural person) a partner trades through."""

    __tablename__ = "counterparty"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    partner_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("partner.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    legal_form: str = Field(sa_column=Column(String(20), nullable=False))
    country: str = Field(sa_column=Column(String(2), nullable=False))
    full_name: str = Field(sa_column=Column(String(500), nullable=False))
    short_name: str = Field(default="", sa_column=Column(String(300), nullable=False))
    tax_id: str = Field(default="", sa_column=Column(String(12), nullable=False, index=True))
    kpp: str = Field(default="", sa_column=Column(String(9), nullable=False))
    legal_address: dict[str, str] | None = Field(default=None, sa_column=Column(JSONB))
    register_status: str = Field(default="", sa_column=Column(String(20), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CounterpartyContactRow(PartnersTable, table=True):
    """The legal entity's own phones, e-mails and addresses (distinct from the partner's)."""

    __tablename__ = "counterparty_contact"
    __table_args__ = (Index("ix_counterparty_contact_kind_value", "kind", func.lower(text("value"))),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    counterparty_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("counterparty.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    position: int = 0
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    value: str = Field(sa_column=Column(Text, nullable=False))
    label: str = Field(default="", sa_column=Column(String(120), nullable=False))
    address: dict[str, str] | None = Field(default=None, sa_column=Column(JSONB))


class BankAccountRow(PartnersTable, table=True):
    __tablename__ = "bank_account"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    counterparty_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("counterparty.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    iban: str = Field(default="", sa_column=Column(String(34), nullable=False))
    account: str = Field(default="", sa_column=Column(String(20), nullable=False))
    bic: str = Field(default="", sa_column=Column(String(9), nullable=False))
    bank_name: str = Field(default="", sa_column=Column(String(300), nullable=False))
    currency: str = Field(default="", sa_column=Column(String(3), nullable=False))
    main: bool = False


class PartnerRelationRow(PartnersTable, table=True):
    __tablename__ = "partner_relation"

    from_id: uuid.UUID = Field(sa_column=Column(ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True))
    to_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True, index=True)
    )
    kind: str = Field(sa_column=Column(String(30), primary_key=True))
    note: str = Field(default="", sa_column=Column(String(500), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PersonRelationRow(PartnersTable, table=True):
    __tablename__ = "person_relation"

    from_id: uuid.UUID = Field(sa_column=Column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True))
    to_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True)
    )
    kind: str = Field(sa_column=Column(String(30), primary_key=True))
    note: str = Field(default="", sa_column=Column(String(500), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class SalesMonthRow(PartnersTable, table=True):
    """A partner's orders and payments in one month and currency, summed from deals' events."""

    __tablename__ = "sales_month"

    partner_id: uuid.UUID = Field(primary_key=True)
    month: date = Field(sa_column=Column(Date, primary_key=True))
    currency: str = Field(sa_column=Column(String(3), primary_key=True))
    ordered: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 2), nullable=False))
    paid: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 2), nullable=False))
    orders: int = 0


class ActivityRow(PartnersTable, table=True):
    __tablename__ = "partner_activity"

    partner_id: uuid.UUID = Field(primary_key=True)
    orders: int = 0
    first_order_at: datetime = Field(sa_column=utc_column())
    last_order_at: datetime = Field(sa_column=utc_column())


class ClassRow(PartnersTable, table=True):
    __tablename__ = "partner_class"

    partner_id: uuid.UUID = Field(primary_key=True)
    abc: str = Field(sa_column=Column(String(1), nullable=False))
    xyz: str = Field(sa_column=Column(String(1), nullable=False))
    stage: str = Field(sa_column=Column(String(20), nullable=False))
    classified_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ClassHistoryRow(PartnersTable, table=True):
    __tablename__ = "partner_class_history"
    __table_args__ = (Index("ix_partner_class_history_partner", "partner_id", "classified_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    partner_id: uuid.UUID
    abc: str = Field(sa_column=Column(String(1), nullable=False))
    xyz: str = Field(sa_column=Column(String(1), nullable=False))
    stage: str = Field(sa_column=Column(String(20), nullable=False))
    classified_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ExchangeRateRow(PartnersTable, table=True):
    """pricing's exchange rates (crm.pricing.rate.set): 1 from_currency = rate to_currency from `on`."""

    __tablename__ = "exchange_rate"

    from_currency: str = Field(sa_column=Column(String(3), primary_key=True))
    to_currency: str = Field(sa_column=Column(String(3), primary_key=True))
    on: date = Field(sa_column=Column(Date, primary_key=True))
    rate: Decimal = Field(sa_column=Column(Numeric(24, 10), nullable=False))
