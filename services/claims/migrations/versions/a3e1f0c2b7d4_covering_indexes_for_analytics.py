"""covering indexes for the analytics reports

The reports read a period's claims by registration or closing time; with the columns
they group by included, PostgreSQL answers them from the index alone (index-only scans)
instead of visiting the wide claim rows.

Revision ID: a3e1f0c2b7d4
Revises: 7f9c4d94c3db
Create Date: 2026-11-23 19:27:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a3e1f0c2b7d4"
down_revision: str | None = "7f9c4d94c3db"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_claim_registered_at", table_name="claim")
    op.drop_index("ix_claim_closed_at", table_name="claim")
    op.execute(
        "CREATE INDEX ix_claim_registered_at ON claim (registered_at) "
        "INCLUDE (status, culprit_department, culprit_employee_id, reason_codes)"
    )
    op.execute("CREATE INDEX ix_claim_closed_at ON claim (closed_at) INCLUDE (status, reason_codes)")


def downgrade() -> None:
    op.drop_index("ix_claim_registered_at", table_name="claim")
    op.drop_index("ix_claim_closed_at", table_name="claim")
    op.create_index("ix_claim_registered_at", "claim", ["registered_at"])
    op.create_index("ix_claim_closed_at", "claim", ["closed_at"])
