"""Tenancy: every lookup of a tenant row goes through the principal's organization here.

Rows of another organization are indistinguishable from rows that do not
exist (404), and so are rows the caller may not see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.authz.access import (
    NO_SHARES,
    ProjectTarget,
    SpaceTarget,
    can_see_project,
    can_see_space,
)
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import NotFoundError
from lightkeeper.models import Project, Space, SpaceGroupShare, SpaceShare
from lightkeeper.reads import Read, Reads

M = TypeVar("M")


def in_organization(statement: Select[Any], model: Any, principal: Principal) -> Select[Any]:
    """Filter a query of a tenant table by the principal's organization."""
    return _in_organization(statement, model, principal.organization_uuid)


def _in_organization(statement: Select[Any], model: Any, organization: Any) -> Select[Any]:
    """The tenancy filter: `organization` is an organization's uuid or a bound parameter.

    Tables that carry `organization_uuid` are filtered directly; tables that
    hang off a project are joined to it.
    """
    if hasattr(model, "organization_uuid"):
        return statement.where(model.organization_uuid == organization)
    return statement.join(Project, Project.uuid == model.project_uuid).where(
        Project.organization_uuid == organization
    )


_BY_UUID_IN_ORGANIZATION: dict[type[Any], Select[Any]] = {}


def _by_uuid_in_organization(model: type[Any]) -> Select[Any]:
    """`get_in_organization`'s query for `model`, built once with bound parameters.

    Building a statement costs more than running it from SQLAlchemy's compiled
    cache; every request that names a project or a space runs one of these.
    """
    statement = _BY_UUID_IN_ORGANIZATION.get(model)
    if statement is None:
        statement = _in_organization(select(model), model, bindparam("organization_uuid"))
        statement = statement.where(model.uuid == bindparam("uuid"))
        _BY_UUID_IN_ORGANIZATION[model] = statement
    return statement


def get_in_organization(
    session: Session, model: type[M], uuid: str, principal: Principal, kind: str
) -> M:
    """One row of `model` by primary key, only if it belongs to the principal's organization."""
    row: M | None = session.scalar(
        _by_uuid_in_organization(model),
        {"uuid": uuid, "organization_uuid": principal.organization_uuid},
    )
    if row is None:
        raise NotFoundError(f"{kind} not found")
    return row


class ProjectColumns(Protocol):
    """What access reads of a project: an ORM `Project` or a row of those columns."""

    @property
    def uuid(self) -> str: ...
    @property
    def organization_uuid(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def created_by_user_uuid(self) -> str | None: ...


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
    return project, _visible(principal, project_target(project), project.expires_at)


_PROJECT = Project.__table__.c
_PROJECT_TARGET = select(
    _PROJECT.uuid,
    _PROJECT.organization_uuid,
    _PROJECT.type,
    _PROJECT.created_by_user_uuid,
    _PROJECT.expires_at,
).where(
    _PROJECT.uuid == bindparam("uuid"), _PROJECT.organization_uuid == bindparam("organization_uuid")
)


# A project's access target with its expiry; params `uuid`, `organization_uuid`.
PROJECT_TARGET = Read(_PROJECT_TARGET, tuple)


def visible_project_target(
    session: Session, principal: Principal, project_uuid: str
) -> ProjectTarget:
    """`visible_project` for a caller that needs only the target: one Core row, no ORM `Project`."""
    params = {"uuid": project_uuid, "organization_uuid": principal.organization_uuid}
    rows = PROJECT_TARGET.run(session, params)
    return visible_target(principal, rows[0] if rows else None)


def visible_target(principal: Principal, row: Sequence[Any] | None) -> ProjectTarget:
    """The rules of `visible_project` over a row of the organization's project (None: no such project).

    The row: uuid, organization_uuid, type, created_by_user_uuid, expires_at
    (`PROJECT_TARGET`, or the first columns of a statement that joins the project).
    """
    if row is None:
        raise NotFoundError("Project not found")
    uuid, organization_uuid, type_, created_by, expires_at = row
    return _visible(
        principal, ProjectTarget(uuid, organization_uuid, type_, created_by), expires_at
    )


def _visible(
    principal: Principal, target: ProjectTarget, expires_at: datetime | None
) -> ProjectTarget:
    if not can_see_project(principal, target) or is_expired(expires_at):
        raise NotFoundError("Project not found")
    return target


_SPACES_OF_PROJECT = select(Space).where(Space.project_uuid == bindparam("project_uuid"))
_SPACE = Space.__table__.c
_USER_SHARE = SpaceShare.__table__.c
_GROUP_SHARE = SpaceGroupShare.__table__.c


def _share_rows(user_where: Any, group_where: Any, *, through_spaces: bool) -> Any:
    """One statement for both kinds of share: rows of (kind "user" | "group", space, holder, role)."""
    users = select(
        literal("user").label("kind"),
        _USER_SHARE.space_uuid,
        _USER_SHARE.user_uuid,
        _USER_SHARE.role,
    )
    groups = select(
        literal("group").label("kind"),
        _GROUP_SHARE.space_uuid,
        _GROUP_SHARE.group_uuid,
        _GROUP_SHARE.role,
    )
    if through_spaces:
        users = users.join_from(
            SpaceShare.__table__, Space.__table__, _SPACE.uuid == _USER_SHARE.space_uuid
        )
        groups = groups.join_from(
            SpaceGroupShare.__table__, Space.__table__, _SPACE.uuid == _GROUP_SHARE.space_uuid
        )
    return union_all(users.where(user_where), groups.where(group_where))


# Built once (bound parameters), run on the session's connection: every content request
# reads its space's shares, every space list those of the whole project.
_PROJECT_SHARE_ROWS = _share_rows(
    _SPACE.project_uuid == bindparam("project_uuid"),
    _SPACE.project_uuid == bindparam("project_uuid"),
    through_spaces=True,
)
_SHARE_ROWS_OF = _share_rows(
    _USER_SHARE.space_uuid.in_(bindparam("uuids", expanding=True)),
    _GROUP_SHARE.space_uuid.in_(bindparam("uuids", expanding=True)),
    through_spaces=False,
)

Shares = Mapping[str, Mapping[str, str]]  # space uuid -> (user or group uuid -> space role)


def _shares(rows: Iterable[Any]) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    users: dict[str, dict[str, str]] = {}
    groups: dict[str, dict[str, str]] = {}
    for kind, space_uuid, holder_uuid, role in rows:
        (users if kind == "user" else groups).setdefault(space_uuid, {})[holder_uuid] = role
    return users, groups


PROJECT_SHARES = Read(_PROJECT_SHARE_ROWS, tuple)  # params: `project_uuid`


def project_shares(session: Session, project_uuid: str) -> tuple[Shares, Shares]:
    """Every person's and every group's share of the project's spaces, in one statement."""
    return _shares(PROJECT_SHARES.run(session, {"project_uuid": project_uuid}))


async def read_project_shares(reads: Reads, project_uuid: str) -> tuple[Shares, Shares]:
    """`project_shares` read on the event loop (`lightkeeper.reads`)."""
    return _shares(await reads.run(PROJECT_SHARES, {"project_uuid": project_uuid}))


class SpaceColumns(Protocol):
    """What access reads of a space: an ORM `Space` or a row of those columns."""

    @property
    def uuid(self) -> str: ...
    @property
    def parent_space_uuid(self) -> str | None: ...
    @property
    def is_private(self) -> bool: ...
    @property
    def created_by_user_uuid(self) -> str | None: ...


def targets_of(
    project: ProjectTarget,
    spaces: Iterable[SpaceColumns],
    everything: Mapping[str, SpaceColumns],
    shares: Shares,
    group_shares: Shares,
) -> dict[str, SpaceTarget]:
    """Access targets of `spaces`: each takes its root's privacy, creator and shares.

    `everything`: the project's spaces by uuid, enough to walk up to every root;
    `shares`/`group_shares`: the roots' shares. No I/O: `space_targets` loads
    ORM rows for it, a list may hand it plain rows.
    """
    targets: dict[str, SpaceTarget] = {}
    for space in spaces:
        root = _root(space, everything) if space.parent_space_uuid else space
        # Positional, and no lookup in empty mappings: a list makes one target per row.
        targets[space.uuid] = SpaceTarget(
            space.uuid,
            project,
            root.is_private,
            root.created_by_user_uuid,
            shares.get(root.uuid, NO_SHARES) if shares else NO_SHARES,
            group_shares.get(root.uuid, NO_SHARES) if group_shares else NO_SHARES,
        )
    return targets


def _root(space: SpaceColumns, everything: Mapping[str, SpaceColumns]) -> SpaceColumns:
    """The root above `space` (itself when it is not nested); a broken chain stops where it breaks."""
    root, seen = space, {space.uuid}
    while (
        root.parent_space_uuid
        and root.parent_space_uuid in everything
        and root.parent_space_uuid not in seen
    ):
        seen.add(root.parent_space_uuid)
        root = everything[root.parent_space_uuid]
    return root


def space_targets(
    session: Session,
    project: ProjectColumns,
    spaces: list[Space],
    *,
    every_space: list[Space] | None = None,
) -> dict[str, SpaceTarget]:
    """Access targets for many spaces of one project, in at most two queries (no N+1).

    `every_space`: all the project's spaces when the caller has loaded them
    already (a space list), saving the query that finds roots. Without it, the
    project's spaces are read only when one of `spaces` is nested, and only
    the roots' shares are read.
    """
    everything: dict[str, SpaceColumns] = {
        s.uuid: s for s in (every_space if every_space is not None else spaces)
    }
    if every_space is None and any(s.parent_space_uuid for s in spaces):
        everything = {
            s.uuid: s for s in session.scalars(_SPACES_OF_PROJECT, {"project_uuid": project.uuid})
        }
    shares: Shares
    group_shares: Shares
    if every_space is None:
        by_roots = {"uuids": sorted({_root(space, everything).uuid for space in spaces})}
        shares, group_shares = _shares(session.connection().execute(_SHARE_ROWS_OF, by_roots))
    else:
        shares, group_shares = project_shares(session, project.uuid)
    return targets_of(project_target(project), spaces, everything, shares, group_shares)


def space_target(session: Session, project: ProjectColumns, space: Space) -> SpaceTarget:
    return space_targets(session, project, [space])[space.uuid]


def visible_space(
    session: Session,
    principal: Principal,
    space_uuid: str,
    project_uuid: str | None = None,
    *,
    in_project: ProjectTarget | None = None,
) -> tuple[Space, SpaceTarget]:
    """A space the principal may see (404 otherwise), with its access target.

    `project_uuid`: the space must be in that project. `in_project`: the same, with the
    project's target the caller has already read (the project is not loaded again).
    """
    space = get_in_organization(session, Space, space_uuid, principal, "Space")
    if in_project is not None:
        project_uuid = in_project.uuid
    if project_uuid is not None and space.project_uuid != project_uuid:
        raise NotFoundError("Space not found")
    project: ProjectColumns | None = in_project or session.get(Project, space.project_uuid)
    assert project is not None
    target = space_target(session, project, space)
    if not can_see_space(principal, target):
        raise NotFoundError("Space not found")
    return space, target
