"""deploy pipeline: project tags and parameters, batched deploy sessions, jobs, preview expiry

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02 06:56:04.134933
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import lightkeeper.models

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deploy_sessions",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("project_uuid", sa.String(length=36), nullable=False),
        sa.Column("principal_user_uuid", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_user_uuid"],
            ["users.uuid"],
            name=op.f("fk_deploy_sessions_principal_user_uuid_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_uuid"],
            ["projects.uuid"],
            name=op.f("fk_deploy_sessions_project_uuid_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_deploy_sessions")),
    )
    with op.batch_alter_table("deploy_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deploy_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deploy_sessions_principal_user_uuid"),
            ["principal_user_uuid"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deploy_sessions_project_uuid"), ["project_uuid"], unique=False
        )

    op.create_table(
        "jobs",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("organization_uuid", sa.String(length=36), nullable=False),
        sa.Column("project_uuid", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "results",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_user_uuid", sa.String(length=36), nullable=True),
        sa.Column("created_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_uuid"],
            ["users.uuid"],
            name=op.f("fk_jobs_created_by_user_uuid_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_uuid"],
            ["organizations.uuid"],
            name=op.f("fk_jobs_organization_uuid_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_uuid"],
            ["projects.uuid"],
            name=op.f("fk_jobs_project_uuid_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_jobs_created_by_user_uuid"), ["created_by_user_uuid"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_jobs_organization_uuid"), ["organization_uuid"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_jobs_project_uuid"), ["project_uuid"], unique=False)

    op.create_table(
        "project_parameters",
        sa.Column("project_uuid", sa.String(length=36), nullable=False),
        sa.Column(
            "parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_uuid"],
            ["projects.uuid"],
            name=op.f("fk_project_parameters_project_uuid_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_uuid", name=op.f("pk_project_parameters")),
    )
    op.create_table(
        "project_tags",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("project_uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("color", sa.String(length=64), nullable=False),
        sa.Column("yaml_reference", sa.String(length=255), nullable=True),
        sa.Column("created_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_uuid", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_uuid"],
            ["users.uuid"],
            name=op.f("fk_project_tags_created_by_user_uuid_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_uuid"],
            ["projects.uuid"],
            name=op.f("fk_project_tags_project_uuid_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_project_tags")),
        sa.UniqueConstraint(
            "project_uuid",
            "yaml_reference",
            name=op.f("uq_project_tags_project_uuid_yaml_reference"),
        ),
    )
    with op.batch_alter_table("project_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_tags_created_by_user_uuid"),
            ["created_by_user_uuid"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_project_tags_project_uuid"), ["project_uuid"], unique=False
        )

    op.create_table(
        "deploy_batches",
        sa.Column("session_uuid", sa.String(length=36), nullable=False),
        sa.Column("batch_number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "explores",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_uuid"],
            ["deploy_sessions.uuid"],
            name=op.f("fk_deploy_batches_session_uuid_deploy_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_uuid", "batch_number", name=op.f("pk_deploy_batches")),
    )
    # Plain ALTER TABLE, never a batch copy: recreating `projects` on SQLite would cascade deletes.
    op.add_column(
        "projects",
        sa.Column("expires_at", lightkeeper.models.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index(op.f("ix_projects_expires_at"), "projects", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_projects_expires_at"), table_name="projects")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("expires_at")

    op.drop_table("deploy_batches")
    with op.batch_alter_table("project_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_tags_project_uuid"))
        batch_op.drop_index(batch_op.f("ix_project_tags_created_by_user_uuid"))

    op.drop_table("project_tags")
    op.drop_table("project_parameters")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_project_uuid"))
        batch_op.drop_index(batch_op.f("ix_jobs_organization_uuid"))
        batch_op.drop_index(batch_op.f("ix_jobs_created_by_user_uuid"))

    op.drop_table("jobs")
    with op.batch_alter_table("deploy_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deploy_sessions_project_uuid"))
        batch_op.drop_index(batch_op.f("ix_deploy_sessions_principal_user_uuid"))
        batch_op.drop_index(batch_op.f("ix_deploy_sessions_expires_at"))

    op.drop_table("deploy_sessions")
