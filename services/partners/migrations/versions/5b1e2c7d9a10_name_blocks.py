"""name blocks: duplicate candidates are retrieved by exact blocks (words and words less
one letter) through a GIN index instead of a trigram search over all names

Revision ID: 5b1e2c7d9a10
Revises: c13d839320af
Create Date: 2026-11-23 19:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b1e2c7d9a10"
down_revision: str | None = "c13d839320af"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_partner_name_key_trgm", table_name="partner")
    op.add_column("partner", sa.Column("name_blocks", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False))
    # Computed in Python from the name key, for partners registered before this revision.
    from partners.matching import name_blocks

    connection = op.get_bind()
    for partner_id, key in connection.execute(sa.text("SELECT id, name_key FROM partner")).all():
        connection.execute(
            sa.text("UPDATE partner SET name_blocks = :blocks WHERE id = :id"),
            {"blocks": name_blocks(key), "id": partner_id},
        )
    op.create_index("ix_partner_name_blocks", "partner", ["name_blocks"], unique=False, postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_partner_name_blocks", table_name="partner")
    op.drop_column("partner", "name_blocks")
    op.create_index(
        "ix_partner_name_key_trgm",
        "partner",
        ["name_key"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={"name_key": "gist_trgm_ops"},
    )
