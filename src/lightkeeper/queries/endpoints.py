"""The query API: v2 `…/query/*` (async, paged results), v1 compileQuery, runQuery, SQL runner.

Handlers are thin: parse, call queries/service.py, shape the reply. What each route needs is
said in the service function it calls.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response

from lightkeeper.deps import CurrentPrincipal, RequestRoute, RuntimeDep, SessionDep
from lightkeeper.jobs.schemas import JobStatusOut
from lightkeeper.kit.schemas import Envelope, OkResponse, ok
from lightkeeper.queries import service
from lightkeeper.queries.schemas import (
    ChartQueryRun,
    CompiledSql,
    DashboardChartQueryRun,
    JobScheduled,
    LegacyQueryResults,
    MetricQueryRun,
    QuerySubmitted,
    ResultsPage,
    SqlQueryRun,
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "ParameterError / CompileError: the query or SQL cannot run as given"},
    401: {"description": "AuthorizationError: no or invalid credential"},
    403: {"description": "ForbiddenError: not permitted, or not the principal that ran it"},
    404: {"description": "NotFoundError: no such project, explore, chart or query here"},
    429: {"description": "TooManyRequestsError: the query rate limit or the runner is full"},
}
v2 = APIRouter(
    prefix="/api/v2/projects/{projectUuid}/query",
    tags=["Queries"],
    responses=_ERRORS,
    route_class=RequestRoute,
)
v1 = APIRouter(prefix="/api/v1", tags=["Queries"], responses=_ERRORS, route_class=RequestRoute)

ProjectUuid = Annotated[UUID, Path(alias="projectUuid")]
QueryUuid = Annotated[UUID, Path(alias="queryUuid")]
ExploreId = Annotated[str, Path(alias="exploreId")]


# -- v2 ------------------------------------------------------------------------------


@v2.post("/metric-query", response_model=Envelope[QuerySubmitted])
def run_metric_query(
    project_uuid: ProjectUuid,
    body: MetricQueryRun,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Start a metric query (`manage:Explore`); poll `GET …/query/{queryUuid}` for rows."""
    return ok(
        service.run_metric_query(
            runtime, session, principal, str(project_uuid), body.query, body.context
        )
    )


@v2.post("/chart", response_model=Envelope[QuerySubmitted])
def run_chart_query(
    project_uuid: ProjectUuid,
    body: ChartQueryRun,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Start a saved chart's query (`view:SavedChart` in its space)."""
    return ok(service.run_chart_query(runtime, session, principal, str(project_uuid), body))


@v2.post("/dashboard-chart", response_model=Envelope[QuerySubmitted])
def run_dashboard_chart_query(
    project_uuid: ProjectUuid,
    body: DashboardChartQueryRun,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Start a dashboard tile's chart query with the dashboard's filters."""
    return ok(
        service.run_dashboard_chart_query(runtime, session, principal, str(project_uuid), body)
    )


@v2.post("/sql", response_model=Envelope[QuerySubmitted])
def run_sql(
    project_uuid: ProjectUuid,
    body: SqlQueryRun,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Start a SQL query (`manage:SqlRunner`); its rows are keyed by column name."""
    return ok(service.run_sql(runtime, session, principal, str(project_uuid), body))


@v2.get("/{queryUuid}", response_model=Envelope[ResultsPage])
def query_results(
    project_uuid: ProjectUuid,
    query_uuid: QueryUuid,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    page: Annotated[int | None, Query(ge=-1_000_000_000, le=1_000_000_000)] = None,
    page_size: Annotated[
        int | None, Query(alias="pageSize", ge=-1_000_000_000, le=1_000_000_000)
    ] = None,
) -> Response:
    """The query's status; when ready, one page of rows (422 PaginationError off the end)."""
    answer = service.results_page(
        runtime, session, principal, str(project_uuid), str(query_uuid), page, page_size
    )
    if answer.rows_json is None:
        content = orjson.dumps({"status": "ok", "results": answer.body})
    else:
        # Thousands of rows, stored as their JSON texts: spliced in, never parsed or validated.
        rest = orjson.dumps(answer.body)[1:]
        content = (
            b'{"status":"ok","results":{"rows":[' + answer.rows_json.encode() + b"]," + rest + b"}"
        )
    return Response(content, media_type="application/json")


@v2.get(
    "/{queryUuid}/results",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "JSONL rows"}},
)
def query_results_file(
    project_uuid: ProjectUuid,
    query_uuid: QueryUuid,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """A ready query's rows, one raw JSON object per line (what Lightdash's CLI streams)."""
    content = service.results_file(runtime, session, principal, str(project_uuid), str(query_uuid))
    return Response(content, media_type="application/json")


@v2.post("/{queryUuid}/cancel", response_model=OkResponse)
def cancel_query(
    project_uuid: ProjectUuid,
    query_uuid: QueryUuid,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """Cancel one's own query; the warehouse query is stopped too."""
    service.cancel_query(session, principal, str(project_uuid), str(query_uuid))
    return ok()


# -- v1 ------------------------------------------------------------------------------


@v1.post(
    "/projects/{projectUuid}/explores/{exploreId}/compileQuery",
    response_model=Envelope[CompiledSql],
)
def compile_query(
    project_uuid: ProjectUuid,
    explore_id: ExploreId,
    body: Annotated[dict[str, Any], Body()],
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """The SQL of a metric query (`manage:Explore`), values written inline."""
    return ok(
        service.compile_query(runtime, session, principal, str(project_uuid), explore_id, body)
    )


@v1.post(
    "/projects/{projectUuid}/explores/{exploreId}/runQuery",
    response_model=Envelope[LegacyQueryResults],
    deprecated=True,
)
def run_query(
    project_uuid: ProjectUuid,
    explore_id: ExploreId,
    body: Annotated[dict[str, Any], Body()],
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Lightdash's deprecated synchronous run: the rows in the answer."""
    return ok(
        service.run_query_now(runtime, session, principal, str(project_uuid), explore_id, body)
    )


@v1.post("/projects/{projectUuid}/sqlRunner/run", response_model=Envelope[JobScheduled])
def run_sql_job(
    project_uuid: ProjectUuid,
    body: SqlQueryRun,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Start SQL as a job (`manage:SqlRunner`); poll `/api/v1/schedulers/job/{jobId}/status`."""
    job_id = service.schedule_sql(runtime, session, principal, str(project_uuid), body)
    return ok(JobScheduled(job_id=job_id))


@v1.get("/schedulers/job/{jobId}/status", response_model=Envelope[JobStatusOut])
def scheduler_job_status(
    job_id: Annotated[str, Path(alias="jobId", max_length=64)],
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Lightdash's job status (`scheduled | started | completed | error`, with `details`).

    A finished SQL job names its results file (`details.fileUrl`); validation and content
    copies are the jobs recorded by `lightkeeper.jobs`.
    """
    return ok(service.job_status(runtime, session, principal, job_id))


@v1.get(
    "/projects/{projectUuid}/sqlRunner/results/{fileId}",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "JSONL rows"}},
)
def sql_results_file(
    project_uuid: ProjectUuid,
    file_id: Annotated[UUID, Path(alias="fileId")],
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """A finished SQL job's rows, one JSON object per line (any accepted token scheme)."""
    content = service.results_file(runtime, session, principal, str(project_uuid), str(file_id))
    return Response(content, media_type="application/json")


@v1.get("/projects/{projectUuid}/sqlRunner/tables", response_model=Envelope[dict[str, Any]])
def sql_runner_tables(
    project_uuid: ProjectUuid, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The warehouse's tables: database → schema → table (`manage:SqlRunner`)."""
    return ok(service.warehouse_tables(runtime, session, principal, str(project_uuid)))


@v1.get("/projects/{projectUuid}/sqlRunner/fields", response_model=Envelope[dict[str, str]])
def sql_runner_fields(
    project_uuid: ProjectUuid,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    table_name: Annotated[str | None, Query(alias="tableName", max_length=255)] = None,
    schema_name: Annotated[str | None, Query(alias="schemaName", max_length=255)] = None,
    table: Annotated[str | None, Query(max_length=255)] = None,
    schema: Annotated[str | None, Query(max_length=255)] = None,
) -> dict[str, Any]:
    """A table's columns and types; `tableName`/`schemaName` (Lightdash) or `table`/`schema` (SDK)."""
    return ok(
        service.warehouse_fields(
            runtime,
            session,
            principal,
            str(project_uuid),
            table_name or table,
            schema_name or schema,
        )
    )
