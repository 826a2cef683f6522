"""groups: members, project access and space shares of groups

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lightkeeper.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("organization_uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_uuid", sa.String(length=36), nullable=True),
        sa.Column("updated_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_user_uuid", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_uuid"],
            ["users.uuid"],
            name=op.f("fk_groups_created_by_user_uuid_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_uuid"],
            ["organizations.uuid"],
            name=op.f("fk_groups_organization_uuid_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_user_uuid"],
            ["users.uuid"],
            name=op.f("fk_groups_updated_by_user_uuid_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_groups")),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_groups_created_by_user_uuid"), ["created_by_user_uuid"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_groups_organization_uuid"), ["organization_uuid"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_groups_updated_by_user_uuid"), ["updated_by_user_uuid"], unique=False
        )
        batch_op.create_index(
            "uq_groups_organization_uuid_lower_name",
            ["organization_uuid", sa.text("lower(name)")],
            unique=True,
        )

    op.create_table(
        "group_memberships",
        sa.Column("group_uuid", sa.String(length=36), nullable=False),
        sa.Column("user_uuid", sa.String(length=36), nullable=False),
        sa.Column("created_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_uuid"],
            ["groups.uuid"],
            name=op.f("fk_group_memberships_group_uuid_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_uuid"],
            ["users.uuid"],
            name=op.f("fk_group_memberships_user_uuid_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_uuid", "user_uuid", name=op.f("pk_group_memberships")),
    )
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_memberships_user_uuid"), ["user_uuid"], unique=False
        )

    op.create_table(
        "project_group_accesses",
        sa.Column("project_uuid", sa.String(length=36), nullable=False),
        sa.Column("group_uuid", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("created_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_uuid"],
            ["groups.uuid"],
            name=op.f("fk_project_group_accesses_group_uuid_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_uuid"],
            ["projects.uuid"],
            name=op.f("fk_project_group_accesses_project_uuid_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "project_uuid", "group_uuid", name=op.f("pk_project_group_accesses")
        ),
    )
    with op.batch_alter_table("project_group_accesses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_group_accesses_group_uuid"), ["group_uuid"], unique=False
        )

    op.create_table(
        "space_group_shares",
        sa.Column("space_uuid", sa.String(length=36), nullable=False),
        sa.Column("group_uuid", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_uuid"],
            ["groups.uuid"],
            name=op.f("fk_space_group_shares_group_uuid_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_uuid"],
            ["spaces.uuid"],
            name=op.f("fk_space_group_shares_space_uuid_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("space_uuid", "group_uuid", name=op.f("pk_space_group_shares")),
    )
    with op.batch_alter_table("space_group_shares", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_space_group_shares_group_uuid"), ["group_uuid"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("space_group_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_space_group_shares_group_uuid"))
    op.drop_table("space_group_shares")
    with op.batch_alter_table("project_group_accesses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_group_accesses_group_uuid"))
    op.drop_table("project_group_accesses")
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_memberships_user_uuid"))
    op.drop_table("group_memberships")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index("uq_groups_organization_uuid_lower_name")
        batch_op.drop_index(batch_op.f("ix_groups_updated_by_user_uuid"))
        batch_op.drop_index(batch_op.f("ix_groups_organization_uuid"))
        batch_op.drop_index(batch_op.f("ix_groups_created_by_user_uuid"))
    op.drop_table("groups")
