"""SQL: v1 sqlRunner (job, status, JSONL file), v2 query/sql, the catalog routes, and safety."""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.queries.conftest import wait_for
from tests.support import add_query_project, add_service_account, audit_events, make_org


def job_done(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        response = client.get(f"/api/v1/schedulers/job/{job_id}/status", headers=headers)
        assert response.status_code == 200, response.text
        results: dict[str, Any] = response.json()["results"]
        if results["status"] in ("completed", "error") or time.monotonic() > deadline:
            return results
        time.sleep(0.05)


def test_the_sql_runner_job_ends_in_a_jsonl_file_read_with_an_apikey_service_token(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    sa = add_service_account(runtime, org, "pipeline", role="developer")

    started = client.post(
        f"/api/v1/projects/{project}/sqlRunner/run",
        json={
            "sql": "select status, count(*) as n from jaffle.orders group by 1 order by 1",
            "limit": 500,
        },
        headers=sa.headers,
    )

    assert started.status_code == 200, started.text
    job_id = started.json()["results"]["jobId"]
    status = job_done(client, job_id, sa.headers)
    assert status["status"] == "completed", status
    assert status["details"]["columns"] == [
        {"reference": "status", "type": "string"},
        {"reference": "n", "type": "number"},
    ]
    file_url = status["details"]["fileUrl"]
    path = file_url.split("://", 1)[1].split("/", 1)[1]
    assert file_url.startswith(runtime.settings.site_url)
    # The SDK downloads with `ApiKey <token>` whatever the token is.
    download = client.get("/" + path, headers={"Authorization": f"ApiKey {sa.token}"})
    assert download.status_code == 200
    lines = [orjson.loads(line) for line in download.content.splitlines()]
    assert lines and set(lines[0]) == {"status", "n"}
    assert sum(line["n"] for line in lines) == 99
    [event] = audit_events(runtime, "query.executed")
    assert event.details["source"] == "sql" and "jaffle.orders" in event.details["sql"]
    assert event.details["rows"] == len(lines)


def test_v2_sql_pages_rows_keyed_by_column_and_the_limit_caps_them(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    headers = org.people["admin"].headers

    submitted = client.post(
        f"/api/v2/projects/{project}/query/sql",
        json={"sql": "select order_id from jaffle.orders order by order_id;", "limit": 7},
        headers=headers,
    )

    assert submitted.status_code == 200, submitted.text
    query_uuid = submitted.json()["results"]["queryUuid"]
    ready = wait_for(client, f"/api/v2/projects/{project}/query/{query_uuid}", headers)
    assert ready["status"] == "ready"
    assert ready["totalResults"] == 7
    assert ready["rows"][0]["order_id"]["value"]["raw"] == 1
    assert ready["columns"]["order_id"] == {"reference": "order_id", "type": "number"}


def test_sql_that_is_not_one_query_is_refused_and_the_warehouse_stays_unchanged(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    headers = org.people["admin"].headers
    url = f"/api/v2/projects/{project}/query/sql"

    two = client.post(url, json={"sql": "select 1; drop table jaffle.orders"}, headers=headers)
    ddl = client.post(url, json={"sql": "drop table jaffle.orders"}, headers=headers)
    empty = client.post(url, json={"sql": "  ;"}, headers=headers)
    file_read = client.post(
        url, json={"sql": "select * from read_csv('/etc/passwd')"}, headers=headers
    ).json()["results"]["queryUuid"]

    assert two.status_code == 400 and "one statement" in two.json()["error"]["message"]
    assert ddl.status_code == 400
    assert empty.status_code == 400
    failed = wait_for(client, f"/api/v2/projects/{project}/query/{file_read}", headers)
    assert failed["status"] == "error"
    assert "root:" not in str(failed)
    count = client.post(
        url, json={"sql": "select count(*) as n from jaffle.orders"}, headers=headers
    )
    uuid = count.json()["results"]["queryUuid"]
    rows = wait_for(client, f"/api/v2/projects/{project}/query/{uuid}", headers)["rows"]
    assert rows[0]["n"]["value"]["raw"] == 99


def test_the_catalog_routes_accept_both_spellings(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    headers = org.people["admin"].headers

    tables = client.get(f"/api/v1/projects/{project}/sqlRunner/tables", headers=headers)
    sdk = client.get(
        f"/api/v1/projects/{project}/sqlRunner/fields?table=orders&schema=jaffle", headers=headers
    )
    lightdash = client.get(
        f"/api/v1/projects/{project}/sqlRunner/fields?tableName=orders&schemaName=jaffle",
        headers=headers,
    )

    assert tables.status_code == 200
    assert "orders" in tables.json()["results"]["jaffle_shop"]["jaffle"]
    assert sdk.status_code == lightdash.status_code == 200
    assert sdk.json() == lightdash.json()
    assert sdk.json()["results"]["order_id"] == "number"


def test_a_job_of_someone_else_is_not_found(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer"))
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    job_id = client.post(
        f"/api/v1/projects/{project}/sqlRunner/run",
        json={"sql": "select 1 as one"},
        headers=org.people["admin"].headers,
    ).json()["results"]["jobId"]
    assert job_done(client, job_id, org.people["admin"].headers)["status"] == "completed"

    other = client.get(
        f"/api/v1/schedulers/job/{job_id}/status", headers=org.people["developer"].headers
    )
    file = client.get(
        f"/api/v1/projects/{project}/sqlRunner/results/{job_id}",
        headers=org.people["developer"].headers,
    )

    assert other.status_code == 404
    assert file.status_code == 403
