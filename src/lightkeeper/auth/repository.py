"""Every query of authentication and grants."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from lightkeeper.models import (
    CustomRole,
    GroupMembership,
    ProjectGroupAccess,
    ProjectMembership,
    ServiceAccount,
)


def project_memberships_of(session: Session, user_uuid: str) -> list[ProjectMembership]:
    return list(
        session.scalars(select(ProjectMembership).where(ProjectMembership.user_uuid == user_uuid))
    )


def custom_roles(session: Session, role_uuids: Collection[str]) -> list[CustomRole]:
    return list(session.scalars(select(CustomRole).where(CustomRole.uuid.in_(role_uuids))))


def service_account_of_user(session: Session, user_uuid: str) -> ServiceAccount | None:
    return session.scalar(select(ServiceAccount).where(ServiceAccount.user_uuid == user_uuid))


def group_uuids_of(session: Session, user_uuid: str) -> list[str]:
    return list(
        session.scalars(
            select(GroupMembership.group_uuid).where(GroupMembership.user_uuid == user_uuid)
        )
    )


def group_project_roles(
    session: Session, group_uuids: Collection[str]
) -> list[tuple[str, str | None, str | None]]:
    """(project uuid, system role, custom role uuid) of every project access of these groups."""
    if not group_uuids:
        return []
    rows = session.execute(
        select(
            ProjectGroupAccess.project_uuid, ProjectGroupAccess.role, ProjectGroupAccess.role_uuid
        ).where(ProjectGroupAccess.group_uuid.in_(group_uuids))
    )
    return [(project_uuid, role, role_uuid) for project_uuid, role, role_uuid in rows]
