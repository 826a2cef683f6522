"""Every query of groups: the groups of an organization, their members, project access, space shares."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lightkeeper.models import (
    Group,
    GroupMembership,
    Project,
    ProjectGroupAccess,
    Space,
    SpaceGroupShare,
    User,
)

# -- groups ------------------------------------------------------------------------


def name_taken(
    session: Session, organization_uuid: str, name: str, *, other_than: str | None = None
) -> bool:
    """Whether another group of the organization has this name (compared case-insensitively)."""
    statement = select(Group.uuid).where(
        Group.organization_uuid == organization_uuid, func.lower(Group.name) == name.lower()
    )
    if other_than is not None:
        statement = statement.where(Group.uuid != other_than)
    return session.scalar(statement.limit(1)) is not None


def insert_once(
    session: Session, row: Group | GroupMembership | ProjectGroupAccess | SpaceGroupShare
) -> bool:
    """Insert `row`; False when a concurrent request inserted the same key (a group's name, a
    membership, an access, a share) first. The unique constraint decides; only a savepoint is
    rolled back, so the request goes on and answers as if it had come second."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def rename(session: Session, group: Group, name: str) -> bool:
    """Rename `group`; False (name unchanged) when a concurrent request took the name first."""
    before = group.name
    try:
        with session.begin_nested():
            group.name = name
            session.flush()
    except IntegrityError:
        group.name = before
        return False
    return True


def groups(
    session: Session,
    organization_uuid: str,
    *,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Group]:
    """The organization's groups by name; `search` matches part of the name, any case."""
    statement = select(Group).where(Group.organization_uuid == organization_uuid)
    if search:
        statement = statement.where(
            func.lower(Group.name).contains(search.lower(), autoescape=True)
        )
    statement = statement.order_by(func.lower(Group.name), Group.uuid).offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))


def group_count(session: Session, organization_uuid: str, *, search: str | None = None) -> int:
    statement = select(func.count()).select_from(Group)
    statement = statement.where(Group.organization_uuid == organization_uuid)
    if search:
        statement = statement.where(
            func.lower(Group.name).contains(search.lower(), autoescape=True)
        )
    return int(session.scalar(statement) or 0)


def delete_group(session: Session, group: Group) -> None:
    """Delete a group with its memberships, project access and space shares (children first)."""
    for model in (GroupMembership, ProjectGroupAccess, SpaceGroupShare):
        session.execute(delete(model).where(model.group_uuid == group.uuid))
    session.delete(group)
    session.flush()


# -- members -----------------------------------------------------------------------


def members(
    session: Session, group_uuids: Collection[str], *, limit: int | None = None, offset: int = 0
) -> list[tuple[str, User]]:
    """(group uuid, member) pairs of these groups in one query, by name within each group."""
    if not group_uuids:
        return []
    statement = (
        select(GroupMembership.group_uuid, User)
        .join(User, User.uuid == GroupMembership.user_uuid)
        .where(GroupMembership.group_uuid.in_(group_uuids))
        .order_by(GroupMembership.group_uuid, User.first_name, User.last_name, User.uuid)
        .offset(offset)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return [(group_uuid, user) for group_uuid, user in session.execute(statement)]


def member_uuids(session: Session, group_uuid: str) -> set[str]:
    return set(
        session.scalars(
            select(GroupMembership.user_uuid).where(GroupMembership.group_uuid == group_uuid)
        )
    )


def membership(session: Session, group_uuid: str, user_uuid: str) -> GroupMembership | None:
    return session.get(GroupMembership, (group_uuid, user_uuid))


def add_member(session: Session, group_uuid: str, user_uuid: str) -> bool:
    """Make the person a member; False when they already were (a concurrent request's insert)."""
    return insert_once(session, GroupMembership(group_uuid=group_uuid, user_uuid=user_uuid))


def remove_member(session: Session, group_uuid: str, user_uuid: str) -> bool:
    """End a membership; False when it was gone already (a concurrent request)."""
    result = session.execute(
        delete(GroupMembership).where(
            GroupMembership.group_uuid == group_uuid, GroupMembership.user_uuid == user_uuid
        )
    )
    return bool(getattr(result, "rowcount", 0))


def remove_project_access(session: Session, project_uuid: str, group_uuid: str) -> None:
    session.execute(
        delete(ProjectGroupAccess).where(
            ProjectGroupAccess.project_uuid == project_uuid,
            ProjectGroupAccess.group_uuid == group_uuid,
        )
    )


def remove_space_share(session: Session, space_uuid: str, group_uuid: str) -> None:
    session.execute(
        delete(SpaceGroupShare).where(
            SpaceGroupShare.space_uuid == space_uuid, SpaceGroupShare.group_uuid == group_uuid
        )
    )


def people_in_organization(
    session: Session, organization_uuid: str, user_uuids: Collection[str]
) -> dict[str, User]:
    """Active principals of the organization among `user_uuids`, by uuid."""
    if not user_uuids:
        return {}
    rows = session.scalars(
        select(User).where(
            User.uuid.in_(user_uuids),
            User.organization_uuid == organization_uuid,
            User.is_active.is_(True),
        )
    )
    return {user.uuid: user for user in rows}


# -- project access and space shares ----------------------------------------------


def project_access(
    session: Session, project_uuid: str, group_uuid: str
) -> ProjectGroupAccess | None:
    return session.get(ProjectGroupAccess, (project_uuid, group_uuid))


def project_accesses_of_project(session: Session, project_uuid: str) -> list[ProjectGroupAccess]:
    return list(
        session.scalars(
            select(ProjectGroupAccess)
            .where(ProjectGroupAccess.project_uuid == project_uuid)
            .order_by(ProjectGroupAccess.created_at, ProjectGroupAccess.group_uuid)
        )
    )


def project_accesses_with_groups(
    session: Session, project_uuid: str
) -> list[tuple[ProjectGroupAccess, Group]]:
    """A project's group accesses with their group, by group name."""
    rows = session.execute(
        select(ProjectGroupAccess, Group)
        .join(Group, Group.uuid == ProjectGroupAccess.group_uuid)
        .where(ProjectGroupAccess.project_uuid == project_uuid)
        .order_by(Group.name, Group.uuid)
    )
    return [(access, group) for access, group in rows]


def project_accesses_of_group(
    session: Session, group_uuid: str
) -> list[tuple[ProjectGroupAccess, Project]]:
    rows = session.execute(
        select(ProjectGroupAccess, Project)
        .join(Project, Project.uuid == ProjectGroupAccess.project_uuid)
        .where(ProjectGroupAccess.group_uuid == group_uuid)
    )
    return [(access, project) for access, project in rows]


def space_shares_of_group(
    session: Session, group_uuid: str
) -> list[tuple[SpaceGroupShare, Space, Project]]:
    rows = session.execute(
        select(SpaceGroupShare, Space, Project)
        .join(Space, Space.uuid == SpaceGroupShare.space_uuid)
        .join(Project, Project.uuid == Space.project_uuid)
        .where(SpaceGroupShare.group_uuid == group_uuid)
    )
    return [(share, space, project) for share, space, project in rows]


def space_share(session: Session, space_uuid: str, group_uuid: str) -> SpaceGroupShare | None:
    return session.get(SpaceGroupShare, (space_uuid, group_uuid))
