"""Who may run which query: each role, project-scoped and legacy service accounts, custom roles,
saved charts through their space."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lightkeeper.db import transaction
from lightkeeper.models import ServiceAccount, User
from lightkeeper.runtime import Runtime
from tests.queries.conftest import wait_for
from tests.support import ServiceAccountMade as _Made
from tests.support import (
    add_chart,
    add_custom_role,
    add_membership,
    add_query_project,
    add_service_account,
    add_space,
    bind_project_role,
    custom_role_holder,
    make_org,
)

METRIC = {
    "exploreName": "orders",
    "dimensions": ["orders_status"],
    "metrics": ["orders_unique_order_count"],
    "filters": {},
    "limit": 10,
}
SQL = {"sql": "select 1 as one"}


def metric(
    client: TestClient, project: str, headers: dict[str, str], query: dict[str, Any] = METRIC
) -> int:
    return client.post(
        f"/api/v2/projects/{project}/query/metric-query", json={"query": query}, headers=headers
    ).status_code


def sql(client: TestClient, project: str, headers: dict[str, str]) -> int:
    return client.post(
        f"/api/v2/projects/{project}/query/sql", json=SQL, headers=headers
    ).status_code


def compile_(client: TestClient, project: str, headers: dict[str, str]) -> int:
    return client.post(
        f"/api/v1/projects/{project}/explores/orders/compileQuery", json=METRIC, headers=headers
    ).status_code


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("viewer", (403, 403, 403)),
        ("interactive_viewer", (200, 200, 403)),
        ("editor", (200, 200, 403)),
        ("developer", (200, 200, 200)),
        ("admin", (200, 200, 200)),
    ],
)
def test_each_org_role(
    client: TestClient,
    runtime: Runtime,
    duckdb_connection: dict[str, Any],
    role: str,
    expected: tuple[int, ...],
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", role))
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    headers = org.people[role].headers

    assert (
        metric(client, project, headers),
        compile_(client, project, headers),
        sql(client, project, headers),
    ) == expected


def _legacy_service_account(runtime: Runtime, org: Any, scopes: list[str]) -> _Made:
    made = add_service_account(runtime, org, "legacy", role="member")
    with transaction(runtime.sessions) as session:
        account = session.get(ServiceAccount, made.uuid)
        user = session.get(User, made.principal_uuid)
        assert account is not None and user is not None
        account.scopes = scopes
        user.role = "member"
    return made


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        (["org:read"], (200, 403)),
        (["org:view"], (200, 403)),
        (["org:edit"], (200, 403)),
        (["org:admin"], (200, 200)),
    ],
)
def test_legacy_service_account_scopes(
    client: TestClient,
    runtime: Runtime,
    duckdb_connection: dict[str, Any],
    scopes: list[str],
    expected: tuple[int, int],
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    made = _legacy_service_account(runtime, org, scopes)

    assert (metric(client, project, made.headers), sql(client, project, made.headers)) == expected


def test_a_project_scoped_service_account_queries_only_its_projects(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    mine = add_query_project(runtime, org, "Mine", duckdb_connection)
    other = add_query_project(runtime, org, "Other", duckdb_connection)
    sa = add_service_account(runtime, org, "scoped", role="member")
    add_membership(runtime, mine, sa.principal_uuid, "interactive_viewer")

    assert metric(client, mine, sa.headers) == 200
    assert sql(client, mine, sa.headers) == 403
    assert metric(client, other, sa.headers) == 404
    assert sql(client, other, sa.headers) == 404


def test_custom_roles_grant_exactly_their_query_scopes(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    explorer, _ = custom_role_holder(runtime, org, "explorer", ["view:Project", "manage:Explore"])
    sql_only, _ = custom_role_holder(runtime, org, "sqler", ["view:Project", "manage:SqlRunner"])
    sa = add_service_account(runtime, org, "custom", role="member")
    role = add_custom_role(runtime, org, "SA explorer", ["view:Project", "manage:Explore"])
    bind_project_role(runtime, project, sa.principal_uuid, role)
    custom_sql = {
        **METRIC,
        "customDimensions": [
            {
                "id": "shout",
                "name": "shout",
                "table": "orders",
                "type": "sql",
                "sql": "upper(${orders.status})",
                "dimensionType": "string",
            }
        ],
    }

    assert (metric(client, project, explorer.headers), sql(client, project, explorer.headers)) == (
        200,
        403,
    )
    assert (metric(client, project, sql_only.headers), sql(client, project, sql_only.headers)) == (
        403,
        200,
    )
    assert metric(client, project, sa.headers) == 200
    refused = client.post(
        f"/api/v2/projects/{project}/query/metric-query",
        json={"query": custom_sql},
        headers=explorer.headers,
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["name"] == "CustomSqlQueryForbiddenError"
    assert (
        refused.json()["error"]["message"] == "User cannot run queries with custom SQL dimensions"
    )


def _chart(runtime: Runtime, project: str, space: str) -> str:
    return add_chart(runtime, project, space, f"Orders by status {space[:8]}")


def test_a_saved_chart_runs_for_whoever_sees_its_space(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    project = add_query_project(runtime, org, "Jaffle", duckdb_connection)
    viewer = org.people["viewer"]
    public = add_space(runtime, project, "Shared")
    private = add_space(
        runtime, project, "Secret", private=True, created_by=org.people["admin"].uuid
    )
    seen = _chart(runtime, project, public)
    hidden = _chart(runtime, project, private)

    def chart(chart_uuid: str) -> Any:
        return client.post(
            f"/api/v2/projects/{project}/query/chart",
            json={"chartUuid": chart_uuid, "context": "api"},
            headers=viewer.headers,
        )

    ran = chart(seen)
    assert ran.status_code == 200, ran.text
    query_uuid = ran.json()["results"]["queryUuid"]
    ready = wait_for(client, f"/api/v2/projects/{project}/query/{query_uuid}", viewer.headers)
    assert ready["status"] == "ready" and ready["totalResults"] > 0
    assert chart(hidden).status_code == 404
    assert metric(client, project, viewer.headers) == 403  # the viewer has no ad-hoc queries
