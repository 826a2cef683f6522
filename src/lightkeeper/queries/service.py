"""The rules of running queries: who may run what, the record every run leaves, its results.

Rules:
- Ad-hoc metric queries (v2 metric-query, v1 compileQuery and runQuery) need `manage:Explore`
  on the project; a custom SQL dimension also needs `manage:CustomSql` (403
  `User cannot run queries with custom SQL dimensions`). A saved chart's or a dashboard tile's
  query needs `view:SavedChart` in the chart's space. SQL needs `manage:SqlRunner`.
- Another organization's project, or one the caller cannot see, is 404 (authz.tenancy).
- Only the principal that ran a query reads its status and pages, downloads its results or
  cancels it (403 `User is not allowed to fetch results for this query`).
- Each principal runs at most `LIGHTKEEPER_QUERY_RATE_LIMIT_PER_MINUTE` queries a minute,
  counted in the database so the limit holds across processes (429 with Retry-After).
- Every run is a `queries` row (principal, project, explore or SQL, status, row count,
  timings) and, once it ends, a `query.executed` audit event without any result value.
- Results live in the database (queries/repository.py) so any process serves any page; they
  expire after `LIGHTKEEPER_QUERY_RESULTS_TTL_SECONDS` (406 `ExpiredError`).
- Reading a pending query's results waits up to `RESULTS_WAIT_SECONDS` for it to end before
  answering `pending` (a bounded long-poll: a client polling at intervals gets its rows as soon
  as they exist); a page whose rows are still being stored waits for them (`CHUNK_WAIT_SECONDS`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import Row
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, record
from lightkeeper.auth.principal import Principal
from lightkeeper.authz import access, tenancy
from lightkeeper.jobs import service as jobs
from lightkeeper.jobs.schemas import JobStatusOut
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import (
    ExpiredError,
    ForbiddenError,
    NotFoundError,
    PaginationError,
    ParameterError,
    TooManyRequestsError,
)
from lightkeeper.models import Dashboard, Project, QueryRecord, SavedChart
from lightkeeper.project import repository as project_repository
from lightkeeper.queries import execution, repository
from lightkeeper.queries.runner import Job, runner_for
from lightkeeper.queries.schemas import (
    METRIC_QUERY_KEYS,
    ChartQueryRun,
    CompiledSql,
    DashboardChartQueryRun,
    LegacyQueryResults,
    QuerySubmitted,
    SqlQueryRun,
)
from lightkeeper.runtime import Runtime

NOT_YOURS = "User is not allowed to fetch results for this query"
NOT_YOURS_TO_CANCEL = "User is not allowed to cancel this query"
CUSTOM_SQL_FORBIDDEN = "User cannot run queries with custom SQL dimensions"
CUSTOM_SQL_DOCS = "https://docs.lightdash.com/references/custom-fields#custom-sql"
DEFAULT_PAGE_SIZE = 500
RESULTS_WAIT_SECONDS = 1.0
CHUNK_WAIT_SECONDS = 60.0
MAX_AUDITED_SQL = 2000


class CustomSqlQueryForbiddenError(ForbiddenError):
    name = "CustomSqlQueryForbiddenError"
    default_message = CUSTOM_SQL_FORBIDDEN


@dataclass(frozen=True)
class QueryPlace:
    """The project a query runs in, as access sees it."""

    project: Project
    target: access.ProjectTarget


# -- where and who -------------------------------------------------------------------


def _project(session: Session, principal: Principal, project_uuid: str) -> QueryPlace:
    project, target = tenancy.visible_project(session, principal, project_uuid)
    return QueryPlace(project, target)


def _require(principal: Principal, place: QueryPlace, action: str, subject: str) -> None:
    access.require(access.allows(principal, action, subject, project=place.target))


def _require_custom_sql(principal: Principal, place: QueryPlace, query: dict[str, Any]) -> None:
    dimensions = query.get("customDimensions") or []
    uses_sql = any(isinstance(d, dict) and d.get("type") == "sql" for d in dimensions)
    if uses_sql and not access.allows(principal, "manage", "CustomSql", project=place.target):
        raise CustomSqlQueryForbiddenError(
            CUSTOM_SQL_FORBIDDEN, {"documentationUrl": CUSTOM_SQL_DOCS}
        )


def _check_rate(runtime: Runtime, session: Session, principal: Principal) -> None:
    """At most N queries per principal in any minute, whichever process ran them."""
    limit = runtime.settings.query_rate_limit_per_minute
    since = utcnow() - timedelta(minutes=1)
    count, oldest = repository.runs_since(session, principal.user_uuid, since)
    if count >= limit:
        wait = 60 - (utcnow() - oldest).total_seconds() if oldest is not None else 60
        raise TooManyRequestsError(
            f"Too many queries: at most {limit} a minute per user or service account "
            "(LIGHTKEEPER_QUERY_RATE_LIMIT_PER_MINUTE); try again shortly",
            retry_after_seconds=math.ceil(max(1.0, wait)),
        )


def _own_record(
    session: Session, principal: Principal, project_uuid: str, query_uuid: str, message: str
) -> QueryRecord:
    """The principal's own query of a visible project: 404 if the project has none, 403 if
    another principal's. The project is checked first, as a Core row (every poll runs this)."""
    tenancy.visible_project_target(session, principal, project_uuid)
    found = repository.record_in_project(session, project_uuid, query_uuid)
    if found is None:
        raise NotFoundError(f"Query {query_uuid} not found")
    if found.created_by_user_uuid != principal.user_uuid:
        raise ForbiddenError(message)
    return found


# -- running ---------------------------------------------------------------------------


def _audit_finisher(
    principal: Principal, place: QueryPlace, query_uuid: str, details: dict[str, Any]
) -> Any:
    organization_uuid = place.project.organization_uuid
    label = details.get("exploreName") or "SQL"

    def finish(session: Session, status: str, rows: int | None, elapsed_ms: int) -> None:
        record(
            session,
            organization_uuid=organization_uuid,
            actor=principal,
            action=AuditAction.QUERY_EXECUTED,
            target=Target(TargetType.QUERY, query_uuid, str(label)),
            details={**details, "status": status, "rows": rows, "warehouseMs": elapsed_ms},
        )

    return finish


def _new_record(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    place: QueryPlace,
    *,
    source: str,
    sql: str,
    context: str | None,
    explore_name: str | None = None,
    metric_query: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
    chart_uuid: str | None = None,
) -> QueryRecord:
    now = utcnow()
    return repository.add_record(
        session,
        QueryRecord(
            organization_uuid=place.project.organization_uuid,
            project_uuid=place.project.uuid,
            created_by_user_uuid=principal.user_uuid,
            source=source,
            context=(context or "api")[:64],
            explore_name=explore_name,
            saved_chart_uuid=chart_uuid,
            metric_query=metric_query,
            sql=sql,
            fields=fields or {},
            status=repository.PENDING,
            created_at=now,
            expires_at=now + timedelta(seconds=runtime.settings.query_results_ttl_seconds),
        ),
    )


def _audit_details(query_record: QueryRecord) -> dict[str, Any]:
    details: dict[str, Any] = {
        "projectUuid": query_record.project_uuid,
        "source": query_record.source,
    }
    if query_record.explore_name:
        details["exploreName"] = query_record.explore_name
        mq = query_record.metric_query or {}
        details["dimensions"] = list(mq.get("dimensions") or [])
        details["metrics"] = list(mq.get("metrics") or [])
    else:
        details["sql"] = query_record.sql[:MAX_AUDITED_SQL]
    if query_record.saved_chart_uuid:
        details["chartUuid"] = query_record.saved_chart_uuid
    return details


def _launch(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    place: QueryPlace,
    query_record: QueryRecord,
    body: Any,
) -> None:
    job = Job(
        query_record.uuid,
        body,
        _audit_finisher(principal, place, query_record.uuid, _audit_details(query_record)),
    )
    if runner_for(runtime).start_after_commit(session, job):
        query_record.started_at = utcnow()


def _clean_metric_query(query: dict[str, Any]) -> dict[str, Any]:
    """Only the keys of a MetricQuery Lightdash's controller copies (the rest is dropped)."""
    return {key: query[key] for key in METRIC_QUERY_KEYS if key in query}


def _check_limit(runtime: Runtime, limit: Any) -> None:
    max_limit = runtime.settings.query_max_limit
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ParameterError(
            "Query limit must be a whole number, 1 or more", {"fields": {"query.limit": "invalid"}}
        )
    if limit > max_limit:
        raise ParameterError(
            f"Query limit {limit} exceeds this instance's maximum of {max_limit} "
            "(LIGHTDASH_QUERY_MAX_LIMIT): lower the limit",
            {"fields": {"query.limit": "too large"}},
        )


def _explore(session: Session, place: QueryPlace, name: Any) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise ParameterError(
            "The query needs an `exploreName`", {"fields": {"query.exploreName": "required"}}
        )
    found = project_repository.explore(session, place.project.uuid, name)
    if found is None:
        raise NotFoundError(f"Explore {name!r} not found in this project")
    return found.body


def _submit_metric_query(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    place: QueryPlace,
    query: dict[str, Any],
    *,
    explore_name: str | None = None,
    source: str,
    context: str | None,
    chart_uuid: str | None = None,
) -> QuerySubmitted:
    """Compile, check the rate, write the record and launch the run after the commit."""
    query = _clean_metric_query(query)
    if explore_name is not None:
        query["exploreName"] = explore_name
    explore = _explore(session, place, query.get("exploreName"))
    connection = execution.project_connection(runtime, place.project)
    compiled = execution.compile_metric_query(runtime, explore, query, connection)
    _check_rate(runtime, session, principal)
    query_record = _new_record(
        runtime,
        session,
        principal,
        place,
        source=source,
        sql=compiled.sql,
        context=context,
        explore_name=str(query["exploreName"]),
        metric_query=compiled.metric_query,
        fields=compiled.fields,
        chart_uuid=chart_uuid,
    )
    body = execution.metric_query_body(runtime, connection, compiled)
    _launch(runtime, session, principal, place, query_record, body)
    return QuerySubmitted(
        query_uuid=query_record.uuid,
        metric_query=compiled.metric_query,
        fields=compiled.fields,
        warnings=compiled.warnings,
    )


def run_metric_query(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    project_uuid: str,
    query: dict[str, Any],
    context: str | None = None,
) -> QuerySubmitted:
    """Start an ad-hoc metric query; answers at once with its uuid and fields.

    Rules: `manage:Explore` (+ `manage:CustomSql` for custom SQL dimensions); the limit
    defaults to LIGHTDASH_QUERY_DEFAULT_LIMIT and may not exceed LIGHTDASH_QUERY_MAX_LIMIT
    (400); the rate limit and the process's capacity (429) are checked before anything
    is written.
    """
    place = _project(session, principal, project_uuid)
    _require(principal, place, "manage", "Explore")
    _require_custom_sql(principal, place, query)
    return _submit_metric_query(
        runtime, session, principal, place, query, source="metric_query", context=context
    )


def _visible_chart(
    session: Session, principal: Principal, place: QueryPlace, chart_uuid: str
) -> SavedChart:
    chart = tenancy.get_in_organization(session, SavedChart, chart_uuid, principal, "Chart")
    try:
        _space, space_target = tenancy.visible_space(session, principal, chart.space_uuid)
    except NotFoundError:
        raise NotFoundError("Chart not found") from None  # a hidden chart is an unknown one
    if chart.project_uuid != place.project.uuid:
        raise ForbiddenError("Chart does not belong to project")
    access.require(
        access.allows(principal, "view", "SavedChart", project=place.target, space=space_target)
    )
    return chart


def _and_filters(base: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    """The chart's filters with `extra` ANDed on, per kind (dimensions, metrics, calcs)."""
    if not extra:
        return base
    merged = dict(base)
    for kind in ("dimensions", "metrics", "tableCalculations"):
        group = extra.get(kind)
        if not group or not isinstance(group, dict):
            continue
        existing = merged.get(kind)
        merged[kind] = {"and": [existing, group]} if existing else group
    return merged


def _chart_query(
    chart: SavedChart, limit: int | None, extra: dict[str, Any] | None
) -> dict[str, Any]:
    query = dict(chart.metric_query or {})
    query["exploreName"] = query.get("exploreName") or chart.table_name
    query["filters"] = _and_filters(dict(query.get("filters") or {}), extra)
    if limit is not None:
        query["limit"] = limit
    return query


def run_chart_query(
    runtime: Runtime, session: Session, principal: Principal, project_uuid: str, body: ChartQueryRun
) -> QuerySubmitted:
    """Start a saved chart's query. Rules: `view:SavedChart` in the chart's space, no more."""
    place = _project(session, principal, project_uuid)
    chart = _visible_chart(session, principal, place, body.chart_uuid)
    extra = (
        _and_filters(body.filters or {}, body.dashboard_filters)
        if body.dashboard_filters
        else body.filters
    )
    query = _chart_query(chart, body.limit, extra)
    submitted = _submit_metric_query(
        runtime,
        session,
        principal,
        place,
        query,
        explore_name=query["exploreName"],
        source="chart",
        context=body.context,
        chart_uuid=chart.uuid,
    )
    return submitted


def _tables_of(explore: dict[str, Any]) -> set[str]:
    tables = explore.get("tables")
    return set(tables) if isinstance(tables, dict) else set()


def _applicable(group: Any, tables: set[str]) -> list[dict[str, Any]]:
    """Dashboard filter rules whose target table is in the explore (Lightdash's rule)."""
    rules = group if isinstance(group, list) else []
    kept = []
    for rule in rules:
        if not isinstance(rule, dict) or rule.get("disabled"):
            continue
        target = rule.get("target") or {}
        table = target.get("tableName")
        field_id = target.get("fieldId")
        if table in tables and isinstance(field_id, str):
            kept.append({k: v for k, v in rule.items() if k not in ("tileTargets", "label")})
    return kept


def run_dashboard_chart_query(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    project_uuid: str,
    body: DashboardChartQueryRun,
) -> QuerySubmitted:
    """Start a dashboard tile's chart query with the dashboard's filters.

    Rules: the dashboard must be visible (404) and in this project (403 `Dashboard does not
    belong to project`); the chart needs `view:SavedChart` in its space; only filter rules
    on tables of the chart's explore apply (they are answered as `appliedDashboardFilters`).
    """
    place = _project(session, principal, project_uuid)
    dashboard = tenancy.get_in_organization(
        session, Dashboard, body.dashboard_uuid, principal, "Dashboard"
    )
    tenancy.visible_space(session, principal, dashboard.space_uuid)
    if dashboard.project_uuid != place.project.uuid:
        raise ForbiddenError("Dashboard does not belong to project")
    chart = _visible_chart(session, principal, place, body.chart_uuid)
    explore = _explore(
        session, place, (chart.metric_query or {}).get("exploreName") or chart.table_name
    )
    tables = _tables_of(explore)
    applied: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for kind in ("dimensions", "metrics", "tableCalculations"):
        rules = _applicable(body.dashboard_filters.get(kind), tables)
        applied[kind] = rules
        if rules:
            extra[kind] = {"and": rules}
    query = _chart_query(chart, body.limit, extra)
    if body.dashboard_sorts:
        query["sorts"] = body.dashboard_sorts
    submitted = _submit_metric_query(
        runtime,
        session,
        principal,
        place,
        query,
        explore_name=query["exploreName"],
        source="dashboard_chart",
        context=body.context,
        chart_uuid=chart.uuid,
    )
    submitted.applied_dashboard_filters = applied
    return submitted


def _submit_sql(
    runtime: Runtime, session: Session, principal: Principal, project_uuid: str, body: SqlQueryRun
) -> QueryRecord:
    place = _project(session, principal, project_uuid)
    _require(principal, place, "manage", "SqlRunner")
    limit = body.limit if body.limit is not None else runtime.settings.query_max_limit
    _check_limit(runtime, limit)
    connection = execution.project_connection(runtime, place.project)
    sql = execution.limited_sql(body.sql, limit, connection)
    _check_rate(runtime, session, principal)
    query_record = _new_record(
        runtime,
        session,
        principal,
        place,
        source="sql",
        sql=sql,
        context=body.context or "sqlRunner",
    )
    _launch(
        runtime,
        session,
        principal,
        place,
        query_record,
        execution.sql_body(runtime, connection, sql),
    )
    return query_record


def run_sql(
    runtime: Runtime, session: Session, principal: Principal, project_uuid: str, body: SqlQueryRun
) -> QuerySubmitted:
    """Start a SQL query (v2). Rules: `manage:SqlRunner`; one statement, read-only warehouse."""
    return QuerySubmitted(
        query_uuid=_submit_sql(runtime, session, principal, project_uuid, body).uuid
    )


def schedule_sql(
    runtime: Runtime, session: Session, principal: Principal, project_uuid: str, body: SqlQueryRun
) -> str:
    """The v1 SQL runner: the same run, answered as a job id (the query's uuid)."""
    return _submit_sql(runtime, session, principal, project_uuid, body).uuid


def compile_query(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    project_uuid: str,
    explore_name: str,
    query: dict[str, Any],
) -> CompiledSql:
    """The SQL a metric query would run, values shown inline. Rules: `manage:Explore`."""
    place = _project(session, principal, project_uuid)
    _require(principal, place, "manage", "Explore")
    _require_custom_sql(principal, place, query)
    query = _clean_metric_query(query)
    query["exploreName"] = explore_name
    explore = _explore(session, place, explore_name)
    connection = execution.project_connection(runtime, place.project, required=False)
    compiled = execution.compile_metric_query(runtime, explore, query, connection)
    return CompiledSql(query=compiled.display_sql())


def run_query_now(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    project_uuid: str,
    explore_name: str,
    query: dict[str, Any],
) -> LegacyQueryResults:
    """The legacy synchronous `runQuery`: the same rules and record, run in this request.

    A warehouse error is a 400 `WarehouseQueryError` here (there is no status to poll).
    """
    place = _project(session, principal, project_uuid)
    _require(principal, place, "manage", "Explore")
    _require_custom_sql(principal, place, query)
    query = _clean_metric_query(query)
    query["exploreName"] = explore_name
    explore = _explore(session, place, explore_name)
    connection = execution.project_connection(runtime, place.project)
    compiled = execution.compile_metric_query(runtime, explore, query, connection)
    _check_rate(runtime, session, principal)
    query_record = _new_record(
        runtime,
        session,
        principal,
        place,
        source="metric_query",
        sql=compiled.sql,
        context="api",
        explore_name=explore_name,
        metric_query=compiled.metric_query,
        fields=compiled.fields,
    )
    job = Job(
        query_record.uuid,
        execution.metric_query_body(runtime, connection, compiled),
        _audit_finisher(principal, place, query_record.uuid, _audit_details(query_record)),
    )
    _status, outcome, error = runner_for(runtime).run_inline(session, job)
    if outcome is None:
        raise execution.WarehouseQueryError(error or "Query was cancelled")
    return LegacyQueryResults(
        metric_query=compiled.metric_query, rows=outcome.wire_rows(), fields=compiled.fields
    )


# -- results -------------------------------------------------------------------------


def _not_expired(query_record: QueryRecord) -> None:
    if query_record.expires_at <= utcnow():
        raise ExpiredError(
            f"Results expired for file {query_record.uuid} and project {query_record.project_uuid}"
        )


def _columns(query_record: QueryRecord) -> dict[str, Any]:
    """The result's columns in their order (stored as a list: see the runner)."""
    stored: Any = query_record.columns or []
    return {column["reference"]: column for column in stored}


def _wait_for_outcome(runtime: Runtime, query_uuid: str) -> QueryRecord | None:
    """Wait, at most RESULTS_WAIT_SECONDS, for a pending query to end: its record read afresh,
    or None while it is still pending. The process running it says when; any other reads the
    record (in new sessions: a transaction's snapshot would not see the change)."""
    deadline = time.monotonic() + RESULTS_WAIT_SECONDS
    if runner_for(runtime).wait_finished(query_uuid, RESULTS_WAIT_SECONDS) is False:
        return None
    pause = 0.01
    while True:
        with runtime.sessions() as fresh:
            found = repository.record(fresh, query_uuid)
        if found is None or found.status != repository.PENDING:
            return found
        if time.monotonic() + pause > deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _covered(chunks: Sequence[Row[int, int, str]], first: int, last: int) -> bool:
    rows = sum(min(start + count, last) - max(start, first) for start, count, _ in chunks)
    return rows >= last - first


def _page_json(
    runtime: Runtime, session: Session, query_record: QueryRecord, first: int, last: int
) -> str:
    """Rows `first` … `last - 1` as the inside of a JSON array, joined from their stored texts;
    rows still being stored (the runner writes them after `ready`) are waited for."""
    chunks = repository.chunks_covering(session, query_record.uuid, first, last)
    deadline = time.monotonic() + CHUNK_WAIT_SECONDS
    while not _covered(chunks, first, last):
        if time.monotonic() > deadline:
            # Only a process that stopped while storing them leaves rows missing this long:
            # those results are gone for good, as expired ones are.
            raise ExpiredError(
                f"The results of query {query_record.uuid} were not all stored "
                "(the process storing them stopped): run the query again"
            )
        time.sleep(0.02)
        with runtime.sessions() as fresh:
            chunks = repository.chunks_covering(fresh, query_record.uuid, first, last)
    parts: list[str] = []
    for chunk in chunks:
        if chunk.first_row >= first and chunk.first_row + chunk.row_count <= last:
            parts.append(chunk.rows.replace("\n", ","))
            continue
        start = max(0, first - chunk.first_row)
        parts.extend(chunk.rows.split("\n")[start : last - chunk.first_row])
    return ",".join(parts)


@dataclass(frozen=True)
class PageAnswer:
    """The wire object of a results poll (camelCase, absent keys left out) and, when ready,
    its `rows` as JSON text (the inside of the array), which the endpoint splices in."""

    body: dict[str, Any]
    rows_json: str | None = None


def results_page(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    project_uuid: str,
    query_uuid: str,
    page: int | None,
    page_size: int | None,
) -> PageAnswer:
    """A query's status, and when ready one page of its rows.

    Rules: the creator only (403); a pending query is waited for a moment (module doc), then
    `pending`, `cancelled` and `error` answer their status (error with the warehouse's
    message); expired results are 406; page and page size are checked as Lightdash does
    (422 PaginationError).
    """
    started = time.perf_counter()
    query_record = _own_record(session, principal, project_uuid, query_uuid, NOT_YOURS)
    waited = query_record.status == repository.PENDING
    if waited:
        query_record = _wait_for_outcome(runtime, query_uuid) or query_record
    status = query_record.status
    if status == repository.ERROR:
        return PageAnswer({"status": "error", "queryUuid": query_uuid, "error": query_record.error})
    if status in (repository.PENDING, repository.CANCELLED):
        return PageAnswer({"status": status, "queryUuid": query_uuid})
    _not_expired(query_record)
    page = 1 if page is None else page
    size = (
        page_size
        if page_size is not None
        else (query_record.default_page_size or DEFAULT_PAGE_SIZE)
    )
    max_page_size = runtime.settings.query_max_page_size
    if page < 1:
        raise PaginationError("page should be greater than 0")
    if size < 1:
        raise PaginationError("page size should be greater than 0")
    if size > max_page_size:
        raise PaginationError(f"page size is too large, max is {max_page_size}")
    total = query_record.total_rows or 0
    page_count = math.ceil(total / size)
    if total and page > page_count:
        raise PaginationError(f"invalid page {page}, last page is {page_count}")
    first = (page - 1) * size
    last = min(first + size, total)
    rows_json = ""
    if last > first and waited:  # this session's snapshot may predate the rows
        with runtime.sessions() as fresh:
            rows_json = _page_json(runtime, fresh, query_record, first, last)
    elif last > first:
        rows_json = _page_json(runtime, session, query_record, first, last)
    page_body: dict[str, Any] = {
        "status": "ready",
        "queryUuid": query_uuid,
        "columns": _columns(query_record),
        "page": page,
        "pageSize": max(0, last - first),
        "totalPageCount": page_count,
        "totalResults": total,
        "initialQueryExecutionMs": query_record.warehouse_ms,
        "resultsPageExecutionMs": int((time.perf_counter() - started) * 1000),
    }
    if page_count and page < page_count:
        page_body["nextPage"] = page + 1
    if page > 1:
        page_body["previousPage"] = page - 1
    return PageAnswer(page_body, rows_json)


def cancel_query(
    session: Session, principal: Principal, project_uuid: str, query_uuid: str
) -> None:
    """Cancel a query. Rules: the creator only (403); the running process sees the mark and
    stops the warehouse query; cancelling a finished query changes nothing."""
    query_record = _own_record(session, principal, project_uuid, query_uuid, NOT_YOURS_TO_CANCEL)
    repository.finish(session, query_record.uuid, repository.CANCELLED, finished_at=utcnow())


def job_status(
    runtime: Runtime, session: Session, principal: Principal, job_id: str
) -> JobStatusOut:
    """Any job's status: an SQL-runner query's, else a recorded job's (validation, copies).

    Rules: an SQL job is read only by the principal that started it (others: 404, as if it
    did not exist); a recorded job by whoever may see its project (`jobs.job_status`).
    """
    query_record = repository.record_in_organization(session, principal.organization_uuid, job_id)
    if query_record is None or query_record.created_by_user_uuid != principal.user_uuid:
        return jobs.job_status(session, principal, job_id)
    if query_record.status == repository.PENDING:
        return JobStatusOut(
            status="started" if query_record.started_at else "scheduled", details=None
        )
    if query_record.status == repository.READY:
        site = runtime.settings.site_url.rstrip("/")
        columns = _columns(query_record)
        return JobStatusOut(
            status="completed",
            details={
                "fileUrl": f"{site}/api/v1/projects/{query_record.project_uuid}/sqlRunner/results/{query_record.uuid}",
                "columns": [
                    {"reference": name, "type": meta.get("type", "string")}
                    for name, meta in columns.items()
                ],
            },
        )
    message = (
        query_record.error if query_record.status == repository.ERROR else "Query was cancelled"
    )
    return JobStatusOut(
        status="error",
        details={"error": message, "createdByUserUuid": query_record.created_by_user_uuid},
    )


def results_file(
    runtime: Runtime, session: Session, principal: Principal, project_uuid: str, query_uuid: str
) -> bytes:
    """The SQL runner's results file: one raw row object per line (JSONL).

    Rules: the creator only; a query that is not ready is 404 `Result file not found`;
    expired results are 406.
    """
    query_record = _own_record(session, principal, project_uuid, query_uuid, NOT_YOURS)
    if query_record.status != repository.READY:
        raise NotFoundError(f"Result file not found for query {query_uuid}")
    _not_expired(query_record)
    total = query_record.total_rows or 0
    rows = orjson.loads("[" + _page_json(runtime, session, query_record, 0, total) + "]")
    lines = [orjson.dumps({key: cell["value"]["raw"] for key, cell in row.items()}) for row in rows]
    return b"\n".join(lines) + (b"\n" if lines else b"")


def warehouse_tables(
    runtime: Runtime, session: Session, principal: Principal, project_uuid: str
) -> Any:
    """The warehouse's catalog. Rules: `manage:SqlRunner`."""
    place = _project(session, principal, project_uuid)
    _require(principal, place, "manage", "SqlRunner")
    return execution.list_tables(runtime, execution.project_connection(runtime, place.project))


def warehouse_fields(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    project_uuid: str,
    table: str | None,
    schema: str | None,
) -> Any:
    """The columns of one table (or of every table). Rules: `manage:SqlRunner`."""
    place = _project(session, principal, project_uuid)
    _require(principal, place, "manage", "SqlRunner")
    connection = execution.project_connection(runtime, place.project)
    return execution.list_fields(runtime, connection, table, schema)
