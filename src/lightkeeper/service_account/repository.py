"""Every query of the service-account domain."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from lightkeeper.models import (
    CustomRole,
    Project,
    ProjectMembership,
    ServiceAccount,
    ServiceAccountToken,
    User,
)

PREVIOUS = "previous"  # service_account_tokens.kind of the token a rotation keeps for its grace


@dataclass(frozen=True)
class AccountRow:
    """A service account as the API shows it: with its creator and its number of project grants."""

    account: ServiceAccount
    creator: User | None
    project_access_count: int
    previous_token_expires_at: datetime | None = None


def account_rows(
    session: Session, organization_uuid: str, uuid: str | None = None, *, now: datetime
) -> list[AccountRow]:
    """One organization's service accounts (or one of them), newest first, in one query,
    each with the expiry of its previous token while a rotation's grace period lasts."""
    creator = aliased(User)
    grant_count = (
        select(func.count())
        .select_from(ProjectMembership)
        .where(ProjectMembership.user_uuid == ServiceAccount.user_uuid)
        .correlate(ServiceAccount)
        .scalar_subquery()
    )
    previous = (
        select(func.max(ServiceAccountToken.expires_at))
        .where(
            ServiceAccountToken.service_account_uuid == ServiceAccount.uuid,
            ServiceAccountToken.kind == PREVIOUS,
            ServiceAccountToken.expires_at > now,
        )
        .correlate(ServiceAccount)
        .scalar_subquery()
    )
    statement = (
        select(ServiceAccount, creator, grant_count, previous)
        .outerjoin(creator, creator.uuid == ServiceAccount.created_by_user_uuid)
        .where(ServiceAccount.organization_uuid == organization_uuid)
        .order_by(ServiceAccount.created_at.desc(), ServiceAccount.uuid)
    )
    if uuid is not None:
        statement = statement.where(ServiceAccount.uuid == uuid)
    return [
        AccountRow(account, user, int(count or 0), _aware(previous_until))
        for account, user, count, previous_until in session.execute(statement)
    ]


def _aware(value: datetime | None) -> datetime | None:
    """A subquery's time comes back without the column type (naive on SQLite): make it UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def account_in_organization(
    session: Session, organization_uuid: str, uuid: str
) -> ServiceAccount | None:
    return session.scalar(
        select(ServiceAccount).where(
            ServiceAccount.uuid == uuid, ServiceAccount.organization_uuid == organization_uuid
        )
    )


def projects_in_organization(
    session: Session, organization_uuid: str, uuids: Collection[str]
) -> dict[str, Project]:
    if not uuids:
        return {}
    rows = session.scalars(
        select(Project).where(
            Project.uuid.in_(uuids), Project.organization_uuid == organization_uuid
        )
    )
    return {p.uuid: p for p in rows}


def custom_roles_in_organization(
    session: Session, organization_uuid: str, uuids: Collection[str]
) -> dict[str, CustomRole]:
    if not uuids:
        return {}
    rows = session.scalars(
        select(CustomRole).where(
            CustomRole.uuid.in_(uuids), CustomRole.organization_uuid == organization_uuid
        )
    )
    return {r.uuid: r for r in rows}


def memberships_of(session: Session, user_uuid: str) -> list[ProjectMembership]:
    return list(
        session.scalars(
            select(ProjectMembership)
            .where(ProjectMembership.user_uuid == user_uuid)
            .order_by(ProjectMembership.project_uuid)
        )
    )


def project_access(
    session: Session, user_uuid: str
) -> list[tuple[ProjectMembership, Project, CustomRole | None]]:
    """A principal's project grants with their project and custom role, in one query."""
    rows = session.execute(
        select(ProjectMembership, Project, CustomRole)
        .join(Project, Project.uuid == ProjectMembership.project_uuid)
        .outerjoin(CustomRole, CustomRole.uuid == ProjectMembership.role_uuid)
        .where(ProjectMembership.user_uuid == user_uuid)
        .order_by(Project.name, Project.uuid)
    )
    return [(m, p, r) for m, p, r in rows]


def rotate_if_allowed(
    session: Session,
    uuid: str,
    *,
    token_hash: str,
    token_key_id: str,
    token_hint: str,
    expires_at: datetime,
    now: datetime,
    not_rotated_since: datetime,
    rotated_by_user_uuid: str,
) -> int:
    """The once-per-hour rule decided by the database: one conditional UPDATE, its rowcount.

    Concurrent rotations serialize on the row (PostgreSQL re-checks the
    condition after the winner commits; SQLite has one writer at a time), so
    only one of them can match.
    """
    result = session.execute(
        update(ServiceAccount)
        .where(ServiceAccount.uuid == uuid)
        .where(
            or_(ServiceAccount.rotated_at.is_(None), ServiceAccount.rotated_at <= not_rotated_since)
        )
        .values(
            token_hash=token_hash,
            token_key_id=token_key_id,
            token_hint=token_hint,
            expires_at=expires_at,
            rotated_at=now,
            rotated_by_user_uuid=rotated_by_user_uuid,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def rotated_at(session: Session, uuid: str) -> datetime | None:
    """The committed last rotation time (a column query: never the stale identity map)."""
    return session.scalar(select(ServiceAccount.rotated_at).where(ServiceAccount.uuid == uuid))


def end_grace(session: Session, uuid: str) -> None:
    """Delete the previous token an earlier rotation kept (an ORM delete: caches hear of it)."""
    session.execute(
        delete(ServiceAccountToken).where(
            ServiceAccountToken.service_account_uuid == uuid, ServiceAccountToken.kind == PREVIOUS
        )
    )


def keep_previous_token(
    session: Session,
    uuid: str,
    *,
    token_hash: str,
    token_key_id: str,
    token_hint: str,
    expires_at: datetime,
) -> None:
    """The token a rotation replaced, still accepted until `expires_at` (its grace period)."""
    session.add(
        ServiceAccountToken(
            service_account_uuid=uuid,
            kind=PREVIOUS,
            token_hash=token_hash,
            token_key_id=token_key_id,
            token_hint=token_hint,
            expires_at=expires_at,
        )
    )
    session.flush()
