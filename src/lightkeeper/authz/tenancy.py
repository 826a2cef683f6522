"""Tenancy: every lookup of a tenant row goes through the principal's organization here.

Rows of another organization are indistinguishable from rows that do not
exist (404), and so are rows the caller may not see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.authz.access import ProjectTarget, SpaceTarget, can_see_project, can_see_space
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import NotFoundError
from lightkeeper.models import Project, Space, SpaceShare

M = TypeVar("M")


def in_organization(statement: Select[Any], model: Any, principal: Principal) -> Select[Any]:
    """Filter a query of a tenant table by the principal's organization.

    Tables that carry `organization_uuid` are filtered directly; tables that
    hang off a project are joined to it.
    """
    if hasattr(model, "organization_uuid"):
        return statement.where(model.organization_uuid == principal.organization_uuid)
    return statement.join(Project, Project.uuid == model.project_uuid).where(
        Project.organization_uuid == principal.organization_uuid
    )


def get_in_organization(
    session: Session, model: type[M], uuid: str, principal: Principal, kind: str
) -> M:
    """One row of `model` by primary key, only if it belongs to the principal's organization."""
    statement = in_organization(select(model), model, principal)
    row: M | None = session.scalar(statement.where(model.uuid == uuid))  # type: ignore[attr-defined]
    if row is None:
        raise NotFoundError(f"{kind} not found")
    return row


class ProjectColumns(Protocol):
    """What access reads of a project: an ORM `Project` or a row of those columns."""

    uuid: str
    organization_uuid: str
    type: str
    created_by_user_uuid: str | None


def project_target(project: ProjectColumns) -> ProjectTarget:
    return ProjectTarget(
        uuid=project.uuid,
        organization_uuid=project.organization_uuid,
        type=project.type,
        created_by_user_uuid=project.created_by_user_uuid,
    )


def is_expired(expires_at: datetime | None) -> bool:
    """Whether a preview with this expiry has expired (None: never)."""
    return expires_at is not None and expires_at <= utcnow()


def visible_project(
    session: Session, principal: Principal, project_uuid: str
) -> tuple[Project, ProjectTarget]:
    """The project if the principal may see it; 404 otherwise (other orgs included).

    A preview past its expiry is gone for everyone (404) until it is swept away.
    """
    project = get_in_organization(session, Project, project_uuid, principal, "Project")
    target = project_target(project)
    if not can_see_project(principal, target) or is_expired(project.expires_at):
        raise NotFoundError("Project not found")
    return project, target


def space_targets(
    session: Session,
    project: Project,
    spaces: list[Space],
    *,
    every_space: list[Space] | None = None,
) -> dict[str, SpaceTarget]:
    """Access targets for many spaces of one project, in two queries (no N+1).

    `every_space`: all the project's spaces when the caller has loaded them
    already (a space list), saving the query that finds roots.
    """
    if every_space is None:
        every_space = list(session.scalars(select(Space).where(Space.project_uuid == project.uuid)))
    everything = {s.uuid: s for s in every_space}
    shares: dict[str, dict[str, str]] = {}
    for share in session.scalars(
        select(SpaceShare)
        .join(Space, Space.uuid == SpaceShare.space_uuid)
        .where(Space.project_uuid == project.uuid)
    ):
        shares.setdefault(share.space_uuid, {})[share.user_uuid] = share.role
    target_project = project_target(project)
    result: dict[str, SpaceTarget] = {}
    for space in spaces:
        root, seen = space, {space.uuid}
        while (
            root.parent_space_uuid
            and root.parent_space_uuid in everything
            and root.parent_space_uuid not in seen
        ):
            seen.add(root.parent_space_uuid)
            root = everything[root.parent_space_uuid]
        result[space.uuid] = SpaceTarget(
            uuid=space.uuid,
            project=target_project,
            is_private=root.is_private,
            created_by_user_uuid=root.created_by_user_uuid,
            shares=shares.get(root.uuid, {}),
        )
    return result


def space_target(session: Session, project: Project, space: Space) -> SpaceTarget:
    return space_targets(session, project, [space])[space.uuid]


def visible_space(
    session: Session, principal: Principal, space_uuid: str, project_uuid: str | None = None
) -> tuple[Space, SpaceTarget]:
    """A space the principal may see (404 otherwise), with its access target."""
    space = get_in_organization(session, Space, space_uuid, principal, "Space")
    if project_uuid is not None and space.project_uuid != project_uuid:
        raise NotFoundError("Space not found")
    project = session.get(Project, space.project_uuid)
    assert project is not None
    target = space_target(session, project, space)
    if not can_see_space(principal, target):
        raise NotFoundError("Space not found")
    return space, target
