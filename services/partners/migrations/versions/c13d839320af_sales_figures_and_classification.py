"""sales figures and classification

Revision ID: c13d839320af
Revises: 44f8520bb468
Create Date: 2026-11-23 19:27:53.444540
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c13d839320af"
down_revision: str | None = "44f8520bb468"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_activity",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("first_order_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_order_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id"),
    )
    op.create_table(
        "partner_class",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("abc", sa.String(length=1), nullable=False),
        sa.Column("xyz", sa.String(length=1), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("classified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id"),
    )
    op.create_table(
        "partner_class_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("abc", sa.String(length=1), nullable=False),
        sa.Column("xyz", sa.String(length=1), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("classified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_partner_class_history_partner", "partner_class_history", ["partner_id", "classified_at"], unique=False
    )
    op.create_table(
        "sales_month",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ordered", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("paid", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "month", "currency"),
    )


def downgrade() -> None:
    op.drop_table("sales_month")
    op.drop_index("ix_partner_class_history_partner", table_name="partner_class_history")
    op.drop_table("partner_class_history")
    op.drop_table("partner_class")
    op.drop_table("partner_activity")
