"""dashboard comments: Lightdash's textHtml and mentions

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("dashboard_comments") as batch:
        batch.add_column(sa.Column("text_html", sa.Text(), nullable=True))
        batch.add_column(sa.Column("mentions", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dashboard_comments") as batch:
        batch.drop_column("mentions")
        batch.drop_column("text_html")
