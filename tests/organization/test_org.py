"""GET/PATCH /api/v1/org: the organization's settings."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from lightkeeper.db import transaction
from lightkeeper.models import Organization
from lightkeeper.runtime import Runtime
from tests.support import audit_events, make_org

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_any_member_reads_the_organization(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member"))

    response = client.get("/api/v1/org", headers=org.people["member"].headers)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    results = body["results"]
    assert results["organizationUuid"] == org.uuid
    assert results["name"] == "Acme"
    assert results["defaultRole"] == "viewer"
    assert ISO_MS.match(results["createdAt"])


def test_reading_the_organization_needs_a_credential(client: TestClient, runtime: Runtime) -> None:
    make_org(runtime, "Acme")

    response = client.get("/api/v1/org")

    assert response.status_code == 401
    assert response.json()["error"]["name"] == "AuthorizationError"


def test_admin_renames_and_changes_default_role_audited(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]

    response = client.patch(
        "/api/v1/org", json={"name": "Acme Corp", "defaultRole": "editor"}, headers=admin.headers
    )

    assert response.status_code == 200
    assert response.json()["results"]["name"] == "Acme Corp"
    assert response.json()["results"]["defaultRole"] == "editor"
    with transaction(runtime.sessions) as session:
        row = session.get(Organization, org.uuid)
        assert row is not None
        assert (row.name, row.default_role) == ("Acme Corp", "editor")
    [event] = audit_events(runtime, "organization.updated")
    assert event.actor_uuid == admin.uuid
    assert event.target_uuid == org.uuid
    assert event.details == {
        "before": {"defaultRole": "viewer", "name": "Acme"},
        "after": {"defaultRole": "editor", "name": "Acme Corp"},
    }


def test_absent_fields_stay_unchanged(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")

    response = client.patch(
        "/api/v1/org", json={"defaultRole": "member"}, headers=org.people["admin"].headers
    )

    assert response.status_code == 200
    assert response.json()["results"]["name"] == "Acme"
    assert response.json()["results"]["defaultRole"] == "member"


def test_non_admins_cannot_change_the_organization(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer"))

    response = client.patch(
        "/api/v1/org", json={"name": "Mine"}, headers=org.people["developer"].headers
    )

    assert response.status_code == 403
    assert response.json()["error"]["name"] == "ForbiddenError"
    assert audit_events(runtime, "organization.updated") == []


def test_organization_names_are_unique_per_instance(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    make_org(runtime, "Globex")

    response = client.patch(
        "/api/v1/org", json={"name": "Globex"}, headers=org.people["admin"].headers
    )

    assert response.status_code == 409
    assert response.json()["error"]["name"] == "AlreadyExistsError"
    assert "Globex" in response.json()["error"]["message"]


def test_bad_values_are_400(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers

    empty = client.patch("/api/v1/org", json={"name": "  "}, headers=headers)
    unknown_role = client.patch("/api/v1/org", json={"defaultRole": "owner"}, headers=headers)

    assert empty.status_code == 400
    assert empty.json()["error"]["data"]["fields"] == {"name": "required"}
    assert unknown_role.status_code == 400
    assert "owner" in unknown_role.json()["error"]["message"]


def test_organization_uuid_in_the_body_is_ignored(client: TestClient, runtime: Runtime) -> None:
    acme = make_org(runtime, "Acme")
    globex = make_org(runtime, "Globex")

    response = client.patch(
        "/api/v1/org",
        json={"name": "Acme 2", "organizationUuid": globex.uuid},
        headers=acme.people["admin"].headers,
    )

    assert response.status_code == 200
    assert response.json()["results"]["organizationUuid"] == acme.uuid
    with transaction(runtime.sessions) as session:
        assert session.get(Organization, globex.uuid).name == "Globex"  # type: ignore[union-attr]
        assert session.get(Organization, acme.uuid).name == "Acme 2"  # type: ignore[union-attr]
