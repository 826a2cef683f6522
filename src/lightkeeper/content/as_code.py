"""Content as code: download charts and dashboards as documents, upload them back by slug.

A document names its space by slug and, for dashboards, its charts by slug,
so it can move between projects (e.g. a preview and its upstream).

What the caller may not view is not there, as everywhere else (404 rules):
downloads never name it (a tile whose chart is hidden has `chartSlug: null`,
as for a deleted chart), and an upload treats its slug as unknown. Slugs are
unique per project, so an upload at a slug held by hidden content creates at
the next free slug (`slug-2`), exactly as creating by name does; the hidden
item is neither overwritten nor described.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.principal import Principal
from lightkeeper.authz.access import ProjectTarget, allows, require
from lightkeeper.authz.tenancy import visible_project
from lightkeeper.content import charts as chart_service
from lightkeeper.content import dashboards as dashboard_service
from lightkeeper.content import repository as repo
from lightkeeper.content.schemas import (
    ChartAsCode,
    ChartAsCodeIn,
    ChartsAsCodePage,
    DashboardAsCode,
    DashboardAsCodeIn,
    DashboardsAsCodePage,
    PromotedChange,
    PromotionAction,
    PromotionChanges,
    SqlChartsAsCodePage,
    TileAsCode,
    TileAsCodeIn,
)
from lightkeeper.content.shared import (
    Content,
    ProjectSpaces,
    Row,
    authored,
    insert_with_slug,
    load_project_spaces,
    slugify,
)
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import ForbiddenError, ParameterError
from lightkeeper.models import Dashboard, Project, SavedChart, Space, new_uuid

PAGE_SIZE = 100
SUBJECT = "ContentAsCode"
CODE_VERSION = 1


def parse_ids(values: Iterable[str]) -> list[str]:
    """`ids=a&ids=b` and `ids=a,b` alike; blanks dropped, duplicates once, order kept."""
    seen: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            if part.strip():
                seen.setdefault(part.strip(), None)
    return list(seen)


def _select(rows: Sequence[Any], ids: list[str]) -> tuple[list[Any], list[str]]:
    """Rows named by uuid or slug (all rows when no ids), and the ids that matched nothing."""
    if not ids:
        return list(rows), []
    wanted = set(ids)
    chosen = [r for r in rows if r.uuid in wanted or r.slug in wanted]
    found = {r.uuid for r in chosen} | {r.slug for r in chosen}
    return chosen, [i for i in ids if i not in found]


def _downloadable(session: Session, principal: Principal, project_uuid: str) -> ProjectSpaces:
    project, project_t = visible_project(session, principal, project_uuid)
    require(allows(principal, "view", SUBJECT, project=project_t))
    return load_project_spaces(session, project)


def chart_as_code(chart: SavedChart, space: Space) -> ChartAsCode:
    """Lightdash's `ChartAsCode` (its query and configuration with every key its types need)."""
    state = chart_service.lightdash_state(chart_service.snapshot(chart))
    return ChartAsCode(
        version=CODE_VERSION,
        name=chart.name,
        description=chart.description,
        slug=chart.slug,
        space_slug=space.slug,
        table_name=chart.table_name,
        metric_query=state["metricQuery"],
        chart_config=state["chartConfig"],
        table_config=state["tableConfig"],
        updated_at=chart.updated_at,
        downloaded_at=utcnow(),
    )


def download_charts(
    session: Session, principal: Principal, project_uuid: str, ids: list[str], offset: int
) -> ChartsAsCodePage:
    """A page of 100 charts as code, ordered by slug.

    Rules: project visible (else 404); `view:ContentAsCode` (else 403); only
    charts the caller may view; `ids` are uuids or slugs, and those matching
    no viewable chart come back in `missingIds` (without telling why).
    """
    ps = _downloadable(session, principal, project_uuid)
    viewable = [
        c for c in repo.project_charts(session, ps.project.uuid) if ps.viewable(principal, c)
    ]
    chosen, missing = _select(viewable, ids)
    page = chosen[offset : offset + PAGE_SIZE]
    return ChartsAsCodePage(
        charts=[chart_as_code(c, ps.spaces[c.space_uuid]) for c in page],
        missing_ids=missing,
        total=len(chosen),
        offset=offset + len(page),
    )


def _tile_as_code(tile: dict[str, Any], slugs: dict[str, str]) -> TileAsCode:
    properties = dict(tile.get("properties") or {})
    chart_uuid = properties.pop("savedChartUuid", None)
    if chart_uuid is not None or tile.get("type") == "saved_chart":
        properties = {"chartSlug": slugs.get(str(chart_uuid)), **properties}
    return TileAsCode(
        type=str(tile.get("type") or ""),
        x=int(tile.get("x") or 0),
        y=int(tile.get("y") or 0),
        h=int(tile.get("h") or 0),
        w=int(tile.get("w") or 0),
        properties=properties,
    )


def download_dashboards(
    session: Session, principal: Principal, project_uuid: str, ids: list[str], offset: int
) -> DashboardsAsCodePage:
    """A page of 100 dashboards as code; tiles name their charts by slug.

    Rules: as for charts, with `view:Dashboard` deciding what is viewable; a
    tile whose chart the caller may not view has `chartSlug: null`.
    """
    ps = _downloadable(session, principal, project_uuid)
    viewable = [
        d for d in repo.project_dashboards(session, ps.project.uuid) if ps.viewable(principal, d)
    ]
    chosen, missing = _select(viewable, ids)
    page: list[Dashboard] = chosen[offset : offset + PAGE_SIZE]
    referenced = {
        str(t["properties"]["savedChartUuid"])
        for d in page
        for t in d.tiles
        if (t.get("properties") or {}).get("savedChartUuid") is not None
    }
    slugs = {
        u: c.slug
        for u, c in repo.charts_by_uuid(session, ps.project.uuid, referenced).items()
        if ps.viewable(principal, c)
    }
    documents = [
        DashboardAsCode(
            version=CODE_VERSION,
            name=d.name,
            description=d.description,
            slug=d.slug,
            space_slug=ps.spaces[d.space_uuid].slug,
            tiles=[_tile_as_code(t, slugs) for t in d.tiles],
            filters=dashboard_service.lightdash_filters(d.filters or {}),
            updated_at=d.updated_at,
            downloaded_at=utcnow(),
        )
        for d in page
    ]
    return DashboardsAsCodePage(
        dashboards=documents,
        missing_ids=missing,
        total=len(chosen),
        offset=offset + len(page),
    )


# -- upload ------------------------------------------------------------------


def _check_upload(
    principal: Principal, project_t: ProjectTarget, slug: str, version: int | None, kind: str
) -> None:
    require(allows(principal, "create", SUBJECT, project=project_t))
    if version is not None and version != CODE_VERSION:
        message = f"Unsupported {kind} document version {version}: this server reads version 1"
        raise ParameterError(message, {"fields": {"version": message}})
    if slug != slugify(slug):
        message = f"{slug!r} is not a slug: use lowercase letters, digits and dashes"
        raise ParameterError(message, {"fields": {"slug": message}})


def _at_slug(
    principal: Principal, ps: ProjectSpaces, held: Content | None, kind: str
) -> Content | None:
    """The item an upload overwrites: the one at its slug, if the caller may view it.

    Overwriting needs `manage:ContentAsCode` (403); an item the caller may not
    view is not there for them (the upload creates, see the module docstring).
    """
    if held is None or not ps.viewable(principal, held):
        return None
    if not allows(principal, "manage", SUBJECT, project=ps.target):
        raise ForbiddenError(
            f"A {kind} with slug {held.slug!r} already exists: your role may upload new "
            f"content as code but not overwrite existing content (needs manage:ContentAsCode)"
        )
    return held


def _insert_at(session: Session, row: Row, slug: str, held: bool) -> None:
    """Insert a new row at `slug`, or at the next free `slug-N` when hidden content holds it.

    The hidden holder keeps its slug (not the caller's to take), and the caller
    learns no more than creating by name would tell them.
    """
    insert_with_slug(session, row, slug, slug=None if held else slug)


def _space_for(
    session: Session, principal: Principal, ps: ProjectSpaces, space_slug: str
) -> tuple[Space, bool]:
    """The space a document names, created (non-private, at the root) when missing.

    Creating it needs no right beyond the upload right: the document cannot
    land anywhere else, and a non-private space hides nothing from anyone. A
    space the caller cannot see counts as missing. Also says whether it was created.
    """
    slug = slugify(space_slug)
    held = False
    for candidate in dict.fromkeys((space_slug, slug)):
        space = repo.space_by_slug(session, ps.project.uuid, candidate)
        if space is not None and ps.visible(principal, space.uuid):
            return space, False
        held = held or (space is not None and space.slug == slug)
    name = slug.replace("-", " ").capitalize()
    space = Space(
        project_uuid=ps.project.uuid,
        name=name,
        is_private=False,
        created_by_user_uuid=principal.user_uuid,
    )
    _insert_at(session, space, slug, held)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.SPACE_CREATED,
        target=Target(TargetType.SPACE, space.uuid, space.name),
        details={
            "projectUuid": ps.project.uuid,
            "slug": space.slug,
            "isPrivate": False,
            "parentSpaceUuid": None,
            "via": "content_as_code",
        },
    )
    return space, True


# Lightdash's bookkeeping fields that the promoted objects carry; Lightkeeper has no pinned
# lists, views or dashboard tabs, so they take Lightdash's neutral values.
_NEUTRAL: dict[str, Any] = {"pinnedListUuid": None, "pinnedListOrder": None}


def _promoted_space(session: Session, space: Space) -> dict[str, Any]:
    charts, dashboards = repo.space_content_counts(session, space.uuid)
    return {
        **_NEUTRAL,
        "uuid": space.uuid,
        "name": space.name,
        "slug": space.slug,
        "projectUuid": space.project_uuid,
        "organizationUuid": None,
        "isPrivate": space.is_private,
        "parentSpaceUuid": space.parent_space_uuid,
        "access": [],
        "chartCount": charts,
        "dashboardCount": dashboards,
    }


def _change(
    session: Session,
    action: PromotionAction,
    row: Space | SavedChart | Dashboard,
    space: Space,
    organization_uuid: str,
) -> PromotedChange:
    """One `{action, data}`: `data` is the object as its own GET shows it, plus Lightdash's
    promotion fields (`spaceSlug`, `oldUuid`, …)."""
    data: dict[str, Any]
    if isinstance(row, Space):
        data = _promoted_space(session, row)
    elif isinstance(row, SavedChart):
        data = chart_service.chart_out(session, row, space).model_dump(by_alias=True, mode="json")
        for key, value in {
            **_NEUTRAL,
            "dashboardUuid": None,
            "dashboardName": None,
            "colorPalette": [],
        }.items():
            data.setdefault(key, value)
    else:
        data = dashboard_service.dashboard_out(session, row, space).model_dump(
            by_alias=True, mode="json"
        )
        extra = {**_NEUTRAL, "views": 0, "firstViewedAt": None, "dashboardVersionId": 0, "tabs": []}
        for key, value in extra.items():
            data.setdefault(key, value)
    data["organizationUuid"] = data.get("organizationUuid") or organization_uuid
    data.setdefault("spaceName", space.name)
    data["spaceSlug"] = space.slug
    data["oldUuid"] = row.uuid
    return PromotedChange(action=action, data=data, uuid=row.uuid, slug=row.slug)


def _space_change(
    session: Session, space: Space, created: bool, organization_uuid: str
) -> list[PromotedChange]:
    return [
        _change(session, "create" if created else "no changes", space, space, organization_uuid)
    ]


def _audit_upload(
    session: Session,
    principal: Principal,
    project: Project,
    target: Target,
    slug: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    details: dict[str, Any] = {"projectUuid": project.uuid, "slug": slug, "action": action}
    details |= changes(before, after) if before is not None else {"after": after}
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.CONTENT_AS_CODE_UPLOADED,
        target=target,
        details=details,
    )


def upload_chart(
    session: Session, principal: Principal, project_uuid: str, slug: str, body: ChartAsCodeIn
) -> PromotionChanges:
    """Create or overwrite the chart at `slug` from a document.

    Rules: project visible (else 404); `create:ContentAsCode` creates,
    overwriting an existing slug needs `manage:ContentAsCode` (403
    otherwise); `@self` qualifiers hold on previews the caller created; the
    space named by `spaceSlug` is created when missing (or not visible to the
    caller); a chart the caller may not view is never overwritten: the upload
    creates at the next free slug; identical content is "no changes" (nothing
    written); otherwise a version is written and `content_as_code.uploaded`
    audited.
    """
    project, project_t = visible_project(session, principal, project_uuid)
    _check_upload(principal, project_t, slug, body.version, "chart")
    ps = load_project_spaces(session, project)
    held = repo.chart_by_slug(session, project.uuid, slug)
    existing = _at_slug(principal, ps, held, "chart")
    space, space_created = _space_for(session, principal, ps, body.space_slug)
    spaces = _space_change(session, space, space_created, principal.organization_uuid)
    desired = chart_service.lightdash_state(
        {
            "name": body.name,
            "description": body.description,
            "spaceUuid": space.uuid,
            "tableName": body.table_name,
            "metricQuery": body.metric_query,
            "chartConfig": body.chart_config,
            "tableConfig": body.table_config,
        }
    )
    if existing is None:
        chart = authored(
            SavedChart,
            principal,
            project_uuid=project.uuid,
            space_uuid=space.uuid,
            name=body.name,
            description=body.description,
            table_name=body.table_name,
            metric_query=desired["metricQuery"],
            chart_config=desired["chartConfig"],
            table_config=desired["tableConfig"],
        )
        _insert_at(session, chart, slug, held is not None)
        chart_service.write_version(session, chart, principal)
        target = Target(TargetType.SAVED_CHART, chart.uuid, chart.name)
        _audit_upload(session, principal, project, target, chart.slug, "create", None, desired)
        return PromotionChanges(
            spaces=spaces,
            charts=[_change(session, "create", chart, space, principal.organization_uuid)],
        )
    before = chart_service.snapshot(existing)
    if chart_service.lightdash_state(before) == desired:
        return PromotionChanges(
            spaces=spaces,
            charts=[_change(session, "no changes", existing, space, principal.organization_uuid)],
        )
    existing.space_uuid = space.uuid
    existing.name = body.name
    existing.description = body.description
    existing.table_name = body.table_name
    existing.metric_query = desired["metricQuery"]
    existing.chart_config = desired["chartConfig"]
    existing.table_config = desired["tableConfig"]
    chart_service.write_version(session, existing, principal)
    target = Target(TargetType.SAVED_CHART, existing.uuid, existing.name)
    _audit_upload(session, principal, project, target, slug, "update", before, desired)
    return PromotionChanges(
        spaces=spaces,
        charts=[_change(session, "update", existing, space, principal.organization_uuid)],
    )


def _hidden_chart_of(tile: dict[str, Any], visible: Collection[str]) -> str | None:
    chart_uuid = (tile.get("properties") or {}).get("savedChartUuid")
    return None if chart_uuid is None or str(chart_uuid) in visible else str(chart_uuid)


def _tiles_from_code(
    session: Session,
    principal: Principal,
    ps: ProjectSpaces,
    tiles: Sequence[TileAsCodeIn],
    current: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Stored tiles from document tiles: chart slugs become chart uuids.

    Rules: a slug naming no chart the caller may view is a 400 naming it;
    documents name charts by slug only (a `savedChartUuid` in them is
    ignored). Documents carry no tile ids; a tile keeps the id of the tile at
    the same position, so comments on tiles survive a round trip; likewise a
    chart tile left with `chartSlug: null` keeps a chart the caller may not
    view (the download showed it as null), so a round trip changes nothing.
    """
    wanted = {
        str(t.properties["chartSlug"]) for t in tiles if t.properties.get("chartSlug") is not None
    }
    known = {
        chart_slug: chart
        for chart_slug, chart in repo.charts_by_slug(session, ps.project.uuid, wanted).items()
        if ps.viewable(principal, chart)
    }
    referenced = {
        str(t["properties"]["savedChartUuid"])
        for t in current
        if (t.get("properties") or {}).get("savedChartUuid") is not None
    }
    visible = {
        chart_uuid
        for chart_uuid, chart in repo.charts_by_uuid(session, ps.project.uuid, referenced).items()
        if ps.viewable(principal, chart)
    }
    stored: list[dict[str, Any]] = []
    for index, tile in enumerate(tiles):
        properties = dict(tile.properties)
        chart_slug = properties.pop("chartSlug", None)
        properties.pop("savedChartUuid", None)
        if chart_slug is None and tile.type == "saved_chart" and index < len(current):
            hidden = _hidden_chart_of(current[index], visible)
            if hidden is not None:
                properties["savedChartUuid"] = hidden
        if chart_slug is not None:
            chart = known.get(str(chart_slug))
            if chart is None:
                message = (
                    f"Tile {index + 1} names the chart slug {chart_slug!r}, which is not a chart "
                    "of this project: upload that chart first or fix the slug"
                )
                field = f"tiles.{index}.properties.chartSlug"
                raise ParameterError(message, {"fields": {field: message}, "chartSlug": chart_slug})
            properties["savedChartUuid"] = chart.uuid
        kept = current[index].get("uuid") if index < len(current) else None
        uuid = str(kept) if kept else new_uuid()
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


def upload_dashboard(
    session: Session, principal: Principal, project_uuid: str, slug: str, body: DashboardAsCodeIn
) -> PromotionChanges:
    """Create or overwrite the dashboard at `slug` from a document.

    Rules: as for charts; every tile's `chartSlug` must name a chart of the
    project the caller may view (400 naming the slug).
    """
    project, project_t = visible_project(session, principal, project_uuid)
    _check_upload(principal, project_t, slug, body.version, "dashboard")
    ps = load_project_spaces(session, project)
    held = repo.dashboard_by_slug(session, project.uuid, slug)
    existing = _at_slug(principal, ps, held, "dashboard")
    current = existing.tiles if existing else []
    tiles = _tiles_from_code(session, principal, ps, body.tiles, current)
    space, space_created = _space_for(session, principal, ps, body.space_slug)
    spaces = _space_change(session, space, space_created, principal.organization_uuid)
    desired = {
        "name": body.name,
        "description": body.description,
        "spaceUuid": space.uuid,
        "tiles": tiles,
        "filters": dashboard_service.lightdash_filters(body.filters),
    }
    if existing is None:
        dashboard = authored(
            Dashboard,
            principal,
            project_uuid=project.uuid,
            space_uuid=space.uuid,
            name=body.name,
            description=body.description,
            tiles=tiles,
            filters=dashboard_service.lightdash_filters(body.filters),
        )
        _insert_at(session, dashboard, slug, held is not None)
        dashboard_service.write_version(session, dashboard, principal)
        target = Target(TargetType.DASHBOARD, dashboard.uuid, dashboard.name)
        _audit_upload(session, principal, project, target, dashboard.slug, "create", None, desired)
        return PromotionChanges(
            spaces=spaces,
            dashboards=[_change(session, "create", dashboard, space, principal.organization_uuid)],
        )
    before = dashboard_service.snapshot(existing)
    comparable = {**before, "filters": dashboard_service.lightdash_filters(before["filters"] or {})}
    if comparable == desired:
        return PromotionChanges(
            spaces=spaces,
            dashboards=[
                _change(session, "no changes", existing, space, principal.organization_uuid)
            ],
        )
    existing.space_uuid = space.uuid
    existing.name = body.name
    existing.description = body.description
    existing.tiles = tiles
    existing.filters = dashboard_service.lightdash_filters(body.filters)
    dashboard_service.write_version(session, existing, principal)
    target = Target(TargetType.DASHBOARD, existing.uuid, existing.name)
    _audit_upload(session, principal, project, target, slug, "update", before, desired)
    return PromotionChanges(
        spaces=spaces,
        dashboards=[_change(session, "update", existing, space, principal.organization_uuid)],
    )


def download_sql_charts(
    session: Session, principal: Principal, project_uuid: str, offset: int
) -> SqlChartsAsCodePage:
    """SQL charts as code: Lightkeeper has none, so an empty page (the CLI's loop ends at once).

    Rules: as for charts (404, then 403 without `view:ContentAsCode`).
    """
    _downloadable(session, principal, project_uuid)
    return SqlChartsAsCodePage(sql_charts=[], missing_ids=[], total=0, offset=offset)
