"""`lightkeeper query` and `lightkeeper sql`: run a query on a project's warehouse and print rows.

`query` builds a metric query from flags (fields are checked against the explore first, so a
typo is a usage error with suggestions, exit 2); `sql` runs SQL through the SQL runner
(`manage:SqlRunner`). Both wait for the query with a progress indicator on stderr (a terminal
only), read every page, and print the rows on stdout:

- `--format table` (default for people): labels as headers, formatted values;
- `--format csv`: field ids as headers, raw values (for pipelines);
- `--format json` (or `--json`): `{"queryUuid", "columns", "rows", "totalResults"}`, rows as
  objects of raw values keyed by field id.

Ctrl-C or `--timeout` cancels the query on the server (the warehouse stops too). Exit codes as
every other command: 0, 1 (the server refused or the query failed; its message as is),
2 (bad arguments), 3 (server unreachable).
"""

from __future__ import annotations

import csv
import sys
from enum import StrEnum
from typing import Any

import typer

from lightkeeper.client.commands.common import JsonOption, ProjectOption, connect, project_of
from lightkeeper.client.http import ApiClient, CliError
from lightkeeper.client.output import Output, UsageError, handle_errors
from lightkeeper.client.queries import (
    DEFAULT_PAGE_SIZE,
    FILTER_HELP,
    SORT_HELP,
    ExploreFields,
    QueryRunner,
    Result,
    metric_query,
)

DEFAULT_LIMIT = 500
DEFAULT_TIMEOUT = 300.0


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FormatOption = typer.Option(
    Format.TABLE, "--format", "-f", help="table (for people), csv or json (for pipelines)."
)
LimitOption = typer.Option(
    DEFAULT_LIMIT,
    "--limit",
    min=1,
    help="Most rows to return (the server caps it at its maxLimit).",
)
TimeoutOption = typer.Option(
    DEFAULT_TIMEOUT,
    "--timeout",
    min=1,
    help="Seconds to wait for the query; it is cancelled on the server after that.",
)


def _page_size(client: ApiClient, limit: int) -> int:
    """min(the server's maxPageSize, limit); the health check failing is no reason to stop."""
    try:
        health = client.get("/api/v1/health") or {}
        size = int((health.get("query") or {}).get("maxPageSize") or DEFAULT_PAGE_SIZE)
    except (CliError, TypeError, ValueError):
        size = DEFAULT_PAGE_SIZE
    return max(1, min(size, limit))


def _run(
    output: Output,
    client: ApiClient,
    project_uuid: str,
    path: str,
    body: dict[str, Any],
    *,
    limit: int,
    timeout: float,
) -> Result:
    with output.progress("Submitting query", total=None) as step:

        def report(description: str, done: int | None, total: int | None) -> None:
            step.update(description=description, total=total, completed=done)

        runner = QueryRunner(
            client,
            project_uuid,
            page_size=_page_size(client, limit),
            timeout=timeout,
            progress=report,
        )
        return runner.run(path, body, limit)


def _json_value(value: Any) -> Any:
    return (
        value
        if value is None or isinstance(value, bool | int | float | str | list | dict)
        else str(value)
    )


def _print(output: Output, result: Result, chosen: Format) -> None:
    ids = [c.field_id for c in result.columns]
    if chosen is Format.JSON:
        output.json(
            {
                "queryUuid": result.query_uuid,
                "columns": [
                    {"fieldId": c.field_id, "label": c.label, "type": c.type}
                    for c in result.columns
                ],
                "rows": [
                    {key: _json_value(row.get(key, (None, ""))[0]) for key in ids}
                    for row in result.rows
                ],
                "totalResults": result.total_results,
            }
        )
        return
    if chosen is Format.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(ids)
        for row in result.rows:
            writer.writerow(
                ["" if (raw := row.get(key, (None, ""))[0]) is None else raw for key in ids]
            )
        sys.stdout.flush()
        return
    output.table(
        [c.label for c in result.columns],
        [[row.get(key, (None, ""))[1] for key in ids] for row in result.rows],
    )
    shown = len(result.rows)
    more = f" of {result.total_results}" if result.total_results > shown else ""
    timing = f" in {result.execution_ms} ms" if result.execution_ms is not None else ""
    output.note(f"{shown}{more} row{'s' if shown != 1 else ''}{timing}")


def _format(chosen: Format, as_json: bool) -> Format:
    return Format.JSON if as_json else chosen


@handle_errors
def query(
    explore: str = typer.Option(..., "--explore", "-e", help="The explore to query, e.g. orders."),
    metrics: list[str] | None = typer.Option(
        None,
        "--metric",
        "-m",
        help="A metric's field id (e.g. orders_total_order_amount), repeatable.",
    ),
    dimensions: list[str] | None = typer.Option(
        None, "--dimension", "-d", help="A dimension's field id (e.g. orders_status), repeatable."
    ),
    filters: list[str] | None = typer.Option(None, "--filter", help=FILTER_HELP),
    sorts: list[str] | None = typer.Option(None, "--sort", help=SORT_HELP),
    limit: int = LimitOption,
    timezone: str | None = typer.Option(
        None,
        "--timezone",
        help="Time zone for date truncation and relative dates, e.g. Europe/London.",
    ),
    list_fields: bool = typer.Option(
        False, "--list-fields", help="List the explore's dimensions and metrics, run nothing."
    ),
    output_format: Format = FormatOption,
    timeout: float = TimeoutOption,
    project: str | None = ProjectOption,
    as_json: bool = JsonOption,
) -> None:
    """Run a metric query on an explore and print its rows."""
    chosen = _format(output_format, as_json)
    output = Output(chosen is Format.JSON)
    if not explore.strip():
        raise UsageError("--explore cannot be empty")
    client, context = connect(output, project=project)
    project_uuid = project_of(context)
    with client:
        found = client.get(f"/api/v1/projects/{project_uuid}/explores/{explore.strip()}")
        fields = ExploreFields.from_explore(found if isinstance(found, dict) else {})
        if list_fields:
            _list_fields(output, fields)
            return
        body = {
            "query": metric_query(
                fields,
                dimensions=dimensions or [],
                metrics=metrics or [],
                filters=filters or [],
                sorts=sorts or [],
                limit=limit,
                timezone=timezone,
            ),
        }
        result = _run(
            output, client, project_uuid, "metric-query", body, limit=limit, timeout=timeout
        )
    _print(output, result, chosen)


def _list_fields(output: Output, fields: ExploreFields) -> None:
    ordered = sorted(fields.fields.values(), key=lambda f: (f.kind != "dimension", f.field_id))
    if output.as_json:
        output.json(
            [
                {"fieldId": f.field_id, "kind": f.kind, "type": f.type, "label": f.label}
                for f in ordered
            ]
        )
        return
    output.table(
        ["Field id", "Kind", "Type", "Label"],
        [[f.field_id, f.kind, f.type, f.label] for f in ordered],
        title=f"Fields of {fields.name}",
    )


@handle_errors
def sql(
    statement: str = typer.Argument(
        ..., help='The SQL to run, e.g. "select * from orders"; - reads stdin.'
    ),
    limit: int = LimitOption,
    output_format: Format = FormatOption,
    timeout: float = TimeoutOption,
    project: str | None = ProjectOption,
    as_json: bool = JsonOption,
) -> None:
    """Run SQL on the project's warehouse (needs manage:SqlRunner) and print its rows."""
    chosen = _format(output_format, as_json)
    output = Output(chosen is Format.JSON)
    text = sys.stdin.read() if statement == "-" else statement
    if not text.strip():
        raise UsageError("The SQL is empty" + (" (nothing on stdin)" if statement == "-" else ""))
    client, context = connect(output, project=project)
    project_uuid = project_of(context)
    with client:
        body = {"sql": text, "limit": limit}
        result = _run(output, client, project_uuid, "sql", body, limit=limit, timeout=timeout)
    _print(output, result, chosen)
