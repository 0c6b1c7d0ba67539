"""counterparties, bank accounts, relations, name key, aliases

Revision ID: 44f8520bb468
Revises: 0d3e8a741395
Create Date: 2026-11-23 19:17:31.627332
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "44f8520bb468"
down_revision: str | None = "0d3e8a741395"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "counterparty",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("legal_form", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("full_name", sa.String(length=500), nullable=False),
        sa.Column("short_name", sa.String(length=300), nullable=False),
        sa.Column("tax_id", sa.String(length=12), nullable=False),
        sa.Column("kpp", sa.String(length=9), nullable=False),
        sa.Column("legal_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("register_status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_counterparty_partner_id"), "counterparty", ["partner_id"], unique=False)
    op.create_index(op.f("ix_counterparty_tax_id"), "counterparty", ["tax_id"], unique=False)
    op.create_table(
        "partner_alias",
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["survivor_id"], ["partner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("merged_id"),
    )
    op.create_index(op.f("ix_partner_alias_survivor_id"), "partner_alias", ["survivor_id"], unique=False)
    op.create_table(
        "partner_relation",
        sa.Column("from_id", sa.Uuid(), nullable=False),
        sa.Column("to_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["from_id"], ["partner.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["to_id"], ["partner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("from_id", "to_id", "kind"),
    )
    op.create_index(op.f("ix_partner_relation_to_id"), "partner_relation", ["to_id"], unique=False)
    op.create_table(
        "person_relation",
        sa.Column("from_id", sa.Uuid(), nullable=False),
        sa.Column("to_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["from_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["to_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("from_id", "to_id", "kind"),
    )
    op.create_index(op.f("ix_person_relation_to_id"), "person_relation", ["to_id"], unique=False)
    op.create_table(
        "bank_account",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("counterparty_id", sa.Uuid(), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("account", sa.String(length=20), nullable=False),
        sa.Column("bic", sa.String(length=9), nullable=False),
        sa.Column("bank_name", sa.String(length=300), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("main", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["counterparty_id"], ["counterparty.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_bank_account_counterparty_id"), "bank_account", ["counterparty_id"], unique=False)
    op.add_column("partner", sa.Column("name_key", sa.String(length=600), server_default="", nullable=False))
    op.create_index(
        "ix_partner_name_key_trgm",
        "partner",
        ["name_key"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={"name_key": "gist_trgm_ops"},
    )


def _backfill_name_keys() -> None:
    # The key is computed in Python (transliteration, legal-form words), so it is filled here
    # for partners registered before this revision.
    from partners.matching import name_key

    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, name FROM partner")).all()
    for partner_id, name in rows:
        connection.execute(
            sa.text("UPDATE partner SET name_key = :key WHERE id = :id"), {"key": name_key(name), "id": partner_id}
        )


def downgrade() -> None:
    op.drop_index(
        "ix_partner_name_key_trgm",
        table_name="partner",
        postgresql_using="gist",
        postgresql_ops={"name_key": "gist_trgm_ops"},
    )
    op.drop_column("partner", "name_key")
    op.drop_index(op.f("ix_bank_account_counterparty_id"), table_name="bank_account")
    op.drop_table("bank_account")
    op.drop_index(op.f("ix_person_relation_to_id"), table_name="person_relation")
    op.drop_table("person_relation")
    op.drop_index(op.f("ix_partner_relation_to_id"), table_name="partner_relation")
    op.drop_table("partner_relation")
    op.drop_index(op.f("ix_partner_alias_survivor_id"), table_name="partner_alias")
    op.drop_table("partner_alias")
    op.drop_index(op.f("ix_counterparty_tax_id"), table_name="counterparty")
    op.drop_index(op.f("ix_counterparty_partner_id"), table_name="counterparty")
    op.drop_table("counterparty")
