"""processes stages history tasks environment

Revision ID: 7dab4395dd34
Revises: b207347f974c
Create Date: 2026-11-23 19:13:07.359434
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7dab4395dd34"
down_revision: str | None = "b207347f974c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deal_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage", sa.String(length=40), nullable=False),
        sa.Column("to_stage", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("skipped", sa.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("moved_by", sa.String(length=200), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_deal_history_deal_id"), "deal_history", ["deal_id"], unique=False)
    op.create_table(
        "deal_participant",
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("deal_id", "partner_id", "role"),
    )
    op.create_index(op.f("ix_deal_participant_partner_id"), "deal_participant", ["partner_id"], unique=False)
    op.create_table(
        "deal_task",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("command_request_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("performer_id", sa.String(length=120), nullable=False),
        sa.Column("checker_id", sa.String(length=120), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("interactions_task_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("command_request_id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(op.f("ix_deal_task_deal_id"), "deal_task", ["deal_id"], unique=False)
    op.create_table(
        "known_agreement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=True),
        sa.Column("segment", sa.String(length=120), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_known_agreement_partner_id"), "known_agreement", ["partner_id"], unique=False)
    op.create_table(
        "lost_reason",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "process_stage",
        sa.Column("process_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("exit_conditions", sa.ARRAY(sa.String(length=40)), nullable=False),
        sa.PrimaryKeyConstraint("process_id", "code"),
    )
    op.create_table(
        "sales_process",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.add_column("deal", sa.Column("kind", sa.String(length=20), server_default="controlled", nullable=False))
    op.add_column("deal", sa.Column("process_id", sa.Uuid(), nullable=True))
    op.add_column("deal", sa.Column("stage_code", sa.String(length=40), nullable=True))
    op.add_column("deal", sa.Column("reached_position", sa.Integer(), server_default="0", nullable=False))
    op.add_column("deal", sa.Column("counterparty", sa.String(length=300), server_default="", nullable=False))
    op.add_column("deal", sa.Column("source", sa.String(length=300), server_default="", nullable=False))
    op.add_column("deal", sa.Column("expected_close_date", sa.Date(), nullable=True))
    op.add_column("deal", sa.Column("lost_reason_id", sa.Uuid(), nullable=True))
    op.add_column("deal", sa.Column("lost_comment", sa.Text(), server_default="", nullable=False))
    op.add_column("deal", sa.Column("won_amount", sa.Numeric(precision=18, scale=4), nullable=True))
    op.add_column("deal", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("deal", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_index("ix_deal_funnel", "deal", ["process_id", "status", "stage_code"], unique=False)
    op.add_column("known_partner", sa.Column("abc_class", sa.String(length=1), server_default="", nullable=False))
    op.add_column("known_partner", sa.Column("xyz_class", sa.String(length=1), server_default="", nullable=False))
    op.add_column("known_partner", sa.Column("merged_into", sa.Uuid(), nullable=True))
    seed()


DEFAULT_PROCESS_ID = "0193b1a0-0000-7000-8000-000000000001"
DEFAULT_STAGES = [
    ("new", "Нова угода", []),
    ("first_contact", "Первинний контакт", []),
    ("qualification", "Кваліфікація (партнер зареєстрований)", []),
    ("presentation", "Презентація", ["partner_classified", "agreement_set"]),
    ("proposal", "Уточнення комерційної пропозиції", ["expected_amount_set"]),
    ("terms", "Узгодження умов", ["counterparty_set"]),
    ("preparing_fulfilment", "Підготовка до виконання", []),
    ("fulfilment", "Виконання (відвантаження та оплата)", []),
]
LOST_REASONS = [
    ("0193b1a0-0000-7000-8000-000000000101", "Висока ціна"),
    ("0193b1a0-0000-7000-8000-000000000102", "Обрали конкурента"),
    ("0193b1a0-0000-7000-8000-000000000103", "Немає бюджету"),
    ("0193b1a0-0000-7000-8000-000000000104", "Втрачений контакт з клієнтом"),
    ("0193b1a0-0000-7000-8000-000000000105", "Не влаштували терміни поставки"),
]


def seed() -> None:
    """The default sales process of the requirements and a starting list of lost reasons."""
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "INSERT INTO sales_process (id, name, is_default, version, created_at) "
            "VALUES (CAST(:id AS uuid), :name, true, 1, now())"
        ),
        {"id": DEFAULT_PROCESS_ID, "name": "Типовий процес продажу"},
    )
    for position, (code, name, conditions) in enumerate(DEFAULT_STAGES):
        bind.execute(
            sa.text(
                "INSERT INTO process_stage (process_id, code, position, name, exit_conditions) "
                "VALUES (CAST(:p AS uuid), :code, :position, :name, CAST(:conditions AS varchar(40)[]))"
            ),
            {"p": DEFAULT_PROCESS_ID, "code": code, "position": position, "name": name, "conditions": conditions},
        )
    for reason_id, name in LOST_REASONS:
        bind.execute(
            sa.text("INSERT INTO lost_reason (id, name, active) VALUES (CAST(:id AS uuid), :name, true)"),
            {"id": reason_id, "name": name},
        )
    # Deals opened before processes existed follow the default one from its first stage.
    bind.execute(
        sa.text("UPDATE deal SET process_id = CAST(:p AS uuid), stage_code = 'new' WHERE process_id IS NULL"),
        {"p": DEFAULT_PROCESS_ID},
    )
    op.create_index(
        "ix_sales_process_one_default",
        "sales_process",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )


def downgrade() -> None:
    op.drop_index("ix_sales_process_one_default", table_name="sales_process")
    op.drop_column("known_partner", "merged_into")
    op.drop_column("known_partner", "xyz_class")
    op.drop_column("known_partner", "abc_class")
    op.drop_index("ix_deal_funnel", table_name="deal")
    op.drop_column("deal", "version")
    op.drop_column("deal", "closed_at")
    op.drop_column("deal", "won_amount")
    op.drop_column("deal", "lost_comment")
    op.drop_column("deal", "lost_reason_id")
    op.drop_column("deal", "expected_close_date")
    op.drop_column("deal", "source")
    op.drop_column("deal", "counterparty")
    op.drop_column("deal", "reached_position")
    op.drop_column("deal", "stage_code")
    op.drop_column("deal", "process_id")
    op.drop_column("deal", "kind")
    op.drop_table("sales_process")
    op.drop_table("process_stage")
    op.drop_table("lost_reason")
    op.drop_index(op.f("ix_known_agreement_partner_id"), table_name="known_agreement")
    op.drop_table("known_agreement")
    op.drop_index(op.f("ix_deal_task_deal_id"), table_name="deal_task")
    op.drop_table("deal_task")
    op.drop_index(op.f("ix_deal_participant_partner_id"), table_name="deal_participant")
    op.drop_table("deal_participant")
    op.drop_index(op.f("ix_deal_history_deal_id"), table_name="deal_history")
    op.drop_table("deal_history")
