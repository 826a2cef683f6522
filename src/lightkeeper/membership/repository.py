"""Every query of memberships: people of an organization, their roles, project memberships."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lightkeeper.models import GroupMembership, ProjectMembership, SpaceShare, User

# -- people ----------------------------------------------------------------------


def user_in_organization(session: Session, organization_uuid: str, user_uuid: str) -> User | None:
    """A user row of the organization: a person or a service account's principal."""
    return session.scalar(
        select(User).where(User.uuid == user_uuid, User.organization_uuid == organization_uuid)
    )


def user_by_email(session: Session, organization_uuid: str, email: str) -> User | None:
    return session.scalar(
        select(User).where(
            func.lower(User.email) == email.strip().lower(),
            User.organization_uuid == organization_uuid,
        )
    )


def active_admin_uuids(session: Session, organization_uuid: str) -> list[str]:
    """The active admins, row-locked on PostgreSQL so two demotions cannot both pass the check.

    (SQLite takes no row locks; its single writer serialises the two transactions.)
    """
    return list(
        session.scalars(
            select(User.uuid)
            .where(
                User.organization_uuid == organization_uuid,
                User.is_service_account.is_(False),
                User.is_active.is_(True),
                User.role == "admin",
            )
            .with_for_update()
        )
    )


def retire_user(session: Session, user: User) -> None:
    """Take a removed person out of the organization while keeping their row.

    The row stays so that what they created (service accounts above all) keeps
    naming them as creator; it loses its email (free to be invited again),
    password, roles, project memberships, group memberships and space shares.
    """
    session.execute(delete(ProjectMembership).where(ProjectMembership.user_uuid == user.uuid))
    session.execute(delete(GroupMembership).where(GroupMembership.user_uuid == user.uuid))
    session.execute(delete(SpaceShare).where(SpaceShare.user_uuid == user.uuid))
    user.email = None
    user.password_hash = None
    user.custom_role_uuid = None
    user.role = "member"
    user.is_active = False


# -- project memberships -----------------------------------------------------------


def members(session: Session, project_uuid: str) -> Sequence[tuple[ProjectMembership, User]]:
    """Explicit memberships with their users, in one query."""
    rows = session.execute(
        select(ProjectMembership, User)
        .join(User, User.uuid == ProjectMembership.user_uuid)
        .where(ProjectMembership.project_uuid == project_uuid)
        .order_by(User.is_service_account, User.first_name, User.last_name, User.email, User.uuid)
    )
    return [(m, u) for m, u in rows.tuples()]


def membership(session: Session, project_uuid: str, user_uuid: str) -> ProjectMembership | None:
    return session.get(ProjectMembership, (project_uuid, user_uuid))


def add_membership(
    session: Session,
    project_uuid: str,
    user_uuid: str,
    role: str | None,
    role_uuid: str | None = None,
) -> ProjectMembership:
    """A membership with a system project role, or (`role=None`) a custom role."""
    row = ProjectMembership(
        project_uuid=project_uuid, user_uuid=user_uuid, role=role, role_uuid=role_uuid
    )
    session.add(row)
    session.flush()
    return row


def delete_membership(session: Session, row: ProjectMembership) -> None:
    session.delete(row)
    session.flush()
