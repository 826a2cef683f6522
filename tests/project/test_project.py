"""GET/PATCH /api/v1/projects/{p}: one project's settings and warehouse connection."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from lightkeeper.db import transaction
from lightkeeper.models import Project
from lightkeeper.runtime import Runtime
from tests.support import add_membership, audit_events, make_org, make_project

CONNECTION = {
    "type": "snowflake",
    "account": "acme",
    "user": "ci",
    "privateKey": "PEM",
    "privateKeyPass": "pp",
    "warehouse": "wh",
}


def sealed(runtime: Runtime, project_uuid: str) -> dict[str, object]:
    with transaction(runtime.sessions) as session:
        project = session.get(Project, project_uuid)
        assert project is not None and project.warehouse_connection is not None
        return runtime.secret_box.open(project.warehouse_connection)


def test_a_viewer_reads_the_project(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    project = make_project(runtime, org, "Analytics")

    response = client.get(f"/api/v1/projects/{project}", headers=org.people["viewer"].headers)

    assert response.status_code == 200
    results = response.json()["results"]
    assert results["projectUuid"] == project
    assert results["organizationUuid"] == org.uuid
    assert results["name"] == "Analytics"
    assert results["type"] == "DEFAULT"
    # Lightdash's `Project` fields Lightkeeper has no meaning for carry Lightdash's defaults;
    # no connection: `warehouseConnection` (a union of objects) and `warehouseType` are omitted.
    assert "warehouseConnection" not in results and "warehouseType" not in results
    assert results["requireUserCredentials"] is False
    assert results["schedulerTimezone"] == "UTC"
    assert results["dbtVersion"] == "latest"
    assert results["dbtConnection"] == {"type": "none"}


def test_invisible_and_foreign_projects_are_404(client: TestClient, runtime: Runtime) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "member"))
    globex = make_org(runtime, "Globex")
    project = make_project(runtime, acme, "Analytics")
    foreign = make_project(runtime, globex, "Secret")

    assert (
        client.get(f"/api/v1/projects/{project}", headers=acme.people["member"].headers).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/projects/{foreign}", headers=acme.people["admin"].headers).status_code
        == 404
    )
    assert (
        client.get(
            f"/api/v1/projects/{uuid.uuid4()}", headers=acme.people["admin"].headers
        ).status_code
        == 404
    )
    assert (
        client.patch(
            f"/api/v1/projects/{foreign}",
            json={"name": "Mine"},
            headers=acme.people["admin"].headers,
        ).status_code
        == 404
    )
    assert (
        client.get("/api/v1/projects/123", headers=acme.people["admin"].headers).status_code == 400
    )
    add_membership(runtime, project, acme.people["member"].uuid, "viewer")
    assert (
        client.get(f"/api/v1/projects/{project}", headers=acme.people["member"].headers).status_code
        == 200
    )


def test_a_developer_renames_but_only_a_project_admin_changes_the_connection(
    client: TestClient, runtime: Runtime
) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "developer"))
    project = make_project(runtime, acme, "Analytics")
    developer = acme.people["developer"]
    url = f"/api/v1/projects/{project}"

    refused = client.patch(url, json={"warehouseConnection": CONNECTION}, headers=developer.headers)
    renamed = client.patch(url, json={"name": "Analytics v2"}, headers=developer.headers)

    assert refused.status_code == 403
    assert "manage:Project" in refused.json()["error"]["message"]
    assert renamed.status_code == 200
    assert "warehouseConnection" not in renamed.json()["results"]


def test_a_project_admin_updates_the_project_audited(client: TestClient, runtime: Runtime) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "developer"))
    globex = make_org(runtime, "Globex")
    project = make_project(runtime, acme, "Analytics")
    developer = acme.people["developer"]
    add_membership(runtime, project, developer.uuid, "admin")

    response = client.patch(
        f"/api/v1/projects/{project}",
        json={
            "name": "Analytics v2",
            "warehouseConnection": CONNECTION,
            "organizationUuid": globex.uuid,
            "createdByUserUuid": developer.uuid,
        },
        headers=developer.headers,
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert results["name"] == "Analytics v2"
    assert results["organizationUuid"] == acme.uuid
    assert results["createdByUserUuid"] == acme.people["admin"].uuid
    assert results["warehouseConnection"] == {
        "type": "snowflake",
        "account": "acme",
        "user": "ci",
        "warehouse": "wh",
    }
    assert sealed(runtime, project)["privateKey"] == "PEM"
    [event] = audit_events(runtime, "project.updated")
    assert event.actor_uuid == developer.uuid
    assert event.details["before"] == {"name": "Analytics"}
    assert event.details["after"] == {"name": "Analytics v2"}
    assert event.details["warehouseConnection"] == {
        "before": {"type": None},
        "after": {"type": "snowflake"},
    }
    assert "PEM" not in str(event.details)


def test_omitted_secrets_are_kept_on_update(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    headers = org.people["admin"].headers
    client.patch(
        f"/api/v1/projects/{project}", json={"warehouseConnection": CONNECTION}, headers=headers
    )
    shown = client.get(f"/api/v1/projects/{project}", headers=headers).json()["results"][
        "warehouseConnection"
    ]

    client.patch(
        f"/api/v1/projects/{project}",
        json={"warehouseConnection": {**shown, "warehouse": "big"}},
        headers=headers,
    )

    stored = sealed(runtime, project)
    assert stored["warehouse"] == "big"
    assert stored["privateKey"] == "PEM"
    assert stored["privateKeyPass"] == "pp"


def test_viewers_and_editors_cannot_update(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer", "editor"))
    project = make_project(runtime, org, "Analytics")

    for role in ("viewer", "editor"):
        response = client.patch(
            f"/api/v1/projects/{project}", json={"name": "X"}, headers=org.people[role].headers
        )
        assert response.status_code == 403, role
    assert (
        client.get(f"/api/v1/projects/{project}", headers=org.people["admin"].headers).json()[
            "results"
        ]["name"]
        == "Analytics"
    )
    assert audit_events(runtime, "project.updated") == []


def test_empty_name_is_400(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")

    response = client.patch(
        f"/api/v1/projects/{project}", json={"name": ""}, headers=org.people["admin"].headers
    )

    assert response.status_code == 400


def test_a_project_admin_sets_the_scheduler_timezone(client: TestClient, runtime: Runtime) -> None:
    """`PATCH …/schedulerSettings` (Lightdash's, the Terraform providers'): stored and shown."""
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    project = make_project(runtime, org, "Analytics")
    url = f"/api/v1/projects/{project}/schedulerSettings"
    admin = org.people["admin"].headers

    refused = client.patch(
        url, json={"schedulerTimezone": "Europe/Paris"}, headers=org.people["editor"].headers
    )
    unknown = client.patch(url, json={"schedulerTimezone": "Mars/Olympus"}, headers=admin)
    missing = client.patch(url, json={}, headers=admin)
    done = client.patch(url, json={"schedulerTimezone": "Europe/Paris"}, headers=admin)

    assert refused.status_code == 403
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == (
        "Unknown timezone 'Mars/Olympus': use an IANA name such as UTC or Europe/Paris"
    )
    assert missing.status_code == 400
    assert done.status_code == 200 and done.json() == {"status": "ok", "results": None}
    shown = client.get(f"/api/v1/projects/{project}", headers=admin).json()["results"]
    assert shown["schedulerTimezone"] == "Europe/Paris"
    [event] = audit_events(runtime, "project.updated")
    assert event.details == {
        "before": {"schedulerTimezone": "UTC"},
        "after": {"schedulerTimezone": "Europe/Paris"},
    }


def test_a_project_admin_sets_and_clears_the_upstream_project(
    client: TestClient, runtime: Runtime
) -> None:
    """`PATCH …/metadata {upstreamProjectUuid}`: another visible project of the organization."""
    acme = make_org(runtime, "Acme", roles=("admin", "editor"))
    globex = make_org(runtime, "Globex")
    project = make_project(runtime, acme, "Staging")
    production = make_project(runtime, acme, "Production")
    foreign = make_project(runtime, globex, "Secret")
    url = f"/api/v1/projects/{project}/metadata"
    admin = acme.people["admin"].headers

    refused = client.patch(
        url, json={"upstreamProjectUuid": production}, headers=acme.people["editor"].headers
    )
    itself = client.patch(url, json={"upstreamProjectUuid": project}, headers=admin)
    elsewhere = client.patch(url, json={"upstreamProjectUuid": foreign}, headers=admin)
    set_ = client.patch(url, json={"upstreamProjectUuid": production}, headers=admin)
    shown = client.get(f"/api/v1/projects/{project}", headers=admin).json()["results"]
    untouched = client.patch(url, json={}, headers=admin)
    still = client.get(f"/api/v1/projects/{project}", headers=admin).json()["results"]
    cleared = client.patch(url, json={"upstreamProjectUuid": None}, headers=admin)

    assert refused.status_code == 403
    assert itself.status_code == 400
    assert itself.json()["error"]["message"] == "A project cannot be its own upstream project"
    assert elsewhere.status_code == 404
    assert set_.status_code == 200 and shown["upstreamProjectUuid"] == production
    assert untouched.status_code == 200 and still["upstreamProjectUuid"] == production
    assert cleared.status_code == 200
    after = client.get(f"/api/v1/projects/{project}", headers=admin).json()["results"]
    assert after["upstreamProjectUuid"] is None
    assert [e.details for e in audit_events(runtime, "project.updated")] == [
        {"before": {"upstreamProjectUuid": None}, "after": {"upstreamProjectUuid": production}},
        {"before": {"upstreamProjectUuid": production}, "after": {"upstreamProjectUuid": None}},
    ]
