"""Saved charts: list, create, read, change (with versions), move, delete, history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.principal import Principal
from lightkeeper.authz.access import SpaceTarget, allows, require
from lightkeeper.authz.tenancy import space_targets, visible_project, visible_space
from lightkeeper.content import repository as repo
from lightkeeper.content.schemas import (
    ChartCreate,
    ChartHistory,
    ChartOut,
    ChartUpdate,
    ChartVersionDetail,
    ChartVersionOut,
)
from lightkeeper.content.shared import (
    Located,
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
from lightkeeper.kit.errors import NotFoundError
from lightkeeper.models import Project, SavedChart, SavedChartVersion, Space

KIND = "Saved chart"


def snapshot(chart: SavedChart) -> dict[str, Any]:
    """What a version records (and what audit before/after compare)."""
    return {
        "name": chart.name,
        "description": chart.description,
        "spaceUuid": chart.space_uuid,
        "tableName": chart.table_name,
        "metricQuery": chart.metric_query,
        "chartConfig": chart.chart_config,
        "tableConfig": chart.table_config,
    }


def write_version(session: Session, chart: SavedChart, principal: Principal) -> None:
    """Stamp the chart as changed now by the principal, and keep the state as a version."""
    now = utcnow()
    chart.updated_at = now
    chart.updated_by_user_uuid = principal.user_uuid
    sequence = repo.chart_version_count(session, chart.uuid) + 1
    session.add(
        SavedChartVersion(
            chart_uuid=chart.uuid,
            snapshot={**snapshot(chart), "_seq": sequence},
            created_at=now,
            updated_by_user_uuid=principal.user_uuid,
        )
    )


def _saved(
    session: Session,
    principal: Principal,
    chart: SavedChart,
    before: dict[str, Any],
    **details: str,
) -> None:
    """A chart changed by an update or a rollback: a new version and one audit event, unless
    nothing changed."""
    after = snapshot(chart)
    if after != before:
        write_version(session, chart, principal)
        record(
            session,
            organization_uuid=principal.organization_uuid,
            actor=principal,
            action=AuditAction.SAVED_CHART_UPDATED,
            target=_audit_target(chart),
            details={**changes(before, after), **details},
        )


def _chart_for(
    session: Session, principal: Principal, chart_uuid: str, action: str
) -> tuple[SavedChart, Located]:
    """A chart the caller may `action` (view, update, delete) in its space: its space must be
    visible (else 404), then the right there (else 403)."""
    chart, where = visible_content(session, principal, SavedChart, chart_uuid, KIND)
    require(
        allows(
            principal, action, "SavedChart", project=where.project_target, space=where.space_target
        )
    )
    return chart, where


def _audit_target(chart: SavedChart) -> Target:
    return Target(TargetType.SAVED_CHART, chart.uuid, chart.name)


CHART_TYPES = ("big_number", "cartesian", "custom", "funnel", "pie", "table")
DEFAULT_LIMIT = 500


def lightdash_metric_query(metric_query: dict[str, Any], table_name: str) -> dict[str, Any]:
    """The stored MetricQuery with every key Lightdash's `MetricQuery` requires."""
    return {
        "exploreName": table_name,
        "dimensions": [],
        "metrics": [],
        "filters": {},
        "sorts": [],
        "limit": DEFAULT_LIMIT,
        "tableCalculations": [],
        **metric_query,
    }


def lightdash_chart_config(chart_config: dict[str, Any]) -> dict[str, Any]:
    """The stored chart config; one without a known `type` shows as a table (docs/decisions.md)."""
    if chart_config.get("type") in CHART_TYPES:
        return chart_config
    return {**chart_config, "type": "table"}


def lightdash_state(state: dict[str, Any]) -> dict[str, Any]:
    """A chart's state with Lightdash's neutral keys filled in: what content as code downloads,
    and what an upload is compared (and stored) as, so a round trip changes nothing."""
    table_name = str(state.get("tableName") or "")
    return {
        **state,
        "metricQuery": lightdash_metric_query(dict(state.get("metricQuery") or {}), table_name),
        "chartConfig": lightdash_chart_config(dict(state.get("chartConfig") or {})),
        "tableConfig": {"columnOrder": [], **(state.get("tableConfig") or {})},
    }


def _chart_state(
    state: dict[str, Any],
    chart: SavedChart,
    space: Space,
    target: SpaceTarget,
    found: People,
    updated_at: datetime,
    updated_by: str | None,
) -> ChartOut:
    chart_config = lightdash_chart_config(dict(state.get("chartConfig") or {}))
    table_name = str(state.get("tableName") or "")
    return ChartOut(
        uuid=chart.uuid,
        project_uuid=chart.project_uuid,
        organization_uuid=target.project.organization_uuid,
        name=str(state.get("name") or chart.name),
        description=state.get("description"),
        space_uuid=space.uuid,
        space_name=space.name,
        table_name=table_name,
        metric_query=lightdash_metric_query(dict(state.get("metricQuery") or {}), table_name),
        chart_config=chart_config,
        chart_type=chart_config["type"],
        table_config={"columnOrder": [], **(state.get("tableConfig") or {})},
        slug=chart.slug,
        is_private=target.is_private,
        access=space_access(target, found),
        created_at=chart.created_at,
        created_by=found.ref(chart.created_by_user_uuid),
        updated_at=updated_at,
        updated_by_user=found.ref(updated_by),
    )


def _out(chart: SavedChart, space: Space, target: SpaceTarget, found: People) -> ChartOut:
    return _chart_state(
        snapshot(chart), chart, space, target, found, chart.updated_at, chart.updated_by_user_uuid
    )


def _named(charts: list[SavedChart], targets: list[SpaceTarget]) -> set[str | None]:
    wanted: set[str | None] = set()
    for chart in charts:
        wanted |= {chart.created_by_user_uuid, chart.updated_by_user_uuid}
    for target in targets:
        wanted |= access_people(target)
    return wanted


def chart_out(
    session: Session, chart: SavedChart, space: Space, target: SpaceTarget | None = None
) -> ChartOut:
    if target is None:
        project = session.get(Project, chart.project_uuid)
        assert project is not None  # foreign key
        target = space_targets(session, project, [space])[space.uuid]
    return _out(chart, space, target, people(session, _named([chart], [target])))


def charts_out(session: Session, charts: list[SavedChart], ps: ProjectSpaces) -> list[ChartOut]:
    """Many charts of one project, in a constant number of queries."""
    targets = [ps.targets[c.space_uuid] for c in charts]
    found = people(session, _named(charts, targets))
    return [_out(c, ps.spaces[c.space_uuid], ps.targets[c.space_uuid], found) for c in charts]


def list_charts(session: Session, principal: Principal, project_uuid: str) -> list[ChartOut]:
    """The project's charts the caller may view.

    Rules: project visible (else 404); a chart is listed when its space is
    visible to the caller and `view:SavedChart` holds there. Constant number
    of queries whatever the size.
    """
    project, _ = visible_project(session, principal, project_uuid)
    ps = load_project_spaces(session, project)
    charts = [
        chart
        for chart in repo.project_charts(session, project.uuid)
        if allows(
            principal, "view", "SavedChart", project=ps.target, space=ps.targets[chart.space_uuid]
        )
    ]
    return charts_out(session, charts, ps)


def create_chart(
    session: Session, principal: Principal, project_uuid: str, body: ChartCreate
) -> ChartOut:
    """Save a chart in a space of the project.

    Rules: project and space visible (else 404); `create:SavedChart` in that
    space (`@space` holds where the caller is space editor or admin); the
    slug comes from the name, unique in the project; writes the first
    version; audited `saved_chart.created`.
    """
    project, project_t = visible_project(session, principal, project_uuid)
    space, space_t = visible_space(session, principal, body.space_uuid, project.uuid)
    require(allows(principal, "create", "SavedChart", project=project_t, space=space_t))
    chart = authored(
        SavedChart,
        principal,
        project_uuid=project.uuid,
        space_uuid=space.uuid,
        name=body.name,
        description=body.description,
        table_name=body.table_name,
        metric_query=body.metric_query,
        chart_config=body.chart_config,
        table_config=body.table_config,
    )
    insert_with_slug(session, chart, body.name)
    write_version(session, chart, principal)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.SAVED_CHART_CREATED,
        target=_audit_target(chart),
        details={"projectUuid": project.uuid, "slug": chart.slug, "after": snapshot(chart)},
    )
    return chart_out(session, chart, space, space_t)


def get_chart(session: Session, principal: Principal, chart_uuid: str) -> ChartOut:
    """One chart. Rules: its space must be visible (else 404); `view:SavedChart` there."""
    chart, where = _chart_for(session, principal, chart_uuid, "view")
    return chart_out(session, chart, where.space, where.space_target)


def update_chart(
    session: Session, principal: Principal, chart_uuid: str, body: ChartUpdate
) -> ChartOut:
    """Change a chart; every effective change is a new version.

    Rules: `update:SavedChart` in its space; moving to another space (a
    visible one of the same project) needs `manage:SavedChart` in both
    spaces; a request that changes nothing writes nothing; audited
    `saved_chart.updated` with before/after; `updatedByUser` = the caller.
    """
    chart, where = _chart_for(session, principal, chart_uuid, "update")
    before = snapshot(chart)
    space = where.space
    if body.space_uuid is not None and body.space_uuid != chart.space_uuid:
        space, space_t = visible_space(session, principal, body.space_uuid, chart.project_uuid)
        for target in (where.space_target, space_t):
            require(
                allows(
                    principal, "manage", "SavedChart", project=where.project_target, space=target
                )
            )
        chart.space_uuid = space.uuid
    if body.name is not None:
        chart.name = body.name
    if "description" in body.model_fields_set:
        chart.description = body.description
    if body.table_name is not None:
        chart.table_name = body.table_name
    if body.metric_query is not None:
        chart.metric_query = body.metric_query
    if body.chart_config is not None:
        chart.chart_config = body.chart_config
    if body.table_config is not None:
        chart.table_config = body.table_config
    _saved(session, principal, chart, before)
    session.flush()
    return chart_out(session, chart, space)


def delete_chart(session: Session, principal: Principal, chart_uuid: str) -> None:
    """Delete a chart with its versions. Rules: `delete:SavedChart` in its space; audited."""
    chart, where = _chart_for(session, principal, chart_uuid, "delete")
    audit_target, before = _audit_target(chart), snapshot(chart)
    repo.delete_everything(session, space_uuids=[], chart_uuids=[chart.uuid], dashboard_uuids=[])
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.SAVED_CHART_DELETED,
        target=audit_target,
        details={"projectUuid": where.project.uuid, "before": before},
    )


def chart_history(session: Session, principal: Principal, chart_uuid: str) -> ChartHistory:
    """A chart's versions, newest first (Lightdash's `{history}`). Rules: as for reading it."""
    chart, _where = _chart_for(session, principal, chart_uuid, "view")
    versions = newest_first(repo.chart_versions(session, chart.uuid))
    refs = user_refs(session, {v.updated_by_user_uuid for v in versions})
    result: list[ChartVersionOut] = []
    for version in versions:
        state = public_snapshot(version.snapshot)
        who = ref(refs, version.updated_by_user_uuid)
        result.append(
            ChartVersionOut(
                version_uuid=version.uuid,
                chart_uuid=chart.uuid,
                created_at=version.created_at,
                updated_by_user=who,
                created_by=who,
                name=state.get("name"),
                description=state.get("description"),
                space_uuid=state.get("spaceUuid"),
                table_name=state.get("tableName"),
                metric_query=state.get("metricQuery") or {},
                chart_config=state.get("chartConfig") or {},
                table_config=state.get("tableConfig") or {},
                snapshot=state,
            )
        )
    return ChartHistory(history=result)


def _version(session: Session, chart: SavedChart, version_uuid: str) -> SavedChartVersion:
    found = next(
        (v for v in repo.chart_versions(session, chart.uuid) if v.uuid == version_uuid), None
    )
    if found is None:
        raise NotFoundError("Chart version not found")
    return found


def chart_version(
    session: Session, principal: Principal, chart_uuid: str, version_uuid: str
) -> ChartVersionDetail:
    """One version with the chart as it was (Lightdash's `ChartVersion`).

    Rules: as for reading the chart; a version of another chart is a 404. The chart shows
    in the space it is in now (a version does not move it back)."""
    chart, where = _chart_for(session, principal, chart_uuid, "view")
    version = _version(session, chart, version_uuid)
    state = public_snapshot(version.snapshot)
    target = where.space_target
    found = people(session, _named([chart], [target]) | {version.updated_by_user_uuid})
    as_it_was = _chart_state(
        state, chart, where.space, target, found, version.created_at, version.updated_by_user_uuid
    )
    return ChartVersionDetail(
        chart_uuid=chart.uuid,
        version_uuid=version.uuid,
        created_at=version.created_at,
        created_by=found.ref(version.updated_by_user_uuid),
        chart=as_it_was,
    )


def rollback_chart(
    session: Session, principal: Principal, chart_uuid: str, version_uuid: str
) -> None:
    """Make an earlier version current again: its query and configuration (name, description
    and space stay), written as a new version. Rules: `update:SavedChart` in its space;
    audited `saved_chart.updated`."""
    chart, _where = _chart_for(session, principal, chart_uuid, "update")
    state = public_snapshot(_version(session, chart, version_uuid).snapshot)
    before = snapshot(chart)
    chart.table_name = str(state.get("tableName") or chart.table_name)
    chart.metric_query = dict(state.get("metricQuery") or {})
    chart.chart_config = dict(state.get("chartConfig") or {})
    chart.table_config = dict(state.get("tableConfig") or {})
    _saved(session, principal, chart, before, rolledBackTo=version_uuid)
    session.flush()
