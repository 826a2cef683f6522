"""Validation (`lightdash validate`): which charts and dashboards use fields the explores lack.

The CLI sends the explores it just compiled; without them the project's
deployed explores are used. A chart is checked against the explore named by
its `tableName`: every dimension, metric, sort and filter field it uses must
be a field of that explore (Lightdash's field ids, `<table>_<field>`), or one
the chart defines itself (custom dimensions, additional metrics, table
calculations). A dashboard is checked by its filters, against the fields of
every explore. An explore deployed with errors counts as missing.

Findings are Lightdash's `ValidationResponse` objects, stored as the results of
a `validation` job (jobs/), which the CLI polls and then reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.authz import access, tenancy
from lightkeeper.content import repository as content_repository
from lightkeeper.content.shared import load_project_spaces
from lightkeeper.identity.attribution import user_refs
from lightkeeper.jobs import service as jobs
from lightkeeper.kit.clock import iso, utcnow
from lightkeeper.kit.names import display_name
from lightkeeper.models import Dashboard, SavedChart
from lightkeeper.project import repository
from lightkeeper.project.schemas import ValidateIn
from lightkeeper.project.service import parse_explores

JOB_KIND = "validation"
ALL_TARGETS = ("charts", "dashboards", "tables")


@dataclass
class ExploreFields:
    """The field ids of one explore, or why it cannot be used."""

    name: str
    fields: set[str] = field(default_factory=set)
    error: str | None = None


def explore_fields(explore: dict[str, Any]) -> ExploreFields:
    """Lightdash's field ids of an explore: `<table>_<field>` for every dimension and metric."""
    name = str(explore.get("name"))
    errors = explore.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        message = first.get("message") if isinstance(first, dict) else None
        return ExploreFields(name, error=str(message or "the explore was deployed with errors"))
    found = ExploreFields(name)
    tables = explore.get("tables")
    for table_name, table in (tables or {}).items() if isinstance(tables, dict) else []:
        if not isinstance(table, dict):
            continue
        for kind in ("dimensions", "metrics"):
            members = table.get(kind)
            if isinstance(members, dict):
                found.fields |= {f"{table_name}_{member}".replace(".", "__") for member in members}
    return found


def _filter_targets(group: Any) -> Iterator[str]:
    """Field ids of every rule of a (nested) filter group."""
    if isinstance(group, list):
        for item in group:
            yield from _filter_targets(item)
    elif isinstance(group, dict):
        target = group.get("target")
        if isinstance(target, dict) and isinstance(target.get("fieldId"), str):
            yield target["fieldId"]
        for key in ("and", "or", "dimensions", "metrics", "tableCalculations"):
            if key in group:
                yield from _filter_targets(group[key])


def _names(items: Any, *keys: str) -> set[str]:
    found: set[str] = set()
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            found |= {str(item[k]) for k in keys if isinstance(item.get(k), str)}
    return found


def chart_problems(
    chart: SavedChart, explores: dict[str, ExploreFields]
) -> list[tuple[str, str, str | None]]:
    """(errorType, error, fieldName) for each problem of one chart."""
    explore = explores.get(chart.table_name)
    if explore is None:
        return [("model", f"Explore {chart.table_name!r} does not exist in the project", None)]
    if explore.error is not None:
        return [("model", f"Explore {chart.table_name!r} has errors: {explore.error}", None)]
    query = chart.metric_query or {}
    own = _names(query.get("tableCalculations"), "name")
    own |= _names(query.get("customDimensions"), "id", "name")
    own |= {
        f"{m.get('table')}_{m.get('name')}"
        for m in query.get("additionalMetrics") or []
        if isinstance(m, dict)
    }
    known = explore.fields | own
    used: list[tuple[str, str, Iterable[Any]]] = [
        ("dimension", "Dimension", query.get("dimensions") or []),
        ("metric", "Metric", query.get("metrics") or []),
        (
            "sorting",
            "Sort",
            [s.get("fieldId") for s in query.get("sorts") or [] if isinstance(s, dict)],
        ),
        ("filter", "Filter", _filter_targets(query.get("filters") or {})),
    ]
    problems: list[tuple[str, str, str | None]] = []
    seen: set[tuple[str, str]] = set()
    for error_type, label, field_ids in used:
        for field_id in field_ids:
            if not isinstance(field_id, str) or field_id in known or (error_type, field_id) in seen:
                continue
            seen.add((error_type, field_id))
            message = f"{label} field {field_id!r} is not a field of explore {chart.table_name!r}"
            problems.append((error_type, message, field_id))
    return problems


def dashboard_problems(
    dashboard: Dashboard, every_field: set[str]
) -> list[tuple[str, str, str | None]]:
    problems: list[tuple[str, str, str | None]] = []
    for field_id in dict.fromkeys(_filter_targets(dashboard.filters or {})):
        if field_id not in every_field:
            message = f"Filter field {field_id!r} is not a field of any explore of the project"
            problems.append(("filter", message, field_id))
    return problems


def validate_project(
    session: Session, principal: Principal, project_uuid: str, body: ValidateIn
) -> str:
    """Validate the project's content and record the findings as a completed job; its id.

    Rules: needs `manage:DeployProject` (as deploying does); only charts and
    dashboards the caller may view are checked and named; `explores` in the
    body, when given, are validated like a deploy (400) and used instead of the
    deployed ones; `validationTargets` narrows what is checked.
    """
    project, target = tenancy.visible_project(session, principal, project_uuid)
    access.require(access.allows(principal, "manage", "DeployProject", project=target))
    if body.explores is not None:
        bodies = parse_explores(body.explores)
    else:
        bodies = [e.body for e in repository.explores(session, project.uuid)]
    explores = {e.name: e for e in (explore_fields(b) for b in bodies)}
    every_field = set().union(*(e.fields for e in explores.values()))
    targets = set(body.validation_targets or ALL_TARGETS)
    ps = load_project_spaces(session, project)
    now = iso(utcnow())
    findings: list[dict[str, Any]] = []

    def finding(name: str, problem: tuple[str, str, str | None], **extra: Any) -> None:
        error_type, error, field_name = problem
        findings.append(
            {
                "validationId": len(findings) + 1,
                "createdAt": now,
                "name": name,
                "error": error,
                "errorType": error_type,
                "projectUuid": project.uuid,
                **({"fieldName": field_name} if field_name else {}),
                **extra,
            }
        )

    if "tables" in targets:
        for explore in explores.values():
            if explore.error is not None:
                finding(explore.name, ("model", explore.error, None), source="table")
    charts = [
        c
        for c in content_repository.project_charts(session, project.uuid)
        if ps.viewable(principal, c)
    ]
    dashboards = [
        d
        for d in content_repository.project_dashboards(session, project.uuid)
        if ps.viewable(principal, d)
    ]
    people = user_refs(
        session,
        [*(c.updated_by_user_uuid for c in charts), *(d.updated_by_user_uuid for d in dashboards)],
    )

    def updated_by(uuid: str | None) -> dict[str, Any]:
        person = people.get(uuid) if uuid else None
        if person is None:
            return {}
        return {
            "lastUpdatedBy": display_name(person.first_name, person.last_name, person.user_uuid)
        }

    if "charts" in targets:
        for chart in charts:
            for problem in chart_problems(chart, explores):
                finding(
                    chart.name,
                    problem,
                    source="chart",
                    chartUuid=chart.uuid,
                    chartName=chart.name,
                    spaceUuid=chart.space_uuid,
                    lastUpdatedAt=iso(chart.updated_at),
                    chartViews=0,
                    **updated_by(chart.updated_by_user_uuid),
                )
    if "dashboards" in targets:
        for dashboard in dashboards:
            for problem in dashboard_problems(dashboard, every_field):
                finding(
                    dashboard.name,
                    problem,
                    source="dashboard",
                    dashboardUuid=dashboard.uuid,
                    spaceUuid=dashboard.space_uuid,
                    lastUpdatedAt=iso(dashboard.updated_at),
                    dashboardViews=0,
                    **updated_by(dashboard.updated_by_user_uuid),
                )
    job = jobs.record_job(
        session,
        principal,
        kind=JOB_KIND,
        project_uuid=project.uuid,
        status="completed",
        details={
            "charts": len(charts) if "charts" in targets else 0,
            "dashboards": len(dashboards) if "dashboards" in targets else 0,
            "errors": len(findings),
        },
        results=findings,
    )
    return job.uuid


def validation_results(
    session: Session, principal: Principal, project_uuid: str, job_uuid: str | None
) -> list[dict[str, Any]]:
    """The findings of a validation job of this project (the latest one without `jobId`).

    Rules: needs `view:Project`; a job of another project, kind or organization is 404.
    """
    project, _target = tenancy.visible_project(session, principal, project_uuid)
    if job_uuid is None:
        return jobs.latest_results(session, principal, kind=JOB_KIND, project_uuid=project.uuid)
    return jobs.job_results(session, principal, job_uuid, kind=JOB_KIND, project_uuid=project.uuid)
