"""Cancel stops the warehouse query; run-time and concurrency limits; two processes share queries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete

from lightkeeper import warehouse
from lightkeeper.db import transaction
from lightkeeper.kit.clock import utcnow
from lightkeeper.models import QueryRecord, QueryResultChunk
from lightkeeper.queries import execution, repository
from lightkeeper.queries import service as query_service
from lightkeeper.queries.runner import CancelScope, Job, QueryCancelled, QueryFailed, runner_for
from lightkeeper.runtime import Runtime
from tests.queries.conftest import wait_for
from tests.servers import running_server, server_env
from tests.support import add_query_project, add_service_account, audit_events, count_rows, make_org

# Minutes of work for DuckDB, reading no file: only a cancel or a limit ends it in a test.
ENDLESS = "select count(*) as n from range(1000000000000) a(i) where i % 7 = 3"
SERVER_SECRET = server_env(Path("."))["LIGHTDASH_SECRET"]


def start_sql(client: Any, base: str, project: str, headers: dict[str, str], sql: str) -> Any:
    return client.post(
        f"{base}/api/v2/projects/{project}/query/sql", json={"sql": sql}, headers=headers
    )


def acme_project(runtime: Runtime, connection: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A new organization with a project on the DuckDB warehouse: the project and the headers
    of its admin."""
    org = make_org(runtime, "Acme")
    return add_query_project(runtime, org, "Jaffle", connection), org.people["admin"].headers


class Limited(NamedTuple):
    runtime: Runtime
    client: TestClient
    project: str
    headers: dict[str, str]


@pytest.fixture
def limited(
    make_client: Callable[..., TestClient],
    make_runtime: Callable[..., Runtime],
    warehouse_dir: Path,
    duckdb_connection: dict[str, Any],
) -> Callable[..., Limited]:
    """A server with its own query limits (`LIGHTKEEPER_QUERY_*` settings) and acme_project."""

    def build(**settings: Any) -> Limited:
        runtime = make_runtime(LIGHTKEEPER_WAREHOUSE_DIRS=str(warehouse_dir), **settings)
        return Limited(runtime, make_client(runtime), *acme_project(runtime, duckdb_connection))

    return build


def wait_until_idle(runtime: Runtime, message: str) -> None:
    """Until this process's runner has no query in flight (60 s at most)."""
    deadline = time.monotonic() + 60
    while runner_for(runtime).in_flight:
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def test_cancel_stops_the_running_warehouse_query_and_the_server_stays_responsive(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    project, headers = acme_project(runtime, duckdb_connection)
    runner = runner_for(runtime)
    query_uuid = start_sql(client, "", project, headers, ENDLESS).json()["results"]["queryUuid"]
    url = f"/api/v2/projects/{project}/query/{query_uuid}"
    deadline = time.monotonic() + 60
    while runner.running_count == 0:  # the warehouse is working on it
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.get("/api/v1/health").status_code == 200
    assert client.get(url, headers=headers).json()["results"]["status"] == "pending"

    cancelled = client.post(url + "/cancel", headers=headers)

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "ok"
    assert client.get(url, headers=headers).json()["results"] == {
        "status": "cancelled",
        "queryUuid": query_uuid,
    }
    # the warehouse was interrupted, not left running
    wait_until_idle(runtime, "the warehouse query kept running after cancel")
    [event] = audit_events(runtime, "query.executed")
    assert event.details["status"] == "cancelled"


class Ended:
    """Runs `work` in a daemon thread; `wait` says whether it ended, `value`/`error` how."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self._done = threading.Event()

        def run() -> None:
            try:
                self.value = work()
            except BaseException as error:
                self.error = error
            finally:
                self._done.set()

        threading.Thread(target=run, daemon=True).start()

    def wait(self, timeout: float = 30) -> bool:
        return self._done.wait(timeout)


def test_a_cancel_that_comes_before_the_statement_starts_stops_it(
    runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    connection = warehouse.parse_connection(
        duckdb_connection, allowed_dirs=runtime.settings.warehouse_dir_list
    )
    body = execution.sql_body(runtime, connection, ENDLESS)
    scope = CancelScope("cancelled-first")
    scope.stop("Query was cancelled")

    ended = Ended(lambda: body(scope))

    assert ended.wait(), "the statement ran although its query was cancelled before it started"
    assert isinstance(ended.error, QueryCancelled)


def test_a_cancel_that_lands_just_before_the_statement_is_not_lost(
    runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    # The warehouse's own cancel does nothing when no statement runs yet: the runner keeps
    # cancelling until the run ends.
    connection = warehouse.parse_connection(
        duckdb_connection, allowed_dirs=runtime.settings.warehouse_dir_list
    )

    def body(scope: CancelScope) -> Any:
        opened = warehouse.open_warehouse(connection, statement_timeout_s=3600)
        scope.on_cancel(opened.cancel)
        scope.stop("Query was cancelled")  # after the body's last look, before the statement
        try:
            return opened.run(ENDLESS).fetchall()
        except warehouse.WarehouseQueryError as error:
            raise QueryFailed(error.message) from error
        finally:
            opened.close()

    job = Job("cancelled-in-between", body, lambda *_: None)
    ended = Ended(lambda: runner_for(runtime).run_body(job))

    assert ended.wait(), "the warehouse query kept running after its cancel"
    assert ended.error is None and ended.value[0] == repository.CANCELLED


def test_a_query_cancelled_while_it_waits_for_its_turn_never_runs(
    limited: Callable[..., Limited],
) -> None:
    runtime, client, project, headers = limited(
        LIGHTKEEPER_QUERY_CONCURRENCY=1, LIGHTKEEPER_QUERY_QUEUE_SIZE=1
    )
    base = f"/api/v2/projects/{project}/query"
    running = start_sql(client, "", project, headers, ENDLESS).json()["results"]["queryUuid"]
    waiting = start_sql(client, "", project, headers, ENDLESS).json()["results"]["queryUuid"]

    assert client.post(f"{base}/{waiting}/cancel", headers=headers).status_code == 200
    assert client.post(f"{base}/{running}/cancel", headers=headers).status_code == 200

    wait_until_idle(runtime, "a cancelled query kept running")  # neither is left running
    events = {e.target_uuid: e.details for e in audit_events(runtime, "query.executed")}
    assert events[waiting]["status"] == "cancelled" and events[waiting]["warehouseMs"] == 0
    assert events[running]["status"] == "cancelled"
    for uuid in (running, waiting):
        assert client.get(f"{base}/{uuid}", headers=headers).json()["results"]["status"] == (
            "cancelled"
        )


def test_the_first_poll_of_a_quick_query_waits_for_its_rows(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    # The SDK polls at once after submitting, then sleeps: the poll waits for the outcome.
    project, headers = acme_project(runtime, duckdb_connection)
    query_uuid = start_sql(client, "", project, headers, "select 41 + 1 as answer").json()[
        "results"
    ]["queryUuid"]

    first_poll = client.get(f"/api/v2/projects/{project}/query/{query_uuid}", headers=headers)

    results = first_poll.json()["results"]
    assert results["status"] == "ready"
    assert results["rows"] == [{"answer": {"value": {"raw": 42, "formatted": "42"}}}]


def test_every_page_of_a_large_result_is_served_in_order(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    # More rows than are stored with the outcome: later pages wait for their chunks.
    project, headers = acme_project(runtime, duckdb_connection)
    sql = "select i as n, 'row ' || i as label from range(4321) t(i) order by i"
    query_uuid = start_sql(client, "", project, headers, sql).json()["results"]["queryUuid"]
    url = f"/api/v2/projects/{project}/query/{query_uuid}"
    first = wait_for(client, url + "?page=1&pageSize=500", headers)
    assert first["status"] == "ready" and first["totalResults"] == 4321

    seen = []
    for page in range(1, first["totalPageCount"] + 1):
        body = client.get(f"{url}?page={page}&pageSize=500", headers=headers).json()["results"]
        assert body["pageSize"] == len(body["rows"])
        seen += [(r["n"]["value"]["raw"], r["label"]["value"]["formatted"]) for r in body["rows"]]

    assert seen == [(i, f"row {i}") for i in range(4321)]
    assert first["totalPageCount"] == 9
    lines = client.get(url + "/results", headers=headers).text.splitlines()
    assert len(lines) == 4321 and lines[-1] == '{"n":4320,"label":"row 4320"}'


def test_a_page_whose_rows_were_never_all_stored_is_a_clear_406(
    client: TestClient,
    runtime: Runtime,
    duckdb_connection: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if the process storing the later chunks had died: the page cannot be completed.
    project, headers = acme_project(runtime, duckdb_connection)
    sql = "select i as n from range(4000) t(i) order by i"
    query_uuid = start_sql(client, "", project, headers, sql).json()["results"]["queryUuid"]
    url = f"/api/v2/projects/{project}/query/{query_uuid}"
    assert wait_for(client, url + "?page=1&pageSize=2500", headers)["totalResults"] == 4000
    # The later rows are stored after the first page is ready: page 2 waits until they are,
    # so the deletion below cannot be overtaken by them.
    assert len(wait_for(client, url + "?page=2&pageSize=2500", headers)["rows"]) == 1500
    with transaction(runtime.sessions) as session:
        session.execute(
            delete(QueryResultChunk).where(
                QueryResultChunk.query_uuid == query_uuid, QueryResultChunk.first_row >= 2500
            )
        )
    monkeypatch.setattr(query_service, "CHUNK_WAIT_SECONDS", 0.2)

    response = client.get(url + "?page=2&pageSize=2500", headers=headers)

    assert response.status_code == 406, response.text
    assert "run the query again" in response.json()["error"]["message"]
    first_page = client.get(url + "?page=1&pageSize=2500", headers=headers).json()["results"]
    assert [r["n"]["value"]["raw"] for r in first_page["rows"]][:3] == [0, 1, 2]


def test_a_query_past_the_run_time_limit_ends_in_error(limited: Callable[..., Limited]) -> None:
    _runtime, client, project, headers = limited(LIGHTKEEPER_QUERY_TIMEOUT_SECONDS=0.5)

    query_uuid = start_sql(client, "", project, headers, ENDLESS).json()["results"]["queryUuid"]
    failed = wait_for(client, f"/api/v2/projects/{project}/query/{query_uuid}", headers)

    assert failed["status"] == "error"
    assert "0.5 seconds" in failed["error"]


def test_over_the_concurrency_limit_a_query_is_refused_clearly(
    limited: Callable[..., Limited],
) -> None:
    runtime, client, project, headers = limited(
        LIGHTKEEPER_QUERY_CONCURRENCY=1, LIGHTKEEPER_QUERY_QUEUE_SIZE=0
    )
    first = start_sql(client, "", project, headers, ENDLESS).json()["results"]["queryUuid"]

    second = start_sql(client, "", project, headers, "select 1 as one")

    assert second.status_code == 429
    assert "LIGHTKEEPER_QUERY_CONCURRENCY" in second.json()["error"]["message"]
    assert second.headers["Retry-After"]
    assert count_rows(runtime, QueryRecord) == 1
    client.post(f"/api/v2/projects/{project}/query/{first}/cancel", headers=headers)
    wait_until_idle(runtime, "the cancelled query kept its place")
    assert start_sql(client, "", project, headers, "select 1 as one").status_code == 200


def test_two_processes_share_queries_submit_on_one_page_and_cancel_on_the_other(
    engine: Engine,
    tmp_path: Path,
    warehouse_dir: Path,
    make_runtime: Callable[..., Runtime],
    duckdb_connection: dict[str, Any],
) -> None:
    runtime = make_runtime(
        LIGHTDASH_SECRET=SERVER_SECRET, LIGHTKEEPER_WAREHOUSE_DIRS=str(warehouse_dir)
    )
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    sa = add_service_account(runtime, org, "pipeline", role="developer")
    url = engine.url.render_as_string(hide_password=False)
    extra = {"LIGHTKEEPER_WAREHOUSE_DIRS": str(warehouse_dir)}

    with (
        running_server(server_env(tmp_path / "a", url, **extra)) as first,
        running_server(server_env(tmp_path / "b", url, **extra)) as second,
    ):
        quick = start_sql(
            httpx, first.url, project, sa.headers, "select order_id from jaffle.orders order by 1"
        ).json()["results"]["queryUuid"]
        deadline = time.monotonic() + 60
        while True:
            page = httpx.get(
                f"{second.url}/api/v2/projects/{project}/query/{quick}?page=2&pageSize=50",
                headers=sa.headers,
            ).json()["results"]
            if page["status"] != "pending" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert page["status"] == "ready"
        assert [r["order_id"]["value"]["raw"] for r in page["rows"]] == list(range(51, 100))

        slow = start_sql(httpx, first.url, project, sa.headers, ENDLESS).json()["results"][
            "queryUuid"
        ]
        time.sleep(0.5)
        cancel = httpx.post(
            f"{second.url}/api/v2/projects/{project}/query/{slow}/cancel", headers=sa.headers
        )
        assert cancel.status_code == 200
        # The process running it hears of the cancel and stops the warehouse: its audit event
        # (written when the run ends) appears, and it answers at once meanwhile.
        deadline = time.monotonic() + 60
        while len(audit_events(runtime, "query.executed")) < 2:
            assert time.monotonic() < deadline, "the running process never stopped the query"
            assert httpx.get(f"{first.url}/api/v1/health", timeout=5).status_code == 200
            time.sleep(0.1)
        statuses = {
            e.target_uuid: e.details["status"] for e in audit_events(runtime, "query.executed")
        }
        assert statuses == {quick: "ready", slow: "cancelled"}


def test_a_query_left_pending_by_a_stopped_process_ends_in_error(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    admin = org.people["admin"]
    long_ago = utcnow() - timedelta(hours=2)
    with transaction(runtime.sessions) as session:
        session.add(
            QueryRecord(
                uuid="00000000-0000-4000-8000-00000000dead",
                organization_uuid=org.uuid,
                project_uuid=project,
                created_by_user_uuid=admin.uuid,
                source="sql",
                sql="select 1",
                status="pending",
                created_at=long_ago,
                started_at=long_ago,
                expires_at=long_ago + timedelta(days=1),
            )
        )
    # Any query that ends in this process tidies up after it.
    quick = start_sql(client, "", project, admin.headers, "select 1 as one").json()["results"]
    wait_for(client, f"/api/v2/projects/{project}/query/{quick['queryUuid']}", admin.headers)
    deadline = time.monotonic() + 60
    while True:
        abandoned = client.get(
            f"/api/v2/projects/{project}/query/00000000-0000-4000-8000-00000000dead",
            headers=admin.headers,
        ).json()["results"]
        if abandoned["status"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.05)

    assert abandoned["status"] == "error"
    assert "stopped before it finished" in abandoned["error"]
