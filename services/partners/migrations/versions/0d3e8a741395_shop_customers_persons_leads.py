"""shop customers, persons, leads

Revision ID: 0d3e8a741395
Revises: 9acc0fa2edb3
Create Date: 2026-11-23 19:10:53.494231
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0d3e8a741395"
down_revision: str | None = "9acc0fa2edb3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_folded", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "lead",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("company", sa.String(length=300), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("responsible_id", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("lost_reason", sa.String(length=300), nullable=False),
        sa.Column("lost_comment", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=True),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index("ix_lead_email", "lead", [sa.text("lower(email)")], unique=False)
    op.create_index("ix_lead_phone", "lead", ["phone"], unique=False)
    op.create_index(op.f("ix_lead_responsible_id"), "lead", ["responsible_id"], unique=False)
    op.create_index("ix_lead_state_created", "lead", ["state", "created_at"], unique=False)
    op.create_table(
        "person_contact",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_person_contact_kind_value", "person_contact", ["kind", sa.text("lower(value)")], unique=False)
    op.create_index(op.f("ix_person_contact_person_id"), "person_contact", ["person_id"], unique=False)
    op.create_table(
        "person_link",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.String(length=120), nullable=False),
        sa.Column("decision_role", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partner.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", "partner_id"),
    )
    op.create_index(op.f("ix_person_link_partner_id"), "person_link", ["partner_id"], unique=False)
    op.create_table(
        "shop_customer",
        sa.Column("shop_id", sa.String(length=120), nullable=False),
        sa.Column("shop_customer_id", sa.String(length=120), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("shop_id", "shop_customer_id"),
    )
    op.create_index(op.f("ix_shop_customer_partner_id"), "shop_customer", ["partner_id"], unique=False)
    op.add_column("partner", sa.Column("lead_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_partner_lead_id"), "partner", ["lead_id"], unique=False)
    op.create_index("ix_partner_contact_kind_value", "partner_contact", ["kind", sa.text("lower(value)")], unique=False)


def downgrade() -> None:
    op.drop_index("ix_partner_contact_kind_value", table_name="partner_contact")
    op.drop_index(op.f("ix_partner_lead_id"), table_name="partner")
    op.drop_column("partner", "lead_id")
    op.drop_index(op.f("ix_shop_customer_partner_id"), table_name="shop_customer")
    op.drop_table("shop_customer")
    op.drop_index(op.f("ix_person_link_partner_id"), table_name="person_link")
    op.drop_table("person_link")
    op.drop_index(op.f("ix_person_contact_person_id"), table_name="person_contact")
    op.drop_index("ix_person_contact_kind_value", table_name="person_contact")
    op.drop_table("person_contact")
    op.drop_index("ix_lead_state_created", table_name="lead")
    op.drop_index(op.f("ix_lead_responsible_id"), table_name="lead")
    op.drop_index("ix_lead_phone", table_name="lead")
    op.drop_index("ix_lead_email", table_name="lead")
    op.drop_table("lead")
    op.drop_table("person")
