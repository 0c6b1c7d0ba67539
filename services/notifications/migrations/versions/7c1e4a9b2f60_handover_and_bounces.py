"""the SMTP hand-over point in the ledger; why an address was opted out

Revision ID: 7c1e4a9b2f60
Revises: d5e46bafbe0e
Create Date: 2026-11-23 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1e4a9b2f60"
down_revision: str | None = "d5e46bafbe0e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("message", sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "opt_out", sa.Column("reason", sa.String(length=20), server_default=sa.text("'unsubscribed'"), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("opt_out", "reason")
    op.drop_column("message", "handed_over_at")
