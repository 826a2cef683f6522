"""Every query of the custom-roles domain: roles, creators, holders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from lightkeeper.models import (
    CustomRole,
    Group,
    Project,
    ProjectGroupAccess,
    ProjectMembership,
    ServiceAccount,
    User,
)

# -- roles -----------------------------------------------------------------------


def roles(session: Session, organization_uuid: str) -> Sequence[CustomRole]:
    return session.scalars(
        select(CustomRole)
        .where(CustomRole.organization_uuid == organization_uuid)
        .order_by(func.lower(CustomRole.name), CustomRole.uuid)
    ).all()


def role(session: Session, organization_uuid: str, role_uuid: str) -> CustomRole | None:
    """A custom role of this organization (another organization's role is no role)."""
    return session.scalar(
        select(CustomRole).where(
            CustomRole.uuid == role_uuid, CustomRole.organization_uuid == organization_uuid
        )
    )


def role_named(
    session: Session, organization_uuid: str, name: str, *, other_than: str | None = None
) -> CustomRole | None:
    """A role of the organization with this name, compared case-insensitively."""
    statement = select(CustomRole).where(
        CustomRole.organization_uuid == organization_uuid,
        func.lower(CustomRole.name) == name.lower(),
    )
    if other_than is not None:
        statement = statement.where(CustomRole.uuid != other_than)
    return session.scalar(statement.limit(1))


def add_role(session: Session, row: CustomRole) -> CustomRole:
    session.add(row)
    session.flush()
    return row


def delete_role(session: Session, row: CustomRole) -> None:
    session.delete(row)
    session.flush()


def users_by_uuid(session: Session, uuids: Iterable[str | None]) -> dict[str, User]:
    """Users by id in one query (creators of a list of roles)."""
    wanted = {u for u in uuids if u}
    if not wanted:
        return {}
    return {u.uuid: u for u in session.scalars(select(User).where(User.uuid.in_(wanted)))}


# -- holders of a role -------------------------------------------------------------


def organization_holders(session: Session, role_uuid: str) -> Sequence[User]:
    """People holding the role at organization level."""
    return session.scalars(
        select(User)
        .where(User.custom_role_uuid == role_uuid, User.is_service_account.is_(False))
        .order_by(User.first_name, User.last_name, User.email, User.uuid)
    ).all()


def service_account_holders(
    session: Session, role_uuid: str
) -> Sequence[tuple[ServiceAccount, User]]:
    """Service accounts bound to the role (on the account, or on its principal row)."""
    rows = session.execute(
        select(ServiceAccount, User)
        .join(User, User.uuid == ServiceAccount.user_uuid)
        .where(or_(ServiceAccount.role_uuid == role_uuid, User.custom_role_uuid == role_uuid))
        .order_by(ServiceAccount.description, ServiceAccount.uuid)
    )
    return [(account, user) for account, user in rows.tuples()]


def project_holders(
    session: Session, role_uuid: str
) -> Sequence[tuple[ProjectMembership, User, Project, ServiceAccount | None]]:
    """Memberships naming the role, with their user, project and service account (if any)."""
    rows = session.execute(
        select(ProjectMembership, User, Project, ServiceAccount)
        .join(User, User.uuid == ProjectMembership.user_uuid)
        .join(Project, Project.uuid == ProjectMembership.project_uuid)
        .outerjoin(ServiceAccount, ServiceAccount.user_uuid == User.uuid)
        .where(ProjectMembership.role_uuid == role_uuid)
        .order_by(Project.name, Project.uuid, User.first_name, User.last_name, User.uuid)
    )
    return [(m, u, p, sa) for m, u, p, sa in rows.tuples()]


def project_group_holders(session: Session, role_uuid: str) -> Sequence[tuple[Group, Project]]:
    """Groups given the role on a project, with that project."""
    rows = session.execute(
        select(Group, Project)
        .join(ProjectGroupAccess, ProjectGroupAccess.group_uuid == Group.uuid)
        .join(Project, Project.uuid == ProjectGroupAccess.project_uuid)
        .where(ProjectGroupAccess.role_uuid == role_uuid)
        .order_by(Project.name, Project.uuid, Group.name, Group.uuid)
    )
    return [(g, p) for g, p in rows.tuples()]
