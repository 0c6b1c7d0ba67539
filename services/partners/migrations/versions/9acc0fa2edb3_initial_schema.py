"""initial schema

Revision ID: 9acc0fa2edb3
Revises:
Create Date: 2026-11-23 18:45:02.499916
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from crm_platform.migrations import create_platform_tables, drop_platform_tables

revision: str = "9acc0fa2edb3"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    create_platform_tables()
    op.create_table(
        "partner",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_folded", sa.String(length=300), nullable=False),
        sa.Column("name_latin", sa.String(length=600), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("manager_id", sa.String(length=120), nullable=False),
        sa.Column("segment", sa.String(length=120), nullable=False),
        sa.Column("region", sa.String(length=120), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(op.f("ix_partner_manager_id"), "partner", ["manager_id"], unique=False)
    op.create_index(
        "ix_partner_name_folded_trgm",
        "partner",
        ["name_folded"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name_folded": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_partner_name_latin_trgm",
        "partner",
        ["name_latin"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name_latin": "gin_trgm_ops"},
    )
    op.create_index(op.f("ix_partner_segment"), "partner", ["segment"], unique=False)
    op.create_table(
        "partner_contact",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(["partner_id"], ["partner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_partner_contact_partner_id"), "partner_contact", ["partner_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_partner_contact_partner_id"), table_name="partner_contact")
    op.drop_table("partner_contact")
    op.drop_index(op.f("ix_partner_segment"), table_name="partner")
    op.drop_index(
        "ix_partner_name_latin_trgm",
        table_name="partner",
        postgresql_using="gin",
        postgresql_ops={"name_latin": "gin_trgm_ops"},
    )
    op.drop_index(
        "ix_partner_name_folded_trgm",
        table_name="partner",
        postgresql_using="gin",
        postgresql_ops={"name_folded": "gin_trgm_ops"},
    )
    op.drop_index(op.f("ix_partner_manager_id"), table_name="partner")
    op.drop_table("partner")
    drop_platform_tables()
