"""calendar: a partial index for recurring series, so a period query reads one-offs by start

Revision ID: 3b7e1c2d9a10
Revises: fcb4b0d07e95
Create Date: 2026-11-23 19:58:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b7e1c2d9a10"
down_revision: str | None = "fcb4b0d07e95"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_calendar_owner_series",
        "calendar_event",
        ["owner_id", "starts_at"],
        unique=False,
        postgresql_where=sa.text("recurrence <> ''"),
    )


def downgrade() -> None:
    op.drop_index("ix_calendar_owner_series", table_name="calendar_event", postgresql_where=sa.text("recurrence <> ''"))
