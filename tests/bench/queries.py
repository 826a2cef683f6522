"""Benchmark of the query layer: Lightkeeper's overhead over DuckDB itself. Figures, not assertions.

Run with `make bench` (all benchmarks) or `BENCH_ONLY=queries make bench` (this one). One real
server process (tests/servers.py) per application database (SQLite, then PostgreSQL), the
official SDK (`lightdash` 1.1.0) with a service-account token, and a generated DuckDB warehouse
of 1,000,000 rows (`bench.analytics.events`: id, category, amount, date), deployed as the explore `events`
through the same dbt conversion as `lightkeeper deploy`. Prints:

(q1) a 1-row aggregate (`sum(amount)`, `count(*)`): end-to-end time of the SDK's
     `query.execute()` (submit, poll, first page) / the same compiled SQL (v1 compileQuery)
     run directly on DuckDB (read-only connection, execute + fetch). Goal ≤ 1.5x.
(q2) a 1,000,000-row scan (every event id): the same ratio. Goal ≤ 1.2x.
(q3) results paging: rows/s through `GET …/query/{uuid}?page=N&pageSize=2500` (every page of the
     q2 query, read and parsed as JSON) / rows/s fetched directly from DuckDB in batches of 2,500.
     Goal ≥ 0.5.

Each figure is the median of a few runs. The direct runs open the file afresh each time (as a
script would; the server keeps one open database per file per process): the time that takes is
printed. Also printed, the SDK's own floor: `execute()` always makes two authenticated requests
(submit, then poll), each through a new `httpx.Client`; two `GET /api/v1/user` made the same way
(`client._make_request`: a new client, the token checked, one small answer) are about the least
a server could answer them in, and the ratio without them is the rest of the server's share.
And q3's floor: the time a client takes only to parse one page's JSON, as a multiple of
DuckDB's time for the same batch (a ratio of 0.5 leaves the whole page request twice that batch).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import lightdash

from lightkeeper.dbt_manifest import convert_manifest
from lightkeeper.kit.tokens import TokenKind, generate
from tests.servers import running_server, server_env

# BENCH_QUERY_ROWS=20000 for a quick check of the benchmark itself; the figures are for 1,000,000.
ROWS = int(os.environ.get("BENCH_QUERY_ROWS", "1000000"))
PAGE_SIZE = 2500
REPEAT_AGGREGATE = 7
REPEAT_SCAN = 3
GOALS = {"aggregate": 1.5, "scan": 1.2, "paging": 0.5}


def build_warehouse(path: Path, rows: int = ROWS) -> None:
    """`bench.analytics.events`: `rows` rows of a deterministic id, category, amount and date."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA analytics")
        connection.execute(
            """
            CREATE TABLE analytics.events AS
            SELECT i::BIGINT AS event_id,
                   'category_' || (i % 25)::VARCHAR AS category,
                   ((i * 7919) % 100000) / 100.0 AS amount,
                   DATE '2024-01-01' + (i % 366)::INTEGER AS event_date
            FROM range(?) AS t(i)
            """,
            [rows],
        )


def events_manifest() -> dict[str, Any]:
    """A one-model dbt manifest for `analytics.events` (DuckDB names the database after the file)."""
    columns = {
        "event_id": {
            "data_type": "bigint",
            "meta": {"metrics": {"event_count": {"type": "count"}}},
        },
        "category": {"data_type": "varchar", "meta": {}},
        "amount": {"data_type": "double", "meta": {"metrics": {"total_amount": {"type": "sum"}}}},
        "event_date": {"data_type": "date", "meta": {}},
    }
    return {
        "metadata": {"adapter_type": "duckdb", "project_name": "bench"},
        "nodes": {
            "model.bench.events": {
                "resource_type": "model",
                "unique_id": "model.bench.events",
                "name": "events",
                "database": "bench",
                "schema": "analytics",
                "alias": "events",
                "relation_name": '"bench"."analytics"."events"',
                "description": "Generated events",
                "columns": {
                    name: {"name": name, "description": "", **c} for name, c in columns.items()
                },
                "meta": {},
                "config": {"meta": {}},
            }
        },
    }


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    return interleaved([run], repeat)[0]


def interleaved(
    runs: list[Callable[[], object]], repeat: int, between: Callable[[], object] | None = None
) -> list[float]:
    """The median time of each of `runs`, taken in turn `repeat` times (so that the load of a
    shared machine weighs on all alike); `between` runs untimed after each round."""
    timings: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for run, times in zip(runs, timings, strict=True):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        if between is not None:
            between()
    return [statistics.median(times) for times in timings]


def direct(database: Path, sql: str) -> int:
    """Run `sql` on a fresh read-only DuckDB connection and fetch every row; returns the count."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return len(connection.execute(sql).fetchall())


def direct_batches(database: Path, sql: str) -> int:
    with duckdb.connect(str(database), read_only=True) as connection:
        cursor = connection.execute(sql)
        count = 0
        while batch := cursor.fetchmany(PAGE_SIZE):
            count += len(batch)
        return count


@dataclass
class Figures:
    label: str
    aggregate_sdk: float
    aggregate_direct: float
    scan_sdk: float
    scan_direct: float
    paging_rps: float
    direct_rps: float
    duckdb_open: float  # of the direct times: opening the file read-only
    sdk_floor: float  # two SDK requests to /api/v1/user: about what execute() costs on any server
    page_parse: float  # a client's json.loads of one real page's body (httpx's parser)

    @property
    def ratios(self) -> dict[str, float]:
        return {
            "aggregate": self.aggregate_sdk / self.aggregate_direct,
            "scan": self.scan_sdk / self.scan_direct,
            "paging": self.paging_rps / self.direct_rps,
            "aggregate_server": (self.aggregate_sdk - self.sdk_floor) / self.aggregate_direct,
            "scan_server": (self.scan_sdk - self.sdk_floor) / self.scan_direct,
        }

    def lines(self) -> list[str]:
        ratios = self.ratios
        return [
            f"    {self.label:10s} (q1) 1-row aggregate   SDK {self.aggregate_sdk * 1e3:9.1f} ms   "
            f"DuckDB {self.aggregate_direct * 1e3:8.1f} ms   ratio {ratios['aggregate']:6.2f}x (goal <= 1.5x)",
            f"    {self.label:10s} (q2) {ROWS:,}-row scan  SDK {self.scan_sdk * 1e3:9.1f} ms   "
            f"DuckDB {self.scan_direct * 1e3:8.1f} ms   ratio {ratios['scan']:6.2f}x (goal <= 1.2x)",
            f"    {self.label:10s} (q3) paging {PAGE_SIZE}/page   API {self.paging_rps:11,.0f} rows/s   "
            f"DuckDB {self.direct_rps:11,.0f} rows/s   ratio {ratios['paging']:6.2f} (goal >= 0.5)",
            f"    {self.label:10s}      (the direct DuckDB times include opening the file read-only: "
            f"{self.duckdb_open * 1e3:.1f} ms)",
            f"    {self.label:10s}      (the SDK's floor, two requests to /api/v1/user: "
            f"{self.sdk_floor * 1e3:.1f} ms; without it q1 {ratios['aggregate_server']:.2f}x, "
            f"q2 {ratios['scan_server']:.2f}x)",
            f"    {self.label:10s}      (a client's json.loads of one {PAGE_SIZE}-row page: "
            f"{self.page_parse * 1e3:.2f} ms, {self.page_parse * self.direct_rps / PAGE_SIZE:.1f}x "
            f"DuckDB's batch of {PAGE_SIZE}: q3's goal needs the whole request in 2x that batch)",
        ]


def measure(database_url: str | None, label: str) -> Figures:
    """Every figure against one server process whose application database is `database_url`."""
    token = generate(TokenKind.SERVICE_ACCOUNT)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        warehouse = root / "bench.duckdb"
        build_warehouse(warehouse)
        env = server_env(
            root,
            database_url,
            LOG_LEVEL="error",
            LD_SETUP_ORGANIZATION_NAME="Bench",
            LD_SETUP_ADMIN_EMAIL="admin@bench.example",
            LD_SETUP_SERVICE_ACCOUNT_TOKEN=token,
            LD_SETUP_SERVICE_ACCOUNT_EXPIRATION="0",
            LD_SETUP_PROJECT_NAME="Bench",
            LIGHTKEEPER_WAREHOUSE_DIRS=str(root),
            LIGHTDASH_QUERY_MAX_LIMIT=str(ROWS),
            LIGHTDASH_QUERY_MAX_PAGE_SIZE=str(PAGE_SIZE),
        )
        env.pop("LIGHTKEEPER_CHEAP_PASSWORD_HASH")
        with running_server(env) as server:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=600) as api:
                project = api.get("/api/v1/org/projects").json()["results"][0]["projectUuid"]
                connection = {"type": "duckdb", "database": str(warehouse), "schema": "analytics"}
                answer = api.patch(
                    f"/api/v1/projects/{project}", json={"warehouseConnection": connection}
                )
                assert answer.status_code == 200, answer.text
                explores = convert_manifest(events_manifest()).explores
                answer = api.put(f"/api/v1/projects/{project}/explores", json=explores)
                assert answer.status_code == 200, answer.text
                return _figures(label, server.url, token, project, api, warehouse)


def _figures(
    label: str, url: str, token: str, project: str, api: httpx.Client, warehouse: Path
) -> Figures:
    client = lightdash.Client(instance_url=url, access_token=token, project_uuid=project)
    events = client.models.events

    # A Query keeps its result once executed: every run builds a new one.
    def aggregate() -> Any:
        return events.query(
            metrics=[events.metrics.total_amount, events.metrics.event_count], limit=1
        )

    def scan() -> Any:
        return events.query(dimensions=[events.dimensions.event_id], limit=ROWS)

    aggregate_sql = aggregate().compile()
    scan_sql = scan().compile()
    assert direct(warehouse, aggregate_sql) == 1
    assert direct(warehouse, scan_sql) == ROWS

    def two_requests() -> None:
        for _ in range(2):
            client._make_request("GET", "/api/v1/user")

    pages = -(-ROWS // PAGE_SIZE)
    last_scan: list[Any] = []

    def run_scan() -> None:
        last_scan[:] = [scan().execute()]

    def settle() -> None:
        # The server stores a result's later rows after answering its first page: reading
        # the last page waits for them, so no timing shares the machine with that work.
        for result in last_scan:
            api.get(
                f"/api/v2/projects/{project}/query/{result.query_uuid}",
                params={"page": pages, "pageSize": PAGE_SIZE},
            ).raise_for_status()

    aggregate().execute()  # warm-up: explore cache, connection pools
    aggregate_sdk, aggregate_direct, floor = interleaved(
        [
            lambda: aggregate().execute(),
            lambda: direct(warehouse, aggregate_sql),
            two_requests,
        ],
        REPEAT_AGGREGATE,
    )
    # Each round: the direct run (the server idle), the SDK run, then the settle.
    scan_direct, scan_sdk = interleaved(
        [lambda: direct(warehouse, scan_sql), run_scan], REPEAT_SCAN, settle
    )
    opening = median_seconds(lambda: duckdb.connect(str(warehouse), read_only=True).close(), 5)

    run_scan()
    settle()
    query_uuid = last_scan[0].query_uuid

    def read_every_page() -> None:
        seen = 0
        for page in range(1, pages + 1):
            response = api.get(
                f"/api/v2/projects/{project}/query/{query_uuid}",
                params={"page": page, "pageSize": PAGE_SIZE},
            )
            seen += len(response.json()["results"]["rows"])
        assert seen == ROWS, seen

    page_body = api.get(
        f"/api/v2/projects/{project}/query/{query_uuid}", params={"page": 1, "pageSize": PAGE_SIZE}
    ).content
    page_parse = median_seconds(lambda: json.loads(page_body), 21)
    paging, batches = interleaved(
        [read_every_page, lambda: direct_batches(warehouse, scan_sql)], REPEAT_SCAN
    )
    return Figures(
        label,
        aggregate_sdk,
        aggregate_direct,
        scan_sdk,
        scan_direct,
        ROWS / paging,
        ROWS / batches,
        opening,
        floor,
        page_parse,
    )


def run(pg_database: Callable[[], AbstractContextManager[str]]) -> tuple[list[str], dict[str, Any]]:
    """Both application databases; returns the printed lines and the figures for bench.json."""
    lines = [f"queries: SDK end to end vs DuckDB directly ({ROWS:,}-row generated warehouse)"]
    print(lines[0], flush=True)
    report: dict[str, Any] = {}

    def say(figures: Figures) -> None:
        for line in figures.lines():
            print(line, flush=True)
            lines.append(line)
        report[figures.label] = {**figures.__dict__, "ratios": figures.ratios}

    say(measure(None, "SQLite"))
    with pg_database() as url:
        say(measure(url, "PostgreSQL"))
    return lines, report
