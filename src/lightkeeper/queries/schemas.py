"""Wire models of the query API (Lightdash's bodies and shapes, reference §1).

A metric query travels as a plain object: the compiler reads and checks it
(and names what is wrong), so unknown keys here are simply passed along.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from lightkeeper.kit.schemas import CamelModel

# The keys of a MetricQuery that Lightdash's controller copies; anything else is dropped.
METRIC_QUERY_KEYS = (
    "exploreName",
    "dimensions",
    "metrics",
    "filters",
    "sorts",
    "limit",
    "tableCalculations",
    "additionalMetrics",
    "customDimensions",
    "timezone",
    "pivotDimensions",
    "metricOverrides",
    "dimensionOverrides",
)


class MetricQueryRun(CamelModel):
    """`POST /api/v2/projects/{p}/query/metric-query`."""

    query: dict[str, Any]
    context: str | None = None
    invalidate_cache: bool | None = None
    parameters: dict[str, Any] | None = None


class ChartQueryRun(CamelModel):
    """`POST …/query/chart`: a saved chart's query, with optional extra filters ANDed on."""

    chart_uuid: str
    version_uuid: str | None = None
    limit: int | None = None
    filters: dict[str, Any] | None = None
    dashboard_filters: dict[str, Any] | None = None
    context: str | None = None
    invalidate_cache: bool | None = None
    parameters: dict[str, Any] | None = None


class DashboardChartQueryRun(CamelModel):
    """`POST …/query/dashboard-chart`: a dashboard tile's chart with the dashboard's filters."""

    chart_uuid: str
    tile_uuid: str
    dashboard_uuid: str
    dashboard_filters: dict[str, Any]
    dashboard_sorts: list[dict[str, Any]] = Field(default_factory=list)
    limit: int | None = None
    context: str | None = None
    invalidate_cache: bool | None = None
    parameters: dict[str, Any] | None = None


class SqlQueryRun(CamelModel):
    """`POST …/query/sql` and `POST /api/v1/projects/{p}/sqlRunner/run`."""

    sql: str
    limit: int | None = None
    context: str | None = None


class CacheMetadata(CamelModel):
    """Lightdash's `CacheMetadata`: its times are optional dates, so they are omitted when
    there are none (a null crashes the generated client's parser)."""

    cache_hit: bool = False
    cache_updated_time: str | None = Field(default=None, exclude_if=lambda v: v is None)
    cache_expires_at: str | None = Field(default=None, exclude_if=lambda v: v is None)


class QuerySubmitted(CamelModel):
    """What a submit answers at once; the rows come from the results route."""

    query_uuid: str
    cache_metadata: CacheMetadata = Field(default_factory=CacheMetadata)
    metric_query: dict[str, Any] | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    parameter_references: list[str] = Field(default_factory=list)
    used_parameters_values: dict[str, Any] = Field(default_factory=dict)
    applied_dashboard_filters: dict[str, Any] | None = None


class ResultsPage(CamelModel):
    """`GET …/query/{queryUuid}`: a status; a ready query adds one page of rows."""

    status: Literal["pending", "ready", "error", "cancelled"]
    query_uuid: str
    error: str | None = None
    rows: list[dict[str, Any]] | None = None
    columns: dict[str, Any] | None = None
    page: int | None = None
    page_size: int | None = None
    total_page_count: int | None = None
    total_results: int | None = None
    next_page: int | None = None
    previous_page: int | None = None
    initial_query_execution_ms: int | None = None
    results_page_execution_ms: int | None = None
    pivot_details: dict[str, Any] | None = None


class CompiledSql(CamelModel):
    query: str
    parameter_references: list[str] = Field(default_factory=list)


class LegacyQueryResults(CamelModel):
    """`…/runQuery`: Lightdash's synchronous `ApiQueryResults`."""

    metric_query: dict[str, Any]
    cache_metadata: CacheMetadata = Field(default_factory=CacheMetadata)
    rows: list[dict[str, Any]]
    fields: dict[str, Any]


class JobScheduled(CamelModel):
    job_id: str
