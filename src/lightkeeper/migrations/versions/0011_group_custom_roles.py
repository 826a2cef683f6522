"""groups hold project custom roles: project_group_accesses.role_uuid, role nullable

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("project_group_accesses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role_uuid", sa.String(length=36), nullable=True))
        batch_op.alter_column("role", existing_type=sa.String(length=32), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_project_group_accesses_role_uuid"), ["role_uuid"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_project_group_accesses_role_uuid_custom_roles"),
            "custom_roles",
            ["role_uuid"],
            ["uuid"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    # A custom-role access has no system role to fall back to: it is dropped.
    op.execute("DELETE FROM project_group_accesses WHERE role IS NULL")
    with op.batch_alter_table("project_group_accesses", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_project_group_accesses_role_uuid_custom_roles"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_project_group_accesses_role_uuid"))
        batch_op.alter_column("role", existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column("role_uuid")
