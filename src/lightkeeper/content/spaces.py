"""Spaces: one space's detail, creation, renaming, privacy, moving, sharing, deletion with content.

The space list is `space_list.py`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.principal import Principal
from lightkeeper.authz.access import SpaceTarget, allows, require
from lightkeeper.authz.tenancy import (
    space_target,
    targets_of,
    visible_project,
    visible_project_target,
    visible_space,
)
from lightkeeper.content import repository as repo
from lightkeeper.content.charts import charts_out
from lightkeeper.content.dashboards import dashboards_summaries
from lightkeeper.content.schemas import (
    ChartOut,
    DashboardSummaryOut,
    SpaceCreate,
    SpaceDetail,
    SpaceGroupAccess,
    SpaceOut,
    SpaceShareIn,
    SpaceUpdate,
)
from lightkeeper.content.shared import (
    People,
    ProjectSpaces,
    insert_with_slug,
    load_project_spaces,
    people,
    space_access,
)
from lightkeeper.kit.errors import ForbiddenError, NotFoundError, ParameterError
from lightkeeper.models import Project, Space, SpaceShare

NESTED_PRIVACY = (
    "A nested space takes its root space's access: change whether the root space is private instead"
)
NESTED_SHARES = "A nested space takes its root space's access: share the root space instead"


def _visible_space(
    session: Session, principal: Principal, project_uuid: str, space_uuid: str
) -> tuple[Space, SpaceTarget]:
    """The project first: a space shared with someone who cannot see its project is still 404."""
    visible_project(session, principal, project_uuid)
    return visible_space(session, principal, space_uuid, project_uuid)


def _target(space: Space) -> Target:
    return Target(TargetType.SPACE, space.uuid, space.name)


def _state(space: Space, target: SpaceTarget) -> dict[str, Any]:
    return {
        "name": space.name,
        "isPrivate": target.is_private,
        "parentSpaceUuid": space.parent_space_uuid,
    }


def _groups_access(target: SpaceTarget, names: dict[str, str]) -> list[SpaceGroupAccess]:
    access = [
        SpaceGroupAccess(group_uuid=uuid, group_name=names[uuid], space_role=role)
        for uuid, role in target.group_shares.items()
        if uuid in names
    ]
    return sorted(access, key=lambda a: (a.group_name, a.group_uuid))


def _group_names(session: Session, targets: list[SpaceTarget]) -> dict[str, str]:
    return repo.group_names(session, {uuid for t in targets for uuid in t.group_shares})


def _people_of(pairs: list[tuple[Space, SpaceTarget]]) -> set[str | None]:
    wanted: set[str | None] = set()
    for space, target in pairs:
        wanted |= {space.created_by_user_uuid, target.created_by_user_uuid, *target.shares}
    return wanted


def _out(space: Space, target: SpaceTarget, found: People, group_names: dict[str, str]) -> SpaceOut:
    return SpaceOut(
        uuid=space.uuid,
        name=space.name,
        slug=space.slug,
        is_private=target.is_private,
        parent_space_uuid=space.parent_space_uuid,
        project_uuid=space.project_uuid,
        access=space_access(target, found),
        groups_access=_groups_access(target, group_names),
        created_at=space.created_at,
        created_by=found.ref(space.created_by_user_uuid),
    )


def space_out(session: Session, space: Space, target: SpaceTarget) -> SpaceOut:
    found = people(session, _people_of([(space, target)]))
    return _out(space, target, found, _group_names(session, [target]))


def space_detail(
    session: Session, principal: Principal, space: Space, target: SpaceTarget, *, new: bool = False
) -> SpaceDetail:
    """Lightdash's `Space`: the space with its access (emails included), and the charts and
    dashboards in it the caller may view (`new`: just created, so none, and nothing to read)."""
    found = people(session, _people_of([(space, target)]))
    base = _out(space, target, found, _group_names(session, [target]))
    queries: list[ChartOut] = []
    dashboards: list[DashboardSummaryOut] = []
    if not new:
        project = session.get(Project, space.project_uuid)
        assert project is not None  # foreign key
        # Everything listed here is in this one space: its target is all the access needed
        # (the project's other spaces are not loaded).
        ps = ProjectSpaces(project, target.project, {space.uuid: space}, {space.uuid: target})
        charts = [
            c
            for c in repo.charts_in_spaces(session, [space.uuid])
            if allows(principal, "view", "SavedChart", project=ps.target, space=target)
        ]
        in_space = [
            d
            for d in repo.dashboards_in_spaces(session, [space.uuid])
            if allows(principal, "view", "Dashboard", project=ps.target, space=target)
        ]
        queries = charts_out(session, charts, ps)
        dashboards = dashboards_summaries(session, in_space, ps)
    return SpaceDetail(
        **{name: getattr(base, name) for name in SpaceOut.model_fields},
        organization_uuid=target.project.organization_uuid,
        queries=queries,
        dashboards=dashboards,
    )


def get_space(
    session: Session, principal: Principal, project_uuid: str, space_uuid: str
) -> SpaceDetail:
    """One space. Rules: invisible or in another project/organization → 404; `view:Space`."""
    space, target = _visible_space(session, principal, project_uuid, space_uuid)
    require(allows(principal, "view", "Space", project=target.project, space=target))
    return space_detail(session, principal, space, target)


def create_space(
    session: Session, principal: Principal, project_uuid: str, body: SpaceCreate
) -> SpaceDetail:
    """Create a space, at the root or nested in a visible parent.

    Rules: unqualified `create:Space` or `manage:Space` on the project; a
    nested space takes its root's access, so asking for another privacy than
    the root's is a 400, and so are shares (`access`) on it; shares on a
    root need manage rights on the new space and users of the organization
    (else 404); the creator of a private space is its admin (the access
    decision treats the creator so); audited `space.created`.
    """
    project_t = visible_project_target(session, principal, project_uuid)
    require(allows(principal, "create", "Space", project=project_t))
    is_private = bool(body.is_private)
    if body.parent_space_uuid is not None:
        _parent, parent_t = visible_space(
            session, principal, body.parent_space_uuid, in_project=project_t
        )
        require(allows(principal, "create", "Space", project=project_t, space=parent_t))
        if body.is_private is not None and body.is_private != parent_t.is_private:
            raise ParameterError(NESTED_PRIVACY, {"fields": {"isPrivate": NESTED_PRIVACY}})
        if body.access:
            raise ParameterError(NESTED_SHARES, {"fields": {"access": NESTED_SHARES}})
        # Stored for reference only: access always follows the root.
        is_private = parent_t.is_private
    space = Space(
        project_uuid=project_t.uuid,
        parent_space_uuid=body.parent_space_uuid,
        name=body.name,
        is_private=is_private,
        created_by_user_uuid=principal.user_uuid,
    )
    insert_with_slug(session, space, body.name)
    # A new space has no shares of its own: a root's access is its privacy and creator, a
    # nested one's is its root's, which the parent's target already is. No query needed.
    if body.parent_space_uuid is None:
        target = targets_of(project_t, [space], {space.uuid: space}, {}, {})[space.uuid]
    else:
        target = parent_t._replace(uuid=space.uuid)
    if body.access:
        require(allows(principal, "manage", "Space", project=project_t, space=target))
        for grant in body.access:
            user = repo.user_in_organization(session, principal.organization_uuid, grant.user_uuid)
            if user is None:
                raise NotFoundError("User not found")
            existing = repo.share(session, space.uuid, user.uuid)
            if existing is None:
                session.add(SpaceShare(space_uuid=space.uuid, user_uuid=user.uuid, role=grant.role))
            else:
                existing.role = grant.role
        session.flush()
        target = space_target(session, project_t, space)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.SPACE_CREATED,
        target=_target(space),
        details={
            "projectUuid": project_t.uuid,
            "slug": space.slug,
            **_state(space, target),
            "access": dict(target.shares),
        },
    )
    return space_detail(session, principal, space, target, new=True)


def _descendants(ps: ProjectSpaces, space_uuid: str) -> list[str]:
    """Every space nested (at any depth) under `space_uuid`."""
    children: dict[str, list[str]] = {}
    for space in ps.spaces.values():
        if space.parent_space_uuid:
            children.setdefault(space.parent_space_uuid, []).append(space.uuid)
    found: list[str] = []
    frontier = [space_uuid]
    while frontier:
        nxt = [c for uuid in frontier for c in children.get(uuid, []) if c not in found]
        found.extend(nxt)
        frontier = nxt
    return found


def update_space(
    session: Session, principal: Principal, project_uuid: str, space_uuid: str, body: SpaceUpdate
) -> SpaceDetail:
    """Rename a space, change a root space's privacy, or move it under another parent.

    Rules: `update:Space` (or `manage:Space`, qualifiers included) on the
    space; privacy belongs to the root (400 on a nested space); moving needs
    manage rights on the space and on the new parent, and never into itself
    or its own nested spaces (400); audited `space.updated` with before/after.
    """
    space, target = _visible_space(session, principal, project_uuid, space_uuid)
    project = session.get(Project, space.project_uuid)
    assert project is not None  # foreign key
    require(allows(principal, "update", "Space", project=target.project, space=target))
    before = _state(space, target)
    fields = body.model_fields_set
    if body.name is not None:
        space.name = body.name
    if "is_private" in fields and body.is_private is not None:
        if space.parent_space_uuid is None:
            space.is_private = body.is_private
        elif body.is_private != target.is_private:
            raise ParameterError(NESTED_PRIVACY, {"fields": {"isPrivate": NESTED_PRIVACY}})
    if "parent_space_uuid" in fields and body.parent_space_uuid != space.parent_space_uuid:
        _move(session, principal, project, space, target, body.parent_space_uuid)
    session.flush()
    target = space_target(session, project, space)
    after = _state(space, target)
    if after != before:
        record(
            session,
            organization_uuid=principal.organization_uuid,
            actor=principal,
            action=AuditAction.SPACE_UPDATED,
            target=_target(space),
            details=changes(before, after),
        )
    return space_detail(session, principal, space, target)


def _move(
    session: Session,
    principal: Principal,
    project: Project,
    space: Space,
    target: SpaceTarget,
    new_parent_uuid: str | None,
) -> None:
    require(allows(principal, "manage", "Space", project=target.project, space=target))
    if new_parent_uuid is None:
        # Becoming a root: keep the privacy it had through its old root.
        space.is_private = target.is_private
    else:
        _parent, parent_t = visible_space(session, principal, new_parent_uuid, project.uuid)
        ps = load_project_spaces(session, project)
        if new_parent_uuid == space.uuid or new_parent_uuid in _descendants(ps, space.uuid):
            message = "A space cannot be moved into itself or into one of its nested spaces"
            raise ParameterError(message, {"fields": {"parentSpaceUuid": message}})
        require(allows(principal, "manage", "Space", project=target.project, space=parent_t))
    space.parent_space_uuid = new_parent_uuid


def delete_space(
    session: Session, principal: Principal, project_uuid: str, space_uuid: str
) -> None:
    """Delete a space with everything in it: nested spaces, charts, dashboards.

    Rules: the caller must be allowed to delete the space, every nested
    space, every chart and every dashboard in them; otherwise 403 naming the
    first obstacle, and nothing is deleted. Audited `space.deleted` with the
    ids of everything removed.
    """
    project_t = visible_project_target(session, principal, project_uuid)
    space, target = visible_space(session, principal, space_uuid, in_project=project_t)
    require(allows(principal, "delete", "Space", project=project_t, space=target))
    # Nested spaces take the access of their root, which is this space's root too.
    nested = repo.nested_spaces(session, space.uuid)
    for nested_uuid, name in nested:
        nested_target = target._replace(uuid=nested_uuid)
        if not allows(principal, "delete", "Space", project=project_t, space=nested_target):
            raise ForbiddenError(_obstacle("space", name))
    space_uuids = [space.uuid, *(uuid for uuid, _name in nested)]
    content = repo.content_in_spaces(session, space_uuids)
    for kind, _uuid, name, in_space in content:
        subject = "SavedChart" if kind == "chart" else "Dashboard"
        if not allows(
            principal, "delete", subject, project=project_t, space=target._replace(uuid=in_space)
        ):
            raise ForbiddenError(_obstacle(kind, name))
    chart_uuids = [uuid for kind, uuid, _name, _space in content if kind == "chart"]
    dashboard_uuids = [uuid for kind, uuid, _name, _space in content if kind == "dashboard"]
    details = {
        "projectUuid": project_t.uuid,
        "name": space.name,
        "deletedSpaces": space_uuids,
        "deletedCharts": chart_uuids,
        "deletedDashboards": dashboard_uuids,
    }
    audit_target = _target(space)
    repo.delete_everything(
        session,
        space_uuids=space_uuids,
        chart_uuids=chart_uuids,
        dashboard_uuids=dashboard_uuids,
    )
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.SPACE_DELETED,
        target=audit_target,
        details=details,
    )


def _obstacle(kind: str, name: str) -> str:
    return (
        f"You do not have permission to delete everything in this space: "
        f"you may not delete the {kind} {name!r}. Nothing was deleted."
    )


def shareable_space(
    session: Session, principal: Principal, project_uuid: str, space_uuid: str
) -> tuple[Space, SpaceTarget]:
    """A root space the principal may share: visible (404), `manage:Space*` on it (403), not
    nested (400: nested spaces take their root's access)."""
    space, target = _visible_space(session, principal, project_uuid, space_uuid)
    require(allows(principal, "manage", "Space", project=target.project, space=target))
    if space.parent_space_uuid is not None:
        raise ParameterError(NESTED_SHARES)
    return space, target


def share_space(
    session: Session, principal: Principal, project_uuid: str, space_uuid: str, body: SpaceShareIn
) -> SpaceDetail:
    """Give a person or service account of the organization a role in a root space.

    Rules: `manage:Space` (qualifiers included) on the space; nested spaces
    take their root's access (400); the user must belong to the caller's
    organization (else 404); audited `space.shared` with the previous role.
    """
    space, _target_before = shareable_space(session, principal, project_uuid, space_uuid)
    user = repo.user_in_organization(session, principal.organization_uuid, body.user_uuid)
    if user is None:
        raise NotFoundError("User not found")
    existing = repo.share(session, space.uuid, user.uuid)
    before_role = existing.role if existing else None
    if existing is None:
        session.add(SpaceShare(space_uuid=space.uuid, user_uuid=user.uuid, role=body.space_role))
    else:
        existing.role = body.space_role
    session.flush()
    project = session.get(Project, space.project_uuid)
    assert project is not None  # foreign key
    target = space_target(session, project, space)
    if before_role != body.space_role:
        record(
            session,
            organization_uuid=principal.organization_uuid,
            actor=principal,
            action=AuditAction.SPACE_SHARED,
            target=_target(space),
            details={
                "userUuid": user.uuid,
                **changes({"role": before_role}, {"role": body.space_role}),
            },
        )
    return space_detail(session, principal, space, target)


def unshare_space(
    session: Session, principal: Principal, project_uuid: str, space_uuid: str, user_uuid: str
) -> None:
    """Take back a principal's own role in a root space.

    Rules: as for sharing; a principal without a share of their own is a
    404, and the creator of a private space stays its admin (400); audited
    `space.unshared`.
    """
    space, target = shareable_space(session, principal, project_uuid, space_uuid)
    existing = repo.share(session, space.uuid, user_uuid)
    if existing is None:
        if target.is_private and target.created_by_user_uuid == user_uuid:
            raise ParameterError("The creator of a private space is always its admin")
        raise NotFoundError("This user has no access of their own to the space")
    role = existing.role
    session.delete(existing)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.SPACE_UNSHARED,
        target=_target(space),
        details={"userUuid": user_uuid, "before": {"role": role}, "after": {"role": None}},
    )
