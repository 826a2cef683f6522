"""A project's warehouse connection: set on create and PATCH, checked, sealed, never returned whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.support import audit_events, database_text, make_org, make_project

POSTGRES = {
    "type": "postgres",
    "host": "warehouse.internal",
    "port": 5432,
    "dbname": "analytics",
    "user": "reader",
    "password": "pg-s3cret-value",
    "schema": "public",
    "sslmode": "require",
}


def test_a_project_is_created_with_a_duckdb_warehouse_inside_the_allowed_folders(
    client: TestClient, runtime: Runtime, duckdb_connection: dict[str, Any]
) -> None:
    org = make_org(runtime, "Acme")

    created = client.post(
        "/api/v1/org/projects",
        json={"name": "Jaffle", "warehouseConnection": duckdb_connection},
        headers=org.people["admin"].headers,
    )

    assert created.status_code == 200, created.text
    shown = created.json()["results"]["project"]
    # Lightdash's clients cannot parse a DuckDB connection: only its type is shown.
    assert shown["warehouseType"] == "duckdb"
    assert "warehouseConnection" not in shown


def test_a_duckdb_file_outside_the_allowed_folders_is_refused(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Jaffle")
    headers = org.people["admin"].headers
    outside = {"type": "duckdb", "database": "/etc/passwd", "schema": "main"}
    sneaky = {
        "type": "duckdb",
        "database": f"{runtime.settings.warehouse_dir_list[0]}/../../x.duckdb",
    }

    for connection in (outside, sneaky):
        patched = client.patch(
            f"/api/v1/projects/{project}", json={"warehouseConnection": connection}, headers=headers
        )
        created = client.post(
            "/api/v1/org/projects",
            json={"name": "Other", "warehouseConnection": connection},
            headers=headers,
        )
        assert patched.status_code == 400, patched.text
        assert "LIGHTKEEPER_WAREHOUSE_DIRS" in patched.json()["error"]["message"]
        assert created.status_code == 400
    read = client.get(f"/api/v1/projects/{project}", headers=headers).json()["results"]
    assert "warehouseConnection" not in read


def test_a_postgres_password_is_sealed_and_never_returned(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Jaffle")
    headers = org.people["admin"].headers

    patched = client.patch(
        f"/api/v1/projects/{project}", json={"warehouseConnection": POSTGRES}, headers=headers
    )
    read = client.get(f"/api/v1/projects/{project}", headers=headers)

    assert patched.status_code == 200, patched.text
    shown = read.json()["results"]["warehouseConnection"]
    assert shown == {k: v for k, v in POSTGRES.items() if k != "password"}
    assert "pg-s3cret-value" not in patched.text + read.text
    assert "pg-s3cret-value" not in database_text(runtime)
    assert "pg-s3cret-value" not in str([e.details for e in audit_events(runtime)])


def test_a_malformed_connection_names_the_field(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Jaffle")

    bad_port = client.patch(
        f"/api/v1/projects/{project}",
        json={"warehouseConnection": {**POSTGRES, "port": "lots"}},
        headers=org.people["admin"].headers,
    )

    assert bad_port.status_code == 400
    assert "port" in bad_port.json()["error"]["message"]
