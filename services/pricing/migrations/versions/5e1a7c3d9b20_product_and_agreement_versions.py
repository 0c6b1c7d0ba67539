"""product and agreement versions (optimistic concurrency of UpdateProduct, UpdateAgreement)

Revision ID: 5e1a7c3d9b20
Revises: cbeb0a9e7fd9
Create Date: 2026-11-23 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1a7c3d9b20"
down_revision: str | None = "cbeb0a9e7fd9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("product", "agreement"):
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    for table in ("product", "agreement"):
        op.drop_column(table, "version")
