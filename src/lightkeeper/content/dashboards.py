"""Dashboards: list, create, read, change (with versions), move, delete, history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.principal import Principal
from lightkeeper.authz.access import SpaceTarget, allows, require
from lightkeeper.authz.tenancy import space_targets, visible_project, visible_space
from lightkeeper.content import repository as repo
from lightkeeper.content.schemas import (
    DashboardCreate,
    DashboardMove,
    DashboardOut,
    DashboardSummaryOut,
    DashboardUpdate,
    DashboardVersionOut,
    TileIn,
    TileOut,
)
from lightkeeper.content.shared import (
    People,
    ProjectSpaces,
    access_people,
    authored,
    insert_with_slug,
    load_project_spaces,
    newest_first,
    people,
    public_snapshot,
    space_access,
    visible_content,
)
from lightkeeper.identity.attribution import ref, user_refs
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import NotFoundError, ParameterError
from lightkeeper.models import Dashboard, DashboardVersion, Project, Space, new_uuid

KIND = "Dashboard"


def snapshot(dashboard: Dashboard) -> dict[str, Any]:
    return {
        "name": dashboard.name,
        "description": dashboard.description,
        "spaceUuid": dashboard.space_uuid,
        "tiles": dashboard.tiles,
        "filters": dashboard.filters,
    }


def write_version(session: Session, dashboard: Dashboard, principal: Principal) -> None:
    """Stamp the dashboard as changed now by the principal, and keep the state as a version."""
    now = utcnow()
    dashboard.updated_at = now
    dashboard.updated_by_user_uuid = principal.user_uuid
    sequence = repo.dashboard_version_count(session, dashboard.uuid) + 1
    session.add(
        DashboardVersion(
            dashboard_uuid=dashboard.uuid,
            snapshot={**snapshot(dashboard), "_seq": sequence},
            created_at=now,
            updated_by_user_uuid=principal.user_uuid,
        )
    )


def _chart_uuids(tiles: Iterable[Any]) -> set[str]:
    return {
        str(properties["savedChartUuid"])
        for properties in (
            t.properties if isinstance(t, TileIn) else t.get("properties") or {} for t in tiles
        )
        if properties.get("savedChartUuid") is not None
    }


def check_tiles(
    session: Session,
    principal: Principal,
    project: Project,
    tiles: Sequence[TileIn],
    kept: Iterable[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Tiles as stored: each gets a uuid if missing; chart tiles must name charts of this project
    that the caller may view.

    A tile naming a chart of another project, no chart at all, or a chart the
    caller may not view is the same 400 naming the chart (a hidden chart is
    not there for the caller), so the client knows which tile to fix. A chart
    the dashboard already shows (`kept`, its current tiles) may stay on it.
    """
    stored: list[dict[str, Any]] = []
    seen: set[str] = set()
    ps = load_project_spaces(session, project)
    already = _chart_uuids(kept)
    known = {
        uuid
        for uuid, chart in repo.charts_by_uuid(session, project.uuid, _chart_uuids(tiles)).items()
        if uuid in already or ps.viewable(principal, chart)
    }
    for index, tile in enumerate(tiles):
        uuid = tile.uuid or new_uuid()
        if uuid in seen:
            message = f"Tile uuid {uuid} is used by more than one tile: tile uuids must be unique"
            raise ParameterError(message, {"fields": {f"tiles.{index}.uuid": message}})
        seen.add(uuid)
        chart_uuid = tile.properties.get("savedChartUuid")
        if chart_uuid is not None and str(chart_uuid) not in known:
            message = (
                f"Tile {index + 1} references chart {chart_uuid}, which is not a saved chart "
                "of this project"
            )
            field = f"tiles.{index}.properties.savedChartUuid"
            raise ParameterError(message, {"fields": {field: message}})
        properties = dict(tile.properties)
        if properties.get("savedChartUuid") is None:
            # No chart is the same as an absent key: keeps as-code round trips exact.
            properties.pop("savedChartUuid", None)
        else:
            properties["savedChartUuid"] = str(chart_uuid)
        stored.append(
            {
                "uuid": uuid,
                "type": tile.type,
                "x": tile.x,
                "y": tile.y,
                "h": tile.h,
                "w": tile.w,
                "properties": properties,
            }
        )
    return stored


# What each tile type's properties must hold in Lightdash's types (neutral values if absent).
_TILE_PROPERTIES: dict[str, dict[str, Any]] = {
    "saved_chart": {"savedChartUuid": None},
    "markdown": {"title": "", "content": ""},
    "loom": {"title": "", "url": ""},
    "sql_chart": {"savedSqlUuid": None, "chartName": ""},
    "semantic_viewer_chart": {"savedSemanticViewerChartUuid": None, "chartName": ""},
}
FILTER_GROUPS = ("dimensions", "metrics", "tableCalculations")


def _tile_out(tile: dict[str, Any]) -> TileOut:
    kind = str(tile.get("type") or "")
    properties = {**_TILE_PROPERTIES.get(kind, {}), **dict(tile.get("properties") or {})}
    tab = tile.get("tabUuid")
    return TileOut(
        uuid=str(tile.get("uuid") or ""),
        type=kind,
        x=int(tile.get("x") or 0),
        y=int(tile.get("y") or 0),
        h=int(tile.get("h") or 0),
        w=int(tile.get("w") or 0),
        properties=properties,
        tab_uuid=str(tab) if tab else None,
    )


def lightdash_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """Lightdash's `DashboardFilters`: the three lists always present."""
    return {**{group: [] for group in FILTER_GROUPS}, **filters}


def _tile_types(dashboard: Dashboard) -> list[str]:
    return list(dict.fromkeys(str(t.get("type")) for t in dashboard.tiles or [] if t.get("type")))


def _audit_target(dashboard: Dashboard) -> Target:
    return Target(TargetType.DASHBOARD, dashboard.uuid, dashboard.name)


def _summary(dashboard: Dashboard, space: Space, organization_uuid: str, found: People) -> Any:
    return {
        "uuid": dashboard.uuid,
        "project_uuid": dashboard.project_uuid,
        "organization_uuid": organization_uuid,
        "name": dashboard.name,
        "description": dashboard.description,
        "space_uuid": dashboard.space_uuid,
        "space_name": space.name,
        "slug": dashboard.slug,
        "tile_types": _tile_types(dashboard),
        "created_at": dashboard.created_at,
        "created_by": found.ref(dashboard.created_by_user_uuid),
        "updated_at": dashboard.updated_at,
        "updated_by_user": found.ref(dashboard.updated_by_user_uuid),
    }


def dashboard_out(
    session: Session, dashboard: Dashboard, space: Space, target: SpaceTarget | None = None
) -> DashboardOut:
    """Lightdash's `Dashboard`."""
    if target is None:
        project = session.get(Project, dashboard.project_uuid)
        assert project is not None  # foreign key
        target = space_targets(session, project, [space])[space.uuid]
    found = people(
        session,
        {dashboard.created_by_user_uuid, dashboard.updated_by_user_uuid} | access_people(target),
    )
    return DashboardOut(
        **_summary(dashboard, space, target.project.organization_uuid, found),
        tiles=[_tile_out(t) for t in dashboard.tiles],
        filters=lightdash_filters(dashboard.filters or {}),
        is_private=target.is_private,
        access=space_access(target, found),
        dashboard_version_id=repo.dashboard_version_count(session, dashboard.uuid),
    )


def dashboards_summaries(
    session: Session, dashboards: list[Dashboard], ps: ProjectSpaces
) -> list[DashboardSummaryOut]:
    """Lightdash's `DashboardBasicDetailsWithTileTypes` of many dashboards of one project."""
    found = people(
        session, {u for d in dashboards for u in (d.created_by_user_uuid, d.updated_by_user_uuid)}
    )
    organization_uuid = ps.project.organization_uuid
    return [
        DashboardSummaryOut(**_summary(d, ps.spaces[d.space_uuid], organization_uuid, found))
        for d in dashboards
    ]


def list_dashboards(
    session: Session, principal: Principal, project_uuid: str
) -> list[DashboardSummaryOut]:
    """The project's dashboards the caller may view.

    Rules: project visible (else 404); listed when the space is visible and
    `view:Dashboard` holds there. Constant number of queries.
    """
    project, _ = visible_project(session, principal, project_uuid)
    ps = load_project_spaces(session, project)
    dashboards = [
        d
        for d in repo.project_dashboards(session, project.uuid)
        if allows(principal, "view", "Dashboard", project=ps.target, space=ps.targets[d.space_uuid])
    ]
    return dashboards_summaries(session, dashboards, ps)


def create_dashboard(
    session: Session, principal: Principal, project_uuid: str, body: DashboardCreate
) -> DashboardOut:
    """Create a dashboard in a space of the project.

    Rules: project and space visible (else 404); `create:Dashboard` in that
    space (`@space`: caller is space editor or admin); tiles get uuids and
    may only reference charts of this project (400 naming the chart); slug
    from the name, unique in the project; first version written; audited
    `dashboard.created`.
    """
    project, project_t = visible_project(session, principal, project_uuid)
    if body.space_uuid is None:
        space, space_t = _default_space(session, principal, project)
    else:
        space, space_t = visible_space(session, principal, body.space_uuid, project.uuid)
    require(allows(principal, "create", "Dashboard", project=project_t, space=space_t))
    tiles = check_tiles(session, principal, project, body.tiles)
    dashboard = authored(
        Dashboard,
        principal,
        project_uuid=project.uuid,
        space_uuid=space.uuid,
        name=body.name,
        description=body.description,
        tiles=tiles,
        filters=body.filters,
    )
    insert_with_slug(session, dashboard, body.name)
    write_version(session, dashboard, principal)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.DASHBOARD_CREATED,
        target=_audit_target(dashboard),
        details={"projectUuid": project.uuid, "slug": dashboard.slug, "after": snapshot(dashboard)},
    )
    return dashboard_out(session, dashboard, space, space_t)


NO_SPACE = (
    "spaceUuid is required: this project has no space you may create dashboards in; "
    "create a space first"
)


def _default_space(
    session: Session, principal: Principal, project: Project
) -> tuple[Space, SpaceTarget]:
    """Where a dashboard created without `spaceUuid` goes (as Lightdash): the first space, by
    creation, the caller may create dashboards in; none is a 400."""
    ps = load_project_spaces(session, project)
    for space in sorted(ps.spaces.values(), key=lambda s: (s.created_at, s.uuid)):
        target = ps.targets[space.uuid]
        if allows(principal, "create", "Dashboard", project=ps.target, space=target):
            return space, target
    raise ParameterError(NO_SPACE, {"fields": {"spaceUuid": NO_SPACE}})


def get_dashboard(session: Session, principal: Principal, dashboard_uuid: str) -> DashboardOut:
    """One dashboard. Rules: its space must be visible (else 404); `view:Dashboard` there."""
    dashboard, where = visible_content(session, principal, Dashboard, dashboard_uuid, KIND)
    require(
        allows(
            principal, "view", "Dashboard", project=where.project_target, space=where.space_target
        )
    )
    return dashboard_out(session, dashboard, where.space, where.space_target)


def update_dashboard(
    session: Session, principal: Principal, dashboard_uuid: str, body: DashboardUpdate
) -> DashboardOut:
    """Change a dashboard; every effective change is a new version.

    Rules: `update:Dashboard` in its space; moving needs `manage:Dashboard`
    in both spaces; tiles are checked as on creation; a request that changes
    nothing writes nothing; audited `dashboard.updated` with before/after.
    """
    dashboard, where = visible_content(session, principal, Dashboard, dashboard_uuid, KIND)
    require(
        allows(
            principal, "update", "Dashboard", project=where.project_target, space=where.space_target
        )
    )
    before = snapshot(dashboard)
    space = where.space
    if body.space_uuid is not None and body.space_uuid != dashboard.space_uuid:
        space, space_t = visible_space(session, principal, body.space_uuid, dashboard.project_uuid)
        for target in (where.space_target, space_t):
            require(
                allows(principal, "manage", "Dashboard", project=where.project_target, space=target)
            )
        dashboard.space_uuid = space.uuid
    if body.name is not None:
        dashboard.name = body.name
    if "description" in body.model_fields_set:
        dashboard.description = body.description
    if body.tiles is not None:
        dashboard.tiles = check_tiles(
            session, principal, where.project, body.tiles, kept=dashboard.tiles or []
        )
    if body.filters is not None:
        dashboard.filters = body.filters
    after = snapshot(dashboard)
    if after != before:
        write_version(session, dashboard, principal)
        record(
            session,
            organization_uuid=principal.organization_uuid,
            actor=principal,
            action=AuditAction.DASHBOARD_UPDATED,
            target=_audit_target(dashboard),
            details=changes(before, after),
        )
    session.flush()
    return dashboard_out(session, dashboard, space)


def update_dashboards(
    session: Session, principal: Principal, project_uuid: str, items: list[DashboardMove]
) -> list[DashboardOut]:
    """Lightdash's bulk change: rename, describe or move several dashboards of one project.

    Rules: each as `update_dashboard` (a move needs manage rights in both spaces); a dashboard
    of another project is a 404 naming it; all or nothing (the request's transaction)."""
    visible_project(session, principal, project_uuid)
    updated: list[DashboardOut] = []
    for item in items:
        dashboard, _where = visible_content(session, principal, Dashboard, item.uuid, KIND)
        if dashboard.project_uuid != project_uuid:
            raise NotFoundError(f"Dashboard {item.uuid} not found in this project")
        fields = {
            name: getattr(item, name)
            for name in ("name", "description", "space_uuid")
            if name in item.model_fields_set
        }
        updated.append(update_dashboard(session, principal, item.uuid, DashboardUpdate(**fields)))
    return updated


def delete_dashboard(session: Session, principal: Principal, dashboard_uuid: str) -> None:
    """Delete a dashboard with its versions and comments. Rules: `delete:Dashboard`; audited."""
    dashboard, where = visible_content(session, principal, Dashboard, dashboard_uuid, KIND)
    require(
        allows(
            principal, "delete", "Dashboard", project=where.project_target, space=where.space_target
        )
    )
    audit_target, before = _audit_target(dashboard), snapshot(dashboard)
    repo.delete_everything(
        session, space_uuids=[], chart_uuids=[], dashboard_uuids=[dashboard.uuid]
    )
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.DASHBOARD_DELETED,
        target=audit_target,
        details={"projectUuid": where.project.uuid, "before": before},
    )


def dashboard_history(
    session: Session, principal: Principal, dashboard_uuid: str
) -> list[DashboardVersionOut]:
    """A dashboard's versions, newest first. Rules: as for reading the dashboard."""
    dashboard, where = visible_content(session, principal, Dashboard, dashboard_uuid, KIND)
    require(
        allows(
            principal, "view", "Dashboard", project=where.project_target, space=where.space_target
        )
    )
    versions = newest_first(repo.dashboard_versions(session, dashboard.uuid))
    refs = user_refs(session, {v.updated_by_user_uuid for v in versions})
    result: list[DashboardVersionOut] = []
    for version in versions:
        state = public_snapshot(version.snapshot)
        who = ref(refs, version.updated_by_user_uuid)
        result.append(
            DashboardVersionOut(
                version_uuid=version.uuid,
                dashboard_uuid=dashboard.uuid,
                created_at=version.created_at,
                updated_by_user=who,
                created_by=who,
                name=state.get("name"),
                description=state.get("description"),
                space_uuid=state.get("spaceUuid"),
                tiles=state.get("tiles") or [],
                filters=state.get("filters") or {},
                snapshot=state,
            )
        )
    return result
