"""invoice issued_at

Revision ID: 529053975021
Revises: 340f6937ee3d
Create Date: 2026-11-23 19:58:17.193406
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "529053975021"
down_revision: str | None = "340f6937ee3d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "invoice", sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("invoice", "issued_at")
