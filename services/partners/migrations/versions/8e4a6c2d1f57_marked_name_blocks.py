"""name blocks mark the one-letter-short forms of a word ("~"), so a duplicate check can
look up only the forms a typo can produce and a one-word name scans far fewer rows; the
name key of a name made only of legal-form words is its last word

Revision ID: 8e4a6c2d1f57
Revises: 7d2f0b9e4c31
Create Date: 2026-11-23 21:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e4a6c2d1f57"
down_revision: str | None = "7d2f0b9e4c31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recompute(blocks_of, key_of=None) -> None:  # type: ignore[no-untyped-def]
    connection = op.get_bind()
    for partner_id, name, key in connection.execute(sa.text("SELECT id, name, name_key FROM partner")).all():
        key = key_of(name) if key_of else key
        connection.execute(
            sa.text("UPDATE partner SET name_key = :key, name_blocks = :blocks WHERE id = :id"),
            {"key": key, "blocks": blocks_of(key), "id": partner_id},
        )


def upgrade() -> None:
    from partners.matching import name_blocks, name_key

    _recompute(name_blocks, name_key)


def downgrade() -> None:
    def unmarked(key: str) -> list[str]:
        from partners.matching import name_blocks

        return list(dict.fromkeys(b.removeprefix("~") for b in name_blocks(key)))

    _recompute(unmarked)
