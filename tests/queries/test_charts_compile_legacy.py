"""Dashboard tiles with dashboard filters, compileQuery, the legacy runQuery, and what is refused."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from lightkeeper.models import QueryRecord
from lightkeeper.runtime import Runtime
from tests.queries.conftest import wait_for
from tests.support import (
    add_chart,
    add_dashboard,
    add_query_project,
    add_space,
    audit_events,
    count_rows,
    make_org,
)

QUERY = {
    "exploreName": "orders",
    "dimensions": ["orders_status"],
    "metrics": ["orders_unique_order_count"],
    "filters": {},
    "sorts": [],
    "limit": 10,
    "tableCalculations": [],
}


def test_a_dashboard_tile_runs_with_the_dashboard_filters_that_apply_to_its_explore(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    space = add_space(runtime, project, "Shared")
    chart = add_chart(runtime, project, space, "Statuses")
    dashboard = add_dashboard(runtime, project, space, "Overview", [chart])
    viewer = org.people["viewer"].headers
    rule = {
        "id": "r1",
        "target": {"fieldId": "orders_status", "tableName": "orders"},
        "operator": "equals",
        "values": ["completed"],
    }
    elsewhere = {
        "id": "r2",
        "target": {"fieldId": "events_event_id", "tableName": "events"},
        "operator": "equals",
        "values": [1],
    }

    response = client.post(
        f"/api/v2/projects/{project}/query/dashboard-chart",
        json={
            "chartUuid": chart,
            "tileUuid": "00000000-0000-4000-8000-000000000000",
            "dashboardUuid": dashboard,
            "dashboardFilters": {
                "dimensions": [rule, elsewhere],
                "metrics": [],
                "tableCalculations": [],
            },
            "dashboardSorts": [],
        },
        headers=viewer,
    )

    assert response.status_code == 200, response.text
    body = response.json()["results"]
    assert [r["id"] for r in body["appliedDashboardFilters"]["dimensions"]] == ["r1"]
    ready = wait_for(client, f"/api/v2/projects/{project}/query/{body['queryUuid']}", viewer)
    assert [r["orders_status"]["value"]["raw"] for r in ready["rows"]] == ["completed"]
    [event] = audit_events(runtime, "query.executed")
    assert event.details["source"] == "dashboard_chart" and event.details["chartUuid"] == chart


def test_compile_query_answers_the_sql_and_runs_nothing(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    filtered = {
        **QUERY,
        "filters": {
            "dimensions": {
                "id": "g",
                "and": [{"id": "r", "target": {"fieldId": "orders_status"}, "operator": "notNull"}],
            }
        },
        "additionalMetrics": [],
    }

    response = client.post(
        f"/api/v1/projects/{project}/explores/orders/compileQuery",
        json=filtered,
        headers=org.people["admin"].headers,
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results["parameterReferences"] == []
    sql = results["query"].lower()
    assert "select" in sql and "from" in sql and "where" in sql and "limit 10" in sql
    assert count_rows(runtime, QueryRecord) == 0


def test_the_legacy_run_query_answers_rows_at_once(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)

    response = client.post(
        f"/api/v1/projects/{project}/explores/orders/runQuery",
        json=QUERY,
        headers=org.people["admin"].headers,
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert sum(r["orders_unique_order_count"]["value"]["raw"] for r in results["rows"]) == 99
    assert set(results["fields"]) == {"orders_status", "orders_unique_order_count"}
    assert results["metricQuery"]["exploreName"] == "orders"
    # Lightdash's CacheMetadata: optional dates are omitted, never null (its clients parse them).
    assert results["cacheMetadata"] == {"cacheHit": False}
    [event] = audit_events(runtime, "query.executed")
    assert event.details["status"] == "ready"


def test_a_table_calculation_that_leaves_its_place_is_refused(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    headers = org.people["admin"].headers

    for sql in (
        "1; drop table jaffle.orders",
        "(select count(*) from read_csv('/etc/passwd'))",
        "${orders.unique_order_count} -- comment",
    ):
        calc = {"name": "evil", "displayName": "Evil", "sql": sql, "type": "number"}
        response = client.post(
            f"/api/v2/projects/{project}/query/metric-query",
            json={"query": {**QUERY, "tableCalculations": [calc]}},
            headers=headers,
        )
        if response.status_code == 200:  # an inert comment may compile: it must not break out
            uuid = response.json()["results"]["queryUuid"]
            done = wait_for(client, f"/api/v2/projects/{project}/query/{uuid}", headers)
            assert done["status"] == "ready" and "root:" not in str(done)
        else:
            assert response.status_code == 400, (sql, response.text)
    count = client.post(
        f"/api/v2/projects/{project}/query/sql",
        json={"sql": "select count(*) as n from jaffle.orders"},
        headers=headers,
    ).json()["results"]["queryUuid"]
    rows = wait_for(client, f"/api/v2/projects/{project}/query/{count}", headers)["rows"]
    assert rows[0]["n"]["value"]["raw"] == 99
