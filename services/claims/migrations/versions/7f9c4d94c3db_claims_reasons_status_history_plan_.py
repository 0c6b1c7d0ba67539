"""claims, reasons, status history, plan, files, interactions

Revision ID: 7f9c4d94c3db
Revises: c20620b0f7c4
Create Date: 2026-11-23 19:16:22.522479
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7f9c4d94c3db"
down_revision: str | None = "c20620b0f7c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_REASONS = [
    ("late_delivery", "Порушення строків поставки"),
    ("poor_quality", "Неналежна якість товару"),
    ("short_delivery", "Недопоставка, пересорт"),
    ("damaged_goods", "Пошкодження під час перевезення"),
    ("wrong_documents", "Помилки в документах"),
    ("staff_conduct", "Некоректна поведінка працівника"),
    ("price_dispute", "Розбіжності в ціні, оплаті"),
]


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("claim_number_seq")))
    op.create_table(
        "claim",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.BigInteger(), server_default=sa.text("nextval('claim_number_seq')"), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("claimant_kind", sa.String(length=20), nullable=False),
        sa.Column("contact_person", sa.String(length=300), nullable=False),
        sa.Column("culprit_department", sa.String(length=300, collation="uk-UA-x-icu"), nullable=False),
        sa.Column("culprit_employee_id", sa.String(length=120), nullable=False),
        sa.Column("essence", sa.Text(), nullable=False),
        sa.Column("reason_codes", postgresql.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("desired_result", sa.Text(), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("responsible_id", sa.String(length=120), nullable=False),
        sa.Column("manager_id", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("registered_by", sa.String(length=10), nullable=False),
        sa.Column("registered_by_user", sa.String(length=120), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index("ix_claim_closed_at", "claim", ["closed_at"], unique=False)
    op.create_index("ix_claim_partner", "claim", ["partner_id", "registered_at"], unique=False)
    op.create_index("ix_claim_registered_at", "claim", ["registered_at"], unique=False)
    op.create_index(op.f("ix_claim_responsible_id"), "claim", ["responsible_id"], unique=False)
    op.create_index(op.f("ix_claim_status"), "claim", ["status"], unique=False)
    op.create_table(
        "claim_interaction",
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("partner_id", sa.String(length=120), nullable=False),
        sa.Column("responsible_id", sa.String(length=120), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("interaction_id"),
    )
    op.create_index(op.f("ix_claim_interaction_claim_id"), "claim_interaction", ["claim_id"], unique=False)
    op.create_table(
        "reason",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=300, collation="uk-UA-x-icu"), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "claim_file",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("corrupt", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claim.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id", "request_id", name="uq_claim_file_request"),
    )
    op.create_index(op.f("ix_claim_file_claim_id"), "claim_file", ["claim_id"], unique=False)
    op.create_table(
        "claim_status_change",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=30), nullable=False),
        sa.Column("to_status", sa.String(length=30), nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claim.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_claim_status_change_claim_id"), "claim_status_change", ["claim_id"], unique=False)
    op.create_table(
        "plan_activity",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("performer_id", sa.String(length=120), nullable=False),
        sa.Column("checker_id", sa.String(length=120), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("task_id", sa.String(length=120), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claim.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id", "request_id", name="uq_plan_activity_request"),
    )
    op.create_index(op.f("ix_plan_activity_claim_id"), "plan_activity", ["claim_id"], unique=False)
    # ### end Alembic commands ###
    reason = sa.table(
        "reason",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("archived", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        reason,
        [{"code": c, "name": n, "archived": False, "created_at": SEEDED_AT} for c, n in DEFAULT_REASONS],
    )


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(op.f("ix_plan_activity_claim_id"), table_name="plan_activity")
    op.drop_table("plan_activity")
    op.drop_index(op.f("ix_claim_status_change_claim_id"), table_name="claim_status_change")
    op.drop_table("claim_status_change")
    op.drop_index(op.f("ix_claim_file_claim_id"), table_name="claim_file")
    op.drop_table("claim_file")
    op.drop_table("reason")
    op.drop_index(op.f("ix_claim_interaction_claim_id"), table_name="claim_interaction")
    op.drop_table("claim_interaction")
    op.drop_index(op.f("ix_claim_status"), table_name="claim")
    op.drop_index(op.f("ix_claim_responsible_id"), table_name="claim")
    op.drop_index("ix_claim_registered_at", table_name="claim")
    op.drop_index("ix_claim_partner", table_name="claim")
    op.drop_index("ix_claim_closed_at", table_name="claim")
    op.drop_table("claim")
    # ### end Alembic commands ###
    op.execute(sa.schema.DropSequence(sa.Sequence("claim_number_seq")))
