"""counterparty contacts, person aliases (merged contact persons) and exchange rates copied
from pricing for ABC classification across currencies

Revision ID: 7d2f0b9e4c31
Revises: 5b1e2c7d9a10
Create Date: 2026-11-23 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7d2f0b9e4c31"
down_revision: str | None = "5b1e2c7d9a10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "counterparty_contact",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("counterparty_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(["counterparty_id"], ["counterparty.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_counterparty_contact_counterparty_id", "counterparty_contact", ["counterparty_id"])
    op.create_index(
        "ix_counterparty_contact_kind_value", "counterparty_contact", ["kind", sa.text("lower(value)")], unique=False
    )
    op.create_table(
        "person_alias",
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["survivor_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("merged_id"),
    )
    op.create_index("ix_person_alias_survivor_id", "person_alias", ["survivor_id"])
    op.create_table(
        "exchange_rate",
        sa.Column("from_currency", sa.String(length=3), nullable=False),
        sa.Column("to_currency", sa.String(length=3), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(24, 10), nullable=False),
        sa.PrimaryKeyConstraint("from_currency", "to_currency", "on"),
    )


def downgrade() -> None:
    op.drop_table("exchange_rate")
    op.drop_index("ix_person_alias_survivor_id", table_name="person_alias")
    op.drop_table("person_alias")
    op.drop_index("ix_counterparty_contact_kind_value", table_name="counterparty_contact")
    op.drop_index("ix_counterparty_contact_counterparty_id", table_name="counterparty_contact")
    op.drop_table("counterparty_contact")
