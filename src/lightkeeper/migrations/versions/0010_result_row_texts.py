"""query results stored as one wire JSON text per row, a chunk's position its first row:
the results of earlier runs (JSON arrays, positions counted from 0) expire now

Revision ID: 0010
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Results are a cache of 24 hours: their records stay as history, and a page of one of
    # them answers 406 (expired: run it again) instead of reading the old layout.
    op.execute("DELETE FROM query_result_chunks")
    op.execute("UPDATE queries SET expires_at = finished_at WHERE status = 'ready'")


def downgrade() -> None:
    op.execute("DELETE FROM query_result_chunks")
    op.execute("UPDATE queries SET expires_at = finished_at WHERE status = 'ready'")
