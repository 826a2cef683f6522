"""The database schema, one class per table.

Ids are UUID strings (portable between SQLite and PostgreSQL). Every tenant
table reaches its organization through `organization_uuid` or its project.
Times are timezone-aware UTC (`UTCDateTime`).
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lightkeeper.kit.clock import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware datetime (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")


def new_uuid() -> str:
    return str(uuid_module.uuid4())


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


def _uuid_pk() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_uuid)


def _created_at() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def _user_ref(nullable: bool = True) -> Mapped[str | None]:
    return mapped_column(
        String(36), ForeignKey("users.uuid", ondelete="SET NULL"), nullable=nullable, index=True
    )


# -- identity --------------------------------------------------------------


class Organization(Base):
    __tablename__ = "organizations"
    uuid: Mapped[str] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(255), unique=True)
    default_role: Mapped[str] = mapped_column(String(32), default="viewer")
    created_at: Mapped[datetime] = _created_at()


class User(Base):
    """A principal: a person, or a service account's own identity (`is_service_account`).

    A service account's principal row outlives the service account so that
    the work it did keeps resolving to its description.
    """

    __tablename__ = "users"
    uuid: Mapped[str] = _uuid_pk()
    organization_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.uuid", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32), default="member")
    custom_role_uuid: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("custom_roles.uuid", ondelete="RESTRICT"), index=True
    )
    is_service_account: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class UserSession(Base):
    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_key_id: Mapped[str] = mapped_column(String(16))
    user_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.uuid", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PersonalAccessToken(Base):
    __tablename__ = "personal_access_tokens"
    uuid: Mapped[str] = _uuid_pk()
    user_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.uuid", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_key_id: Mapped[str] = mapped_column(String(16))
    token_hint: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created_at()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InviteLink(Base):
    __tablename__ = "invite_links"
    invite_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.uuid", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created_at()
    created_by_user_uuid: Mapped[str | None] = _user_ref()


class AuthFailure(Base):
    """Failed logins and token attempts, counted in the database so limits hold across processes."""

    __tablename__ = "auth_failures"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = _created_at()
    ip: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(16))
    __table_args__ = (
        Index("ix_auth_failures_ip_occurred_at", "ip", "occurred_at"),
        Index("ix_auth_failures_email_occurred_at", "email", "occurred_at"),
    )


# -- roles and service accounts --------------------------------------------


class CustomRole(Base):
    __tablename__ = "custom_roles"
    uuid: Mapped[str] = _uuid_pk()
    organization_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.uuid", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # No foreign key: users already reference custom roles, and a cycle would
    # break table ordering. A deleted creator simply resolves to nobody.
    created_by_user_uuid: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (UniqueConstraint("organization_uuid", "name"),)


class ServiceAccount(Base):
    __tablename__ = "service_accounts"
    uuid: Mapped[str] = _uuid_pk()
    organization_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.uuid", ondelete="CASCADE"), index=True
    )
    user_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.uuid", ondelete="CASCADE"), unique=True
    )
    description: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_key_id: Mapped[str] = mapped_column(String(16))
    token_hint: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created_at()
    created_by_user_uuid: Mapped[str | None] = _user_ref()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_ip: Mapped[str | None] = mapped_column(String(64))
    last_used_user_agent: Mapped[str | None] = mapped_column(String(512))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rotated_by_user_uuid: Mapped[str | None] = mapped_column(String(36))
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    role_uuid: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("custom_roles.uuid", ondelete="RESTRICT"), index=True
    )
    # Network rules: CIDR strings; null or empty = any address.
    allowed_ip_ranges: Mapped[list[str] | None] = mapped_column(JSONType)


# -- workload identity (trust policies, extra SA tokens, used jti) ----------


class TrustPolicy(Base):
    """Which CI identity tokens may be exchanged for a short-lived token of one service account."""

    __tablename__ = "trust_policies"
    uuid: Mapped[str] = _uuid_pk()
    organization_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.uuid", ondelete="CASCADE"), index=True
    )
    service_account_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("service_accounts.uuid", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(16))  # github | gitlab | custom
    issuer: Mapped[str] = mapped_column(String(512), index=True)
    audience: Mapped[str] = mapped_column(String(512))
    subject: Mapped[str | None] = mapped_column(String(512))
    claims: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    max_token_lifetime_seconds: Mapped[int] = mapped_column(Integer, default=900)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_user_uuid: Mapped[str | None] = _user_ref()
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ServiceAccountToken(Base):
    """A service account's token besides its main one: the previous token during a rotation's
    grace period (`kind` "previous"), or a token minted by a trust policy (`kind` "exchanged").

    It authenticates as the account, with the account's permissions, until `expires_at`.
    """

    __tablename__ = "service_account_tokens"
    uuid: Mapped[str] = _uuid_pk()
    service_account_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("service_accounts.uuid", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    trust_policy_uuid: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("trust_policies.uuid", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_key_id: Mapped[str] = mapped_column(String(16))
    token_hint: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created_at()


class UsedIdentityToken(Base):
    """A CI identity token already exchanged: (issuer, jti) once, kept until the token expires.

    The primary key is what makes "once" hold across processes: the second insert fails.
    """

    __tablename__ = "used_identity_tokens"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(issuer NUL jti)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AuthChange(Base):
    """One row per change to who may authenticate or what they may do.

    Processes cache verified credentials and resolved permissions; they drop
    their caches when this table's highest id moves (checked cheaply), which
    is how a revocation reaches every process sharing the database.
    """

    __tablename__ = "auth_changes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = _created_at()
    reason: Mapped[str] = mapped_column(String(64))


# -- projects and content --------------------------------------------------


class Project(Base):
    __tablename__ = "projects"
    uuid: Mapped[str] = _uuid_pk()
    organization_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.uuid", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="DEFAULT")
    upstream_project_uuid: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="SET NULL"), index=True
    )
    created_by_user_uuid: Mapped[str | None] = _user_ref()
    warehouse_connection: Mapped[str | None] = mapped_column(Text)  # sealed with the server secret
    # Lightdash's `schedulerTimezone` (an IANA name; null is Lightdash's default, UTC).
    scheduler_timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created_at()
    # A preview past this time is gone: never shown, deleted by the next sweep (project/previews.py).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class ProjectMembership(Base):
    """A person's or service account's explicit grant on a project: a system role or a custom role."""

    __tablename__ = "project_memberships"
    project_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="CASCADE"), primary_key=True
    )
    user_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.uuid", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str | None] = mapped_column(String(32))
    role_uuid: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("custom_roles.uuid", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = _created_at()


class Explore(Base):
    __tablename__ = "explores"
    project_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = _created_at()


class Space(Base):
    __tablename__ = "spaces"
    uuid: Mapped[str] = _uuid_pk()
    project_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="CASCADE"), index=True
    )
    parent_space_uuid: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("spaces.uuid", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255))
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_user_uuid: Mapped[str | None] = _user_ref()
    created_at: Mapped[datetime] = _created_at()
    __table_args__ = (UniqueConstraint("project_uuid", "slug"),)


class SpaceShare(Base):
    __tablename__ = "space_shares"
    space_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("spaces.uuid", ondelete="CASCADE"), primary_key=True
    )
    user_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.uuid", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))


class SavedChart(Base):
    __tablename__ = "saved_charts"
    uuid: Mapped[str] = _uuid_pk()
    project_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="CASCADE"), index=True
    )
    space_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("spaces.uuid", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(String(255))
    table_name: Mapped[str] = mapped_column(String(255), default="")
    metric_query: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    chart_config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    table_config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = _created_at()
    created_by_user_uuid: Mapped[str | None] = _user_ref()
    updated_at: Mapped[datetime] = _created_at()
    updated_by_user_uuid: Mapped[str | None] = _user_ref()
    __table_args__ = (UniqueConstraint("project_uuid", "slug"),)


class SavedChartVersion(Base):
    __tablename__ = "saved_chart_versions"
    uuid: Mapped[str] = _uuid_pk()
    chart_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("saved_charts.uuid", ondelete="CASCADE"), index=True
    )
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = _created_at()
    updated_by_user_uuid: Mapped[str | None] = _user_ref()


class Dashboard(Base):
    __tablename__ = "dashboards"
    uuid: Mapped[str] = _uuid_pk()
    project_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="CASCADE"), index=True
    )
    space_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("spaces.uuid", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(String(255))
    tiles: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = _created_at()
    created_by_user_uuid: Mapped[str | None] = _user_ref()
    updated_at: Mapped[datetime] = _created_at()
    updated_by_user_uuid: Mapped[str | None] = _user_ref()
    __table_args__ = (UniqueConstraint("project_uuid", "slug"),)


class DashboardVersion(Base):
    __tablename__ = "dashboard_versions"
    uuid: Mapped[str] = _uuid_pk()
    dashboard_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("dashboards.uuid", ondelete="CASCADE"), index=True
    )
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = _created_at()
    updated_by_user_uuid: Mapped[str | None] = _user_ref()


class DashboardComment(Base):
    __tablename__ = "dashboard_comments"
    uuid: Mapped[str] = _uuid_pk()
    dashboard_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("dashboards.uuid", ondelete="CASCADE"), index=True
    )
    dashboard_tile_uuid: Mapped[str | None] = mapped_column(String(36))
    reply_to: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("dashboard_comments.uuid", ondelete="CASCADE")
    )
    text: Mapped[str] = mapped_column(Text)
    # Lightdash's rich text of the comment and the people it mentions (None: not given).
    text_html: Mapped[str | None] = mapped_column(Text)
    mentions: Mapped[list[str] | None] = mapped_column(JSONType)
    user_uuid: Mapped[str | None] = _user_ref()
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _created_at()


# -- groups ------------------------------------------------------------------


class Group(Base):
    """A named set of people of one organization (never service accounts).

    What a group is given (a project role, a space role) adds to what each
    member holds on their own.
    """

    __tablename__ = "groups"
    uuid: Mapped[str] = _uuid_pk()
    organization_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.uuid", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = _created_at()
    created_by_user_uuid: Mapped[str | None] = _user_ref()
    updated_at: Mapped[datetime] = _created_at()
    updated_by_user_uuid: Mapped[str | None] = _user_ref()
    # Names are unique per organization whatever their case: the database settles a race.
    __table_args__ = (
        Index(
            "uq_groups_organization_uuid_lower_name",
            "organization_uuid",
            text("lower(name)"),
            unique=True,
        ),
    )


class GroupMembership(Base):
    __tablename__ = "group_memberships"
    group_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("groups.uuid", ondelete="CASCADE"), primary_key=True
    )
    user_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.uuid", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = _created_at()


class ProjectGroupAccess(Base):
    """A group's role on a project, system (`role`) or custom (`role_uuid`): every member holds it
    there too."""

    __tablename__ = "project_group_accesses"
    project_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="CASCADE"), primary_key=True
    )
    group_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("groups.uuid", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str | None] = mapped_column(String(32))
    role_uuid: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("custom_roles.uuid", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = _created_at()


class SpaceGroupShare(Base):
    """A group's role in a root space: every member holds it there too."""

    __tablename__ = "space_group_shares"
    space_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("spaces.uuid", ondelete="CASCADE"), primary_key=True
    )
    group_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("groups.uuid", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))


# -- deploy pipeline: tags, parameters, batched deploys, jobs ---------------


class ProjectTag(Base):
    """A Lightdash tag (spotlight category); `yaml_reference` set when it came from YAML."""

    __tablename__ = "project_tags"
    uuid: Mapped[str] = _uuid_pk()
    project_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    color: Mapped[str] = mapped_column(String(64))
    yaml_reference: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = _created_at()
    created_by_user_uuid: Mapped[str | None] = _user_ref()
    __table_args__ = (UniqueConstraint("project_uuid", "yaml_reference"),)


class ProjectParameters(Base):
    """The project's parameters (`lightdash.config.yml` `parameters`), as deployed."""

    __tablename__ = "project_parameters"
    project_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="CASCADE"), primary_key=True
    )
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = _created_at()


class DeploySession(Base):
    """A batched deploy in progress: explores are staged here until finalize replaces the project's."""

    __tablename__ = "deploy_sessions"
    uuid: Mapped[str] = _uuid_pk()
    project_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="CASCADE"), index=True
    )
    principal_user_uuid: Mapped[str | None] = _user_ref()
    status: Mapped[str] = mapped_column(String(16), default="uploading")
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DeployBatch(Base):
    __tablename__ = "deploy_batches"
    session_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("deploy_sessions.uuid", ondelete="CASCADE"), primary_key=True
    )
    batch_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    explores: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = _created_at()


class Job(Base):
    """Work a client polls for (`GET /api/v1/schedulers/job/{uuid}/status`): validation, copies."""

    __tablename__ = "jobs"
    uuid: Mapped[str] = _uuid_pk()
    organization_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.uuid", ondelete="CASCADE"), index=True
    )
    project_uuid: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_by_user_uuid: Mapped[str | None] = _user_ref()
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


# -- audit -------------------------------------------------------------------


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), default=new_uuid, unique=True)
    organization_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.uuid", ondelete="CASCADE")
    )
    occurred_at: Mapped[datetime] = _created_at()
    actor_type: Mapped[str] = mapped_column(String(32))
    actor_uuid: Mapped[str | None] = mapped_column(String(36))
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    token_hint: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_uuid: Mapped[str | None] = mapped_column(String(64))
    target_label: Mapped[str] = mapped_column(String(320), default="")
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    client_kind: Mapped[str | None] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    __table_args__ = (
        Index("ix_audit_events_org_id", "organization_uuid", "id"),
        Index("ix_audit_events_org_actor", "organization_uuid", "actor_uuid", "id"),
        Index("ix_audit_events_org_action", "organization_uuid", "action", "id"),
        Index("ix_audit_events_org_target", "organization_uuid", "target_uuid", "id"),
    )


# -- queries -----------------------------------------------------------------


class QueryRecord(Base):
    """One query run (metric query, saved chart, SQL): who ran it, where, and how it went.

    Shared state: any process sharing the database serves its status and its
    pages, and cancels it by writing `status` (the running process watches it).
    """

    __tablename__ = "queries"
    uuid: Mapped[str] = _uuid_pk()
    organization_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.uuid", ondelete="CASCADE"), index=True
    )
    project_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.uuid", ondelete="CASCADE"), index=True
    )
    # The principal that ran it (a service account as itself): the only one who reads it.
    created_by_user_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.uuid", ondelete="CASCADE")
    )
    source: Mapped[str] = mapped_column(String(32))  # metric_query | chart | dashboard_chart | sql
    context: Mapped[str | None] = mapped_column(String(64))
    explore_name: Mapped[str | None] = mapped_column(String(255))
    saved_chart_uuid: Mapped[str | None] = mapped_column(String(36))
    metric_query: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    sql: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    columns: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)  # in result order
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    total_rows: Mapped[int | None] = mapped_column(Integer)
    default_page_size: Mapped[int | None] = mapped_column(Integer)
    warehouse_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created_at()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The rate limit counts a principal's recent runs.
    __table_args__ = (Index("ix_queries_creator_created_at", "created_by_user_uuid", "created_at"),)


class QueryResultChunk(Base):
    """A run of consecutive result rows of one query: each row's wire JSON text on its own
    line; `position` is the first row's index (so chunks written apart stay in order)."""

    __tablename__ = "query_result_chunks"
    query_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("queries.uuid", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_row: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(Integer)
    rows: Mapped[str] = mapped_column(Text)
