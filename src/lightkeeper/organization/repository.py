"""Every query of the organization domain: the organization, its member list, its projects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from lightkeeper.models import Group, GroupMembership, Organization, Project, User
from lightkeeper.reads import Read, wire_time

# uuid, organization, email, names, role, is_active, created and updated
MemberRow = tuple[str, str, str | None, str, str, str, bool, datetime, datetime]
MEMBER_COLUMNS = (
    User.uuid,
    User.organization_uuid,
    User.email,
    User.first_name,
    User.last_name,
    User.role,
    User.is_active,
    User.created_at,
    User.updated_at,
)


def organization(session: Session, organization_uuid: str) -> Organization | None:
    return session.get(Organization, organization_uuid)


def other_organization_named(
    session: Session, name: str, organization_uuid: str
) -> Organization | None:
    return session.scalar(
        select(Organization).where(
            func.lower(Organization.name) == name.lower(), Organization.uuid != organization_uuid
        )
    )


def _people(organization_uuid: str, search: str | None) -> list[object]:
    """Members are people: service-account principals are users too, but never listed."""
    conditions: list[object] = [
        User.organization_uuid == organization_uuid,
        User.is_service_account.is_(False),
        User.email.is_not(None),  # removed members keep their row (attribution) but no email
    ]
    if search:
        pattern = f"%{search.lower()}%"
        conditions.append(
            or_(
                func.lower(User.email).like(pattern),
                func.lower(User.first_name).like(pattern),
                func.lower(User.last_name).like(pattern),
            )
        )
    return conditions


def member_rows(
    session: Session,
    organization_uuid: str,
    *,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Sequence[MemberRow]:
    """Member columns only (no ORM objects): the list stays fast at 10,000 members."""
    statement = (
        select(*MEMBER_COLUMNS)
        .where(*_people(organization_uuid, search))  # type: ignore[arg-type]
        .order_by(User.first_name, User.last_name, User.email, User.uuid)
        .offset(offset)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return session.execute(statement).tuples().all()


def groups_of_members(
    session: Session, user_uuids: Sequence[str]
) -> dict[str, list[tuple[str, str]]]:
    """(uuid, name) of each member's groups, by name, in one query."""
    if not user_uuids:
        return {}
    rows = session.execute(
        select(GroupMembership.user_uuid, Group.uuid, Group.name)
        .join(Group, Group.uuid == GroupMembership.group_uuid)
        .where(GroupMembership.user_uuid.in_(user_uuids))
        .order_by(Group.name, Group.uuid)
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for user_uuid, group_uuid, name in rows.tuples():
        found.setdefault(user_uuid, []).append((group_uuid, name))
    return found


def member_row(session: Session, organization_uuid: str, user_uuid: str) -> MemberRow | None:
    """One member's columns (None: no such person in the organization)."""
    row = session.execute(
        select(*MEMBER_COLUMNS).where(*_people(organization_uuid, None), User.uuid == user_uuid)  # type: ignore[arg-type]
    ).first()
    return None if row is None else row.tuple()


def member_count(session: Session, organization_uuid: str, *, search: str | None = None) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(User).where(*_people(organization_uuid, search))  # type: ignore[arg-type]
        )
        or 0
    )


class ProjectListRow(NamedTuple):
    """What the project list shows and its access check reads: a plain row, not an ORM object.

    A named tuple, not SQLAlchemy's `Row`: reading a field of a `Row` by name costs
    ten times as much, and a list reads seven fields of every row.
    """

    uuid: str
    organization_uuid: str
    name: str
    type: str
    upstream_project_uuid: str | None
    created_by_user_uuid: str | None
    created_at: str  # as the API writes it (`reads.wire_time`)


_PROJECTS = Project.__table__.c
# Built once, in Core (table columns, a bound parameter): executed on the session's
# connection it skips the ORM's execution path, and its compiled form is cached.
# `created_at` is read as its wire text (`reads.wire_time`), which the list writes as is.
_PROJECT_LIST = (
    select(
        _PROJECTS.uuid,
        _PROJECTS.organization_uuid,
        _PROJECTS.name,
        _PROJECTS.type,
        _PROJECTS.upstream_project_uuid,
        _PROJECTS.created_by_user_uuid,
        wire_time(_PROJECTS.created_at),
    )
    .where(
        _PROJECTS.organization_uuid == bindparam("organization_uuid"),
        or_(_PROJECTS.expires_at.is_(None), _PROJECTS.expires_at > bindparam("now")),
    )
    .order_by(_PROJECTS.name, _PROJECTS.created_at, _PROJECTS.uuid)
)


# The organization's projects, expired previews left out; params `organization_uuid`, `now`.
# Read in a session (the web pages) or on the event loop (the API list).
PROJECT_LIST = Read(_PROJECT_LIST, ProjectListRow._make)


def project_list(session: Session, organization_uuid: str, now: datetime) -> list[ProjectListRow]:
    """The organization's projects, expired previews left out."""
    return PROJECT_LIST.run(session, {"organization_uuid": organization_uuid, "now": now})


def add_project(session: Session, project: Project) -> Project:
    session.add(project)
    session.flush()
    return project


def delete_project(session: Session, project: Project) -> None:
    """Delete a project with everything in it (the schema cascades; previews keep existing)."""
    session.execute(delete(Project).where(Project.uuid == project.uuid))
