"""workload identity: trust policies, extra service-account tokens, used identity tokens,
network rules

Revision ID: 0006
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import lightkeeper.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = lightkeeper.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("service_accounts") as batch:
        batch.add_column(sa.Column("allowed_ip_ranges", JSON, nullable=True))
    op.create_table(
        "trust_policies",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("organization_uuid", sa.String(length=36), nullable=False),
        sa.Column("service_account_uuid", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("audience", sa.String(length=512), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=True),
        sa.Column("claims", JSON, nullable=False),
        sa.Column("max_token_lifetime_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by_user_uuid", sa.String(length=36), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("last_used_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_uuid"],
            ["users.uuid"],
            name=op.f("fk_trust_policies_created_by_user_uuid_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_uuid"],
            ["organizations.uuid"],
            name=op.f("fk_trust_policies_organization_uuid_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_account_uuid"],
            ["service_accounts.uuid"],
            name=op.f("fk_trust_policies_service_account_uuid_service_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_trust_policies")),
    )
    for column in ("created_by_user_uuid", "issuer", "organization_uuid", "service_account_uuid"):
        op.create_index(op.f(f"ix_trust_policies_{column}"), "trust_policies", [column])
    op.create_table(
        "service_account_tokens",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("service_account_uuid", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("trust_policy_uuid", sa.String(length=36), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_key_id", sa.String(length=16), nullable=False),
        sa.Column("token_hint", sa.String(length=16), nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["service_account_uuid"],
            ["service_accounts.uuid"],
            name=op.f("fk_service_account_tokens_service_account_uuid_service_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trust_policy_uuid"],
            ["trust_policies.uuid"],
            name=op.f("fk_service_account_tokens_trust_policy_uuid_trust_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_service_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_service_account_tokens_token_hash")),
    )
    for column in ("service_account_uuid", "trust_policy_uuid"):
        op.create_index(
            op.f(f"ix_service_account_tokens_{column}"), "service_account_tokens", [column]
        )
    op.create_table(
        "used_identity_tokens",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_used_identity_tokens")),
    )
    op.create_index(
        op.f("ix_used_identity_tokens_expires_at"), "used_identity_tokens", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_table("used_identity_tokens")
    op.drop_table("service_account_tokens")
    op.drop_table("trust_policies")
    with op.batch_alter_table("service_accounts") as batch:
        batch.drop_column("allowed_ip_ranges")
