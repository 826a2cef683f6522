"""The v2 metric-query flow: submit, poll, pages; the record, the audit event, expiry, limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from lightkeeper.kit.clock import clock
from lightkeeper.models import QueryRecord
from lightkeeper.runtime import Runtime
from tests.queries.conftest import wait_for
from tests.support import add_query_project, add_service_account, audit_events, count_rows, make_org

STATUS_COUNT = {
    "exploreName": "orders",
    "dimensions": ["orders_status"],
    "metrics": ["orders_unique_order_count"],
    "filters": {"dimensions": {"and": []}},
    "sorts": [{"fieldId": "orders_status", "descending": False}],
    "limit": 500,
    "tableCalculations": [],
}


def submit(
    client: TestClient, project: str, headers: dict[str, str], query: dict[str, Any] | None = None
) -> Any:
    return client.post(
        f"/api/v2/projects/{project}/query/metric-query",
        json={"query": query or STATUS_COUNT, "context": "api"},
        headers=headers,
    )


def results_url(project: str, query_uuid: str) -> str:
    return f"/api/v2/projects/{project}/query/{query_uuid}"


def test_a_service_account_runs_a_metric_query_and_reads_its_rows(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    sa = add_service_account(runtime, org, "notebook", role="interactive_viewer")

    submitted = submit(client, project, sa.headers)

    assert submitted.status_code == 200, submitted.text
    body = submitted.json()["results"]
    assert set(body["fields"]) == {"orders_status", "orders_unique_order_count"}
    assert body["fields"]["orders_status"]["label"]
    ready = wait_for(client, results_url(project, body["queryUuid"]), sa.headers)
    assert ready["status"] == "ready", ready
    by_status = {
        r["orders_status"]["value"]["raw"]: r["orders_unique_order_count"]["value"]
        for r in ready["rows"]
    }
    assert by_status["completed"]["raw"] > 0
    assert isinstance(by_status["completed"]["formatted"], str)
    assert list(ready["rows"][0]) == ["orders_status", "orders_unique_order_count"]
    assert ready["totalResults"] == len(ready["rows"]) == ready["pageSize"]
    assert ready["page"] == 1 and ready["totalPageCount"] == 1
    assert "nextPage" not in ready and "previousPage" not in ready
    assert set(ready["columns"]) == {"orders_status", "orders_unique_order_count"}
    assert isinstance(ready["initialQueryExecutionMs"], int)

    [event] = audit_events(runtime, "query.executed")
    assert event.actor_type == "service_account" and event.actor_uuid == sa.uuid
    assert event.details["exploreName"] == "orders"
    assert event.details["status"] == "ready"
    assert event.details["rows"] == ready["totalResults"]
    assert "completed" not in str(event.details)  # no result value is audited
    assert count_rows(runtime, QueryRecord, created_by_user_uuid=sa.principal_uuid) == 1


def test_pages_cover_every_row_once_and_off_the_end_is_a_pagination_error(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    headers = org.people["admin"].headers
    query = {
        "exploreName": "orders",
        "dimensions": ["orders_order_id"],
        "metrics": [],
        "filters": {},
        "sorts": [{"fieldId": "orders_order_id", "descending": False}],
        "limit": 5000,
        "tableCalculations": [],
    }
    query_uuid = submit(client, project, headers, query).json()["results"]["queryUuid"]
    first = wait_for(client, results_url(project, query_uuid) + "?page=1&pageSize=40", headers)
    total = first["totalResults"]
    assert total == 99 and first["totalPageCount"] == 3 and first["nextPage"] == 2

    seen = [r["orders_order_id"]["value"]["raw"] for r in first["rows"]]
    for page in (2, 3):
        body = client.get(
            results_url(project, query_uuid) + f"?page={page}&pageSize=40", headers=headers
        ).json()["results"]
        assert body["previousPage"] == page - 1
        seen += [r["orders_order_id"]["value"]["raw"] for r in body["rows"]]
    assert len(seen) == len(set(seen)) == 99
    assert body["pageSize"] == 19 and "nextPage" not in body

    for params, message in (
        ("?page=4&pageSize=40", "invalid page 4, last page is 3"),
        ("?page=0", "page should be greater than 0"),
        ("?pageSize=0", "page size should be greater than 0"),
        ("?pageSize=2501", "page size is too large, max is 2500"),
    ):
        refused = client.get(results_url(project, query_uuid) + params, headers=headers)
        assert refused.status_code == 422, (params, refused.text)
        assert refused.json()["error"] == {
            "statusCode": 422,
            "name": "PaginationError",
            "message": message,
            "data": {},
        }


def test_only_the_principal_that_ran_a_query_reads_or_cancels_it(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer"))
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    sa = add_service_account(runtime, org, "bot", role="admin")
    query_uuid = submit(client, project, sa.headers).json()["results"]["queryUuid"]
    wait_for(client, results_url(project, query_uuid), sa.headers)

    for other in (org.people["admin"].headers, org.people["developer"].headers):
        read = client.get(results_url(project, query_uuid), headers=other)
        cancel = client.post(results_url(project, query_uuid) + "/cancel", headers=other)
        assert read.status_code == 403
        assert (
            read.json()["error"]["message"] == "User is not allowed to fetch results for this query"
        )
        assert cancel.status_code == 403
        assert cancel.json()["error"]["message"] == "User is not allowed to cancel this query"

    unknown = client.get(
        results_url(project, "00000000-0000-4000-8000-000000000000"), headers=sa.headers
    )
    assert unknown.status_code == 404


def test_another_organization_sees_neither_the_project_nor_the_query(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    acme = make_org(runtime, "Acme")
    globex = make_org(runtime, "Globex")
    project = add_query_project(runtime, acme, "Jaffle", duckdb_connection)
    query_uuid = submit(client, project, acme.people["admin"].headers).json()["results"][
        "queryUuid"
    ]
    outsider = globex.people["admin"].headers

    assert submit(client, project, outsider).status_code == 404
    assert client.get(results_url(project, query_uuid), headers=outsider).status_code == 404
    assert (
        client.post(results_url(project, query_uuid) + "/cancel", headers=outsider).status_code
        == 404
    )


def test_results_expire_with_a_406(
    make_client: Any, runtime: Runtime, duckdb_connection: dict[str, Any], warehouse_dir: Any
) -> None:
    client = make_client(runtime)
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    headers = org.people["admin"].headers
    query_uuid = submit(client, project, headers).json()["results"]["queryUuid"]
    assert wait_for(client, results_url(project, query_uuid), headers)["status"] == "ready"

    clock.advance(timedelta(seconds=runtime.settings.query_results_ttl_seconds + 1))
    expired = client.get(results_url(project, query_uuid), headers=headers)

    assert expired.status_code == 406
    assert expired.json()["error"]["name"] == "ExpiredError"
    assert expired.json()["error"]["message"] == (
        f"Results expired for file {query_uuid} and project {project}"
    )


def test_a_principal_over_its_query_rate_gets_429_with_retry_after(
    make_client: Any, make_runtime: Any, warehouse_dir: Any, duckdb_connection: dict[str, Any]
) -> None:
    runtime = make_runtime(
        LIGHTKEEPER_WAREHOUSE_DIRS=str(warehouse_dir), LIGHTKEEPER_QUERY_RATE_LIMIT_PER_MINUTE=2
    )
    client = make_client(runtime)
    org = make_org(runtime, "Acme", roles=("admin", "developer"))
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    headers = org.people["admin"].headers

    statuses = [submit(client, project, headers).status_code for _ in range(3)]
    refused = submit(client, project, headers)
    other = submit(client, project, org.people["developer"].headers)

    assert statuses == [200, 200, 429]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "LIGHTKEEPER_QUERY_RATE_LIMIT_PER_MINUTE" in refused.json()["error"]["message"]
    assert other.status_code == 200  # the limit is per principal
    assert count_rows(runtime, QueryRecord, created_by_user_uuid=org.people["admin"].uuid) == 2


def test_bad_queries_are_400_and_leave_no_record(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    bare = add_query_project(runtime, org, "No warehouse", None)
    headers = org.people["admin"].headers

    too_many = submit(client, project, headers, {**STATUS_COUNT, "limit": 5001})
    no_explore = submit(client, project, headers, {**STATUS_COUNT, "exploreName": "nope"})
    no_field = submit(client, project, headers, {**STATUS_COUNT, "dimensions": ["orders_nope"]})
    no_warehouse = submit(client, bare, headers)

    assert too_many.status_code == 400 and "5000" in too_many.json()["error"]["message"]
    assert no_explore.status_code == 404
    assert no_field.status_code == 400
    assert no_warehouse.status_code == 400
    assert "warehouseConnection" in no_warehouse.json()["error"]["message"]
    assert count_rows(runtime, QueryRecord) == 0


def test_a_warehouse_error_is_the_query_status_with_its_message(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    explores = [
        {
            "name": "ghost",
            "label": "Ghost",
            "baseTable": "ghost",
            "tags": [],
            "joinedTables": [],
            "tables": {
                "ghost": {
                    "name": "ghost",
                    "label": "Ghost",
                    "database": "jaffle_shop",
                    "schema": "jaffle",
                    "sqlTable": '"jaffle_shop"."jaffle"."no_such_table"',
                    "dimensions": {
                        "id": {
                            "name": "id",
                            "label": "Id",
                            "type": "number",
                            "sql": "${TABLE}.id",
                            "table": "ghost",
                            "hidden": False,
                        }
                    },
                    "metrics": {},
                }
            },
        }
    ]
    project = add_query_project(runtime, org, "Ghost", duckdb_connection, explores)
    headers = org.people["admin"].headers
    query = {
        "exploreName": "ghost",
        "dimensions": ["ghost_id"],
        "metrics": [],
        "filters": {},
        "limit": 10,
    }

    query_uuid = submit(client, project, headers, query).json()["results"]["queryUuid"]
    failed = wait_for(client, results_url(project, query_uuid), headers)

    assert failed["status"] == "error"
    assert "no_such_table" in failed["error"]
    [event] = audit_events(runtime, "query.executed")
    assert event.details["status"] == "error"


def test_health_reports_the_query_limits_from_the_environment(make_client: Any) -> None:
    client = make_client(
        LIGHTDASH_QUERY_MAX_LIMIT=100000,
        LIGHTDASH_QUERY_DEFAULT_LIMIT=250,
        LIGHTDASH_QUERY_MAX_PAGE_SIZE=1000,
        LIGHTDASH_CSV_CELLS_LIMIT=9999,
    )

    query = client.get("/api/v1/health").json()["results"]["query"]

    assert query == {
        "maxLimit": 100000,
        "defaultLimit": 250,
        "maxPageSize": 1000,
        "csvCellsLimit": 9999,
    }
