"""initial schema

Revision ID: b207347f974c
Revises:
Create Date: 2026-11-23 18:45:03.455096
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import create_platform_tables, drop_platform_tables

revision: str = "b207347f974c"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_platform_tables()
    op.create_table(
        "deal",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("manager_id", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("expected_amount", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(op.f("ix_deal_manager_id"), "deal", ["manager_id"], unique=False)
    op.create_index(op.f("ix_deal_partner_id"), "deal", ["partner_id"], unique=False)
    op.create_table(
        "known_partner",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("manager_id", sa.String(length=120), nullable=False),
        sa.Column("segment", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("known_partner")
    op.drop_index(op.f("ix_deal_partner_id"), table_name="deal")
    op.drop_index(op.f("ix_deal_manager_id"), table_name="deal")
    op.drop_table("deal")
    drop_platform_tables()
