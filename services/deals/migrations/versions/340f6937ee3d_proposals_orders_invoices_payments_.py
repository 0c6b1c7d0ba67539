"""proposals orders invoices payments shipments shops

Revision ID: 340f6937ee3d
Revises: 7dab4395dd34
Create Date: 2026-11-23 19:20:36.108897
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "340f6937ee3d"
down_revision: str | None = "7dab4395dd34"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "competitor_offer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("competitor_id", sa.Uuid(), nullable=False),
        sa.Column("total", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_competitor_offer_proposal_id"), "competitor_offer", ["proposal_id"], unique=False)
    op.create_table(
        "customer_order",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("manager_id", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("proposal_id", sa.Uuid(), nullable=True),
        sa.Column("shop_id", sa.String(length=60), nullable=True),
        sa.Column("shop_order_id", sa.String(length=120), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("cost", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("invoiced", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("paid", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("shipped", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("agreement_id", sa.String(length=64), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("totals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("violations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
        sa.UniqueConstraint("shop_id", "shop_order_id", name="uq_order_shop_order"),
    )
    op.create_index(op.f("ix_customer_order_deal_id"), "customer_order", ["deal_id"], unique=False)
    op.create_index(op.f("ix_customer_order_partner_id"), "customer_order", ["partner_id"], unique=False)
    op.create_table(
        "invoice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(op.f("ix_invoice_order_id"), "invoice", ["order_id"], unique=False)
    op.create_table(
        "order_state",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "code"),
    )
    op.create_table(
        "payment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("shop_id", sa.String(length=60), nullable=True),
        sa.Column("shop_payment_id", sa.String(length=120), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
        sa.UniqueConstraint("shop_id", "shop_payment_id", name="uq_payment_shop_payment"),
    )
    op.create_index(op.f("ix_payment_order_id"), "payment", ["order_id"], unique=False)
    op.create_table(
        "proposal",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("importance", sa.String(length=10), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("agreement_id", sa.String(length=64), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("totals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("approval_reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("approved_version", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(op.f("ix_proposal_deal_id"), "proposal", ["deal_id"], unique=False)
    op.create_table(
        "proposal_version",
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("totals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("proposal_id", "version"),
    )
    op.create_table(
        "shipment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("cost", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(op.f("ix_shipment_order_id"), "shipment", ["order_id"], unique=False)
    op.create_table(
        "shop",
        sa.Column("id", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("price_type_id", sa.String(length=64), nullable=False),
        sa.Column("agreement_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )

    seed_order_states()


ORDER_STATES = {
    "customer": [
        ("awaiting_approval", "На погодженні", False),
        ("in_work", "В роботі", False),
        ("production", "У виробництві", False),
        ("waiting_for_proposal", "Очікує пропозицію", False),
        ("completed", "Виконано", True),
        ("cancelled", "Скасовано", True),
    ],
    "shop": [
        ("awaiting_approval", "На погодженні", False),
        ("new", "Нове замовлення з магазину", False),
        ("in_work", "Комплектується", False),
        ("completed", "Виконано", True),
        ("cancelled", "Скасовано", True),
    ],
}


def seed_order_states() -> None:
    bind = op.get_bind()
    for kind, states in ORDER_STATES.items():
        for position, (code, name, final) in enumerate(states):
            bind.execute(
                sa.text(
                    "INSERT INTO order_state (kind, code, name, position, final) "
                    "VALUES (:kind, :code, :name, :position, :final)"
                ),
                {"kind": kind, "code": code, "name": name, "position": position, "final": final},
            )


def downgrade() -> None:
    op.drop_table("shop")
    op.drop_index(op.f("ix_shipment_order_id"), table_name="shipment")
    op.drop_table("shipment")
    op.drop_table("proposal_version")
    op.drop_index(op.f("ix_proposal_deal_id"), table_name="proposal")
    op.drop_table("proposal")
    op.drop_index(op.f("ix_payment_order_id"), table_name="payment")
    op.drop_table("payment")
    op.drop_table("order_state")
    op.drop_index(op.f("ix_invoice_order_id"), table_name="invoice")
    op.drop_table("invoice")
    op.drop_index(op.f("ix_customer_order_partner_id"), table_name="customer_order")
    op.drop_index(op.f("ix_customer_order_deal_id"), table_name="customer_order")
    op.drop_table("customer_order")
    op.drop_index(op.f("ix_competitor_offer_proposal_id"), table_name="competitor_offer")
    op.drop_table("competitor_offer")
