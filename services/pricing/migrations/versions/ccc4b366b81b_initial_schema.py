"""initial schema

Revision ID: ccc4b366b81b
Revises:
Create Date: 2026-11-23 18:45:07.454571
"""

from collections.abc import Sequence

from crm_platform.migrations import create_platform_tables, drop_platform_tables

revision: str = "ccc4b366b81b"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_platform_tables()


def downgrade() -> None:
    drop_platform_tables()
