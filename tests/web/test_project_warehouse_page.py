"""The Projects settings page's warehouse connection, and the /register page's demo box, over HTTP.

The form posts go through `project.service.update_project`, as PATCH /api/v1/projects/{uuid}
does: the password is sealed with the server secret, never shown back (page, API, database
text), kept when the field is left empty, and a refused connection changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.models import Explore, Project
from lightkeeper.runtime import Runtime
from tests.support import add_membership, audit_events, database_text, make_org, make_project
from tests.web.helpers import csrf_of, login

SECRET = "pg-s3cret-Passw0rd"


def _connection(runtime: Runtime, project_uuid: str) -> dict[str, object] | None:
    with runtime.sessions() as session:
        project = session.get(Project, project_uuid)
        assert project is not None
        sealed = project.warehouse_connection
    return runtime.secret_box.open(sealed) if sealed else None


def _duckdb_file(runtime: Runtime) -> Path:
    folder = runtime.settings.ensure_data_dir() / "warehouses"
    folder.mkdir(exist_ok=True)
    path = folder / "analytics.duckdb"
    duckdb.connect(str(path)).close()
    return path


def test_an_admin_sets_a_duckdb_then_a_postgres_warehouse(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    token = login(client, org.people["admin"])
    page = client.get(f"/generalSettings/projects/{project}").text
    assert "Warehouse connection" in page and "No warehouse yet" in page

    path = _duckdb_file(runtime)
    saved = client.post(
        f"/generalSettings/projects/{project}/warehouse",
        data={"csrf_token": token, "type": "duckdb", "database": str(path), "schema": "main"},
    )
    assert saved.status_code == 200
    assert "Warehouse connection saved." in saved.text
    assert "Connected to DuckDB" in saved.text and str(path) in saved.text
    assert _connection(runtime, project) == {
        "type": "duckdb",
        "database": str(path),
        "schema": "main",
    }

    postgres = {
        "csrf_token": token,
        "type": "postgres",
        "host": "db.internal",
        "port": "5433",
        "dbname": "analytics",
        "user": "reader",
        "password": SECRET,
        "schema": "public",
        "sslmode": "require",
    }
    saved = client.post(f"/generalSettings/projects/{project}/warehouse", data=postgres)
    assert (
        "Connected to PostgreSQL" in saved.text
        and "reader@db.internal:5433/analytics" in saved.text
    )
    assert SECRET not in saved.text
    stored = _connection(runtime, project)
    assert stored is not None and stored["password"] == SECRET and stored["port"] == 5433
    api = client.get(f"/api/v1/projects/{project}").text
    assert SECRET not in api and "db.internal" in api
    assert SECRET not in database_text(runtime)  # encrypted at rest
    assert SECRET not in str([e.details for e in audit_events(runtime, "project.updated")])

    # Saving again with the password left empty keeps it.
    again = client.post(
        f"/generalSettings/projects/{project}/warehouse",
        data={**postgres, "password": "", "host": "db2.internal"},
    )
    assert "Warehouse connection saved." in again.text
    stored = _connection(runtime, project)
    assert stored is not None and stored["password"] == SECRET and stored["host"] == "db2.internal"


def test_a_refused_connection_is_shown_and_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    token = login(client, org.people["admin"])
    path = _duckdb_file(runtime)
    client.post(
        f"/generalSettings/projects/{project}/warehouse",
        data={"csrf_token": token, "type": "duckdb", "database": str(path), "schema": "main"},
    )

    outside = client.post(
        f"/generalSettings/projects/{project}/warehouse",
        data={"csrf_token": token, "type": "duckdb", "database": "/etc/passwd", "schema": "main"},
    )
    assert outside.status_code == 400
    assert 'class="alert alert-error" role="alert"' in outside.text
    assert "/etc/passwd" in outside.text  # the form keeps what was typed
    assert _connection(runtime, project) == {
        "type": "duckdb",
        "database": str(path),
        "schema": "main",
    }

    bad_port = client.post(
        f"/generalSettings/projects/{project}/warehouse",
        data={
            "csrf_token": token,
            "type": "postgres",
            "host": "h",
            "port": "fifty",
            "dbname": "d",
            "user": "u",
            "password": SECRET,
            "schema": "public",
        },
    )
    assert bad_port.status_code == 400
    assert "Port must be a number" in bad_port.text
    assert SECRET not in bad_port.text  # a refused password is not echoed either
    assert 'id="warehouse-port"' in bad_port.text and 'aria-invalid="true"' in bad_port.text

    removed = client.post(
        f"/generalSettings/projects/{project}/warehouse/remove", data={"csrf_token": token}
    )
    assert "Warehouse connection removed." in removed.text
    assert _connection(runtime, project) is None


def test_only_project_admins_see_and_use_the_form(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member"))
    project = make_project(runtime, org, "Analytics")
    add_membership(runtime, project, org.people["member"].uuid, "editor")
    token = login(client, org.people["member"])
    page = client.get(f"/generalSettings/projects/{project}")
    assert page.status_code == 200 and "Warehouse connection" not in page.text
    refused = client.post(
        f"/generalSettings/projects/{project}/warehouse",
        data={"csrf_token": token, "type": "duckdb", "database": "/tmp/x.duckdb", "schema": "main"},
    )
    assert refused.status_code in (403, 400)
    assert _connection(runtime, project) is None


def test_the_register_page_offers_the_demo_project(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    client = make_client(runtime)
    page = client.get("/register").text
    assert 'name="demoProject"' in page and "Add the demo project" in page
    assert 'name="demoProject" value="on" checked' not in page  # off unless LIGHTKEEPER_DEMO

    registered = client.post(
        "/register",
        data={
            "csrf_token": csrf_of(page),
            "firstName": "Ada",
            "lastName": "Admin",
            "email": "ada@example.com",
            "organizationName": "Acme",
            "password": "a long password",
            "demoOffered": "1",
            "demoProject": "on",
        },
        follow_redirects=False,
    )
    assert registered.status_code == 303, registered.text
    with runtime.sessions() as session:
        project = session.scalars(select(Project)).one()
        explores = set(
            session.scalars(select(Explore.name).where(Explore.project_uuid == project.uuid))
        )
    assert project.name == "Jaffle shop (demo)"
    assert {"orders", "customers", "payments"} <= explores
    assert "tracks" not in explores  # its table was never built
    connection = _connection(runtime, project.uuid)
    assert connection is not None and connection["type"] == "duckdb"
    assert Path(str(connection["database"])).is_file()
    assert [e.details["demo"] for e in audit_events(runtime, "project.created")] == [True]


def test_the_demo_box_is_ticked_with_lightkeeper_demo_and_can_be_unticked(
    make_client: Callable[..., TestClient], make_runtime: Callable[..., Runtime]
) -> None:
    runtime = make_runtime(LIGHTKEEPER_DEMO=True)
    client = make_client(runtime)
    page = client.get("/register").text
    assert 'name="demoProject" value="on" checked' in page
    registered = client.post(
        "/register",
        data={
            "csrf_token": csrf_of(page),
            "firstName": "Ada",
            "email": "ada@example.com",
            "organizationName": "Acme",
            "password": "a long password",
            "demoOffered": "1",  # the box unticked: nothing else is sent
        },
        follow_redirects=False,
    )
    assert registered.status_code == 303
    with runtime.sessions() as session:
        assert session.scalars(select(Project)).all() == []
