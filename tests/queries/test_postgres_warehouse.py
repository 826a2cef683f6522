"""PostgreSQL as the warehouse: metric queries, SQL, and a cancel that stops the statement there.

The demo tables are loaded into a schema of their own on the suite's PostgreSQL server. These
tests run with the PostgreSQL application database (postgresql_only): the warehouse side is
the same either way, and the machine is shared.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from lightkeeper.warehouse.demo import drop_demo_postgres, load_demo_postgres, retarget_explores
from tests.conftest import pg_admin_url
from tests.queries.conftest import wait_for
from tests.support import add_query_project, demo_explores, make_org

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def pg_warehouse() -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    url = pg_admin_url()
    schema = f"jaffle_{uuid.uuid4().hex[:8]}"
    load_demo_postgres(url, schema)
    parts = urlsplit(url)
    connection = {
        "type": "postgres",
        "host": parts.hostname,
        "port": parts.port or 5432,
        "dbname": parts.path.lstrip("/") or "postgres",
        "user": parts.username,
        "password": parts.password or "",
        "schema": schema,
        "sslmode": "disable",
    }
    try:
        yield connection, retarget_explores(demo_explores(), database=None, schema=schema)
    finally:
        drop_demo_postgres(url, schema)


def test_metric_queries_and_sql_run_on_postgres(
    client: TestClient, runtime: Runtime, pg_warehouse: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    connection, explores = pg_warehouse
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle on PG", connection, explores)
    headers = org.people["admin"].headers
    query = {
        "exploreName": "orders",
        "dimensions": ["orders_status"],
        "metrics": ["orders_unique_order_count"],
        "filters": {
            "dimensions": {
                "and": [
                    {
                        "target": {"fieldId": "orders_status"},
                        "operator": "notEquals",
                        "values": ["x'; drop table orders; --"],
                    }
                ]
            }
        },
        "sorts": [{"fieldId": "orders_unique_order_count", "descending": True}],
        "tableCalculations": [
            {
                "name": "doubled",
                "displayName": "Doubled",
                "sql": "${orders.unique_order_count} * 2",
                "type": "number",
            }
        ],
        "limit": 50,
    }

    submitted = client.post(
        f"/api/v2/projects/{project}/query/metric-query", json={"query": query}, headers=headers
    )
    assert submitted.status_code == 200, submitted.text
    query_uuid = submitted.json()["results"]["queryUuid"]
    ready = wait_for(client, f"/api/v2/projects/{project}/query/{query_uuid}", headers)
    assert ready["status"] == "ready", ready
    counts = [r["orders_unique_order_count"]["value"]["raw"] for r in ready["rows"]]
    assert sum(counts) == 99 and counts == sorted(counts, reverse=True)
    assert all(
        r["doubled"]["value"]["raw"] == 2 * r["orders_unique_order_count"]["value"]["raw"]
        for r in ready["rows"]
    )

    sql = client.post(
        f"/api/v2/projects/{project}/query/sql",
        json={"sql": f'select count(*) as n from "{connection["schema"]}".orders'},
        headers=headers,
    ).json()["results"]["queryUuid"]
    rows = wait_for(client, f"/api/v2/projects/{project}/query/{sql}", headers)["rows"]
    assert rows[0]["n"]["value"]["raw"] == 99  # the warehouse is unchanged by the filter value


def test_cancel_stops_the_statement_in_postgres(
    client: TestClient, runtime: Runtime, pg_warehouse: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    connection, explores = pg_warehouse
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle on PG", connection, explores)
    headers = org.people["admin"].headers

    query_uuid = client.post(
        f"/api/v2/projects/{project}/query/sql",
        json={"sql": "select pg_sleep(120) as slept"},
        headers=headers,
    ).json()["results"]["queryUuid"]

    def running() -> int:
        with psycopg.connect(pg_admin_url(), autocommit=True) as conn:
            row = conn.execute(
                # A server-side cursor shows `FETCH …` as its text: find it by what it waits on.
                "select count(*) from pg_stat_activity where state = 'active'"
                " and application_name = 'lightkeeper-query' and wait_event = 'PgSleep'"
                " and datname = %s",
                [connection["dbname"]],
            ).fetchone()
            return int(row[0]) if row else 0

    deadline = time.monotonic() + 15
    while running() == 0:
        assert time.monotonic() < deadline, "the statement never reached PostgreSQL"
        time.sleep(0.1)
    cancel = client.post(f"/api/v2/projects/{project}/query/{query_uuid}/cancel", headers=headers)
    assert cancel.status_code == 200

    deadline = time.monotonic() + 10
    while running():
        assert time.monotonic() < deadline, "PostgreSQL still runs the cancelled statement"
        time.sleep(0.1)
    status = client.get(f"/api/v2/projects/{project}/query/{query_uuid}", headers=headers).json()
    assert status["results"]["status"] == "cancelled"
