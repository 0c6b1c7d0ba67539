"""initial schema

Revision ID: 28b11a476ffa
Revises:
Create Date: 2026-11-23 18:45:08.201119
"""

from collections.abc import Sequence

from crm_platform.migrations import create_platform_tables, drop_platform_tables

revision: str = "28b11a476ffa"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_platform_tables()


def downgrade() -> None:
    drop_platform_tables()
