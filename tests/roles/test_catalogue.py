"""The role catalogue: the scope vocabulary; creating, reading, editing, deleting roles."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from lightkeeper.auth.roles import PROJECT_ROLES
from lightkeeper.auth.scopes import VOCABULARY
from lightkeeper.runtime import Runtime
from tests.roles.helpers import create_role, roles_url
from tests.support import audit_events, make_org, role_row

CHARTS = ["view:Project", "view:Space", "view:SavedChart", "manage:SavedChart@space"]


def test_the_scope_vocabulary_comes_with_description_group_and_level(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    response = client.get(f"{roles_url(org)}/scopes", headers=org.people["admin"].headers)
    assert response.status_code == 200, response.text
    scopes = {s["name"]: s for s in response.json()["results"]}
    assert set(scopes) == set(VOCABULARY)
    assert scopes["manage:Organization"] == {
        "name": "manage:Organization",
        "description": VOCABULARY["manage:Organization"].description,
        "group": "Organization",
        "isOrganizationLevel": True,
        "level": "organization",
    }
    assert scopes["manage:SavedChart@space"]["isOrganizationLevel"] is False
    assert scopes["manage:SavedChart@space"]["level"] == "project"
    assert scopes["manage:SavedChart@space"]["group"] == "Charts"


def test_creating_a_role_answers_201_with_the_role(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    response = client.post(
        roles_url(org),
        json={
            "name": "  Chart editors ",
            "description": "Edit charts where shared",
            # duplicates and any order: stored once each, in vocabulary order
            "scopes": [
                "manage:SavedChart@space",
                "view:Project",
                "view:Space",
                "view:SavedChart",
                "view:Project",
            ],
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    role = response.json()["results"]
    assert uuid.UUID(role["roleUuid"])
    assert role["organizationUuid"] == org.uuid
    assert role["name"] == "Chart editors"
    assert role["description"] == "Edit charts where shared"
    assert role["scopes"] == CHARTS
    assert role["ownerType"] == "user"
    assert role["createdBy"] == {"userUuid": admin.uuid, "firstName": "Admin", "lastName": "Tester"}
    assert role["createdAt"].endswith("Z") and role["updatedAt"].endswith("Z")

    stored = role_row(runtime, role["roleUuid"])
    assert stored is not None and stored.scopes == CHARTS
    [event] = audit_events(runtime, "role.created")
    assert event.target_uuid == role["roleUuid"] and event.actor_uuid == admin.uuid
    assert event.details["scopes"] == CHARTS

    fetched = client.get(f"{roles_url(org)}/{role['roleUuid']}", headers=admin.headers)
    assert fetched.status_code == 200
    assert fetched.json()["results"] == role


def test_the_list_shows_system_roles_then_custom_roles(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    beta = create_role(client, org, headers, "beta", ["view:Project"])
    alpha = create_role(client, org, headers, "Alpha", [])
    other = make_org(runtime, "Other")
    create_role(client, other, other.people["admin"].headers, "Not ours", [])

    listed = client.get(roles_url(org), headers=headers).json()["results"]
    system = [r for r in listed if r["ownerType"] == "system"]
    assert [r["roleUuid"] for r in system] == list(PROJECT_ROLES)
    assert system[0]["name"] == "Viewer" and system[0]["organizationUuid"] is None
    assert "manage:Organization" in next(r for r in system if r["roleUuid"] == "admin")["scopes"]
    assert [r["roleUuid"] for r in listed if r["ownerType"] == "user"] == [
        alpha["roleUuid"],
        beta["roleUuid"],
    ]

    custom = client.get(roles_url(org), params={"roleTypeFilter": "user"}, headers=headers)
    assert [r["name"] for r in custom.json()["results"]] == ["Alpha", "beta"]
    only_system = client.get(roles_url(org), params={"roleTypeFilter": "system"}, headers=headers)
    assert [r["roleUuid"] for r in only_system.json()["results"]] == list(PROJECT_ROLES)
    bad = client.get(roles_url(org), params={"roleTypeFilter": "group"}, headers=headers)
    assert bad.status_code == 400

    editor = client.get(f"{roles_url(org)}/editor", headers=headers)
    assert editor.status_code == 200 and editor.json()["results"]["ownerType"] == "system"


def test_a_name_is_required_and_unique_in_the_organization(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    missing = client.post(roles_url(org), json={"scopes": []}, headers=headers)
    assert missing.status_code == 400
    assert missing.json()["error"]["message"] == "Role name is required"
    blank = client.post(roles_url(org), json={"name": "   "}, headers=headers)
    assert blank.status_code == 400
    assert blank.json()["error"]["data"]["fields"] == {"name": "required"}

    create_role(client, org, headers, "Analysts", [])
    duplicate = client.post(roles_url(org), json={"name": "analysts"}, headers=headers)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["name"] == "AlreadyExistsError"
    assert "analysts" in duplicate.json()["error"]["message"]

    # The same name in another organization is fine.
    other = make_org(runtime, "Other")
    create_role(client, other, other.people["admin"].headers, "Analysts", [])

    second = create_role(client, org, headers, "Engineers", [])
    rename = client.patch(
        f"{roles_url(org)}/{second['roleUuid']}", json={"name": "ANALYSTS"}, headers=headers
    )
    assert rename.status_code == 409


def test_unknown_scopes_are_a_400_that_lists_them(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    response = client.post(
        roles_url(org),
        json={"name": "Odd", "scopes": ["view:Project", "fly:Plane", "manage:Everything"]},
        headers=headers,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["name"] == "ParameterError"
    assert "fly:Plane" in error["message"] and "manage:Everything" in error["message"]
    assert "view:Project" not in error["message"]
    assert error["data"]["unknownScopes"] == ["fly:Plane", "manage:Everything"]

    role = create_role(client, org, headers, "Fine", ["view:Project"])
    patched = client.patch(
        f"{roles_url(org)}/{role['roleUuid']}", json={"scopes": ["view:Nothing"]}, headers=headers
    )
    assert patched.status_code == 400 and "view:Nothing" in patched.json()["error"]["message"]


def test_editing_a_role_replaces_or_adds_and_removes_scopes_and_is_audited(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    role = create_role(client, org, headers, "Readers", ["view:Project"])
    url = f"{roles_url(org)}/{role['roleUuid']}"

    renamed = client.patch(url, json={"name": "Viewers+", "description": "More"}, headers=headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["results"]["name"] == "Viewers+"
    assert renamed.json()["results"]["description"] == "More"
    assert renamed.json()["results"]["scopes"] == ["view:Project"]

    replaced = client.patch(url, json={"scopes": ["view:Space", "view:Project"]}, headers=headers)
    assert replaced.json()["results"]["scopes"] == ["view:Project", "view:Space"]

    # Lightdash's form: {add, remove}
    changed = client.patch(
        url, json={"scopes": {"add": ["view:Dashboard"], "remove": ["view:Space"]}}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["results"]["scopes"] == ["view:Project", "view:Dashboard"]
    assert role_row(runtime, role["roleUuid"]).scopes == ["view:Project", "view:Dashboard"]  # type: ignore[union-attr]

    events = audit_events(runtime, "role.updated")
    assert len(events) == 3
    assert events[0].details["before"]["name"] == "Readers"
    assert events[0].details["after"]["name"] == "Viewers+"
    last = events[-1].details
    assert last["before"]["scopes"] == ["view:Project", "view:Space"]
    assert last["after"]["scopes"] == ["view:Project", "view:Dashboard"]
    assert last["addedScopes"] == ["view:Dashboard"] and last["removedScopes"] == ["view:Space"]

    # An edit that changes nothing records nothing.
    client.patch(url, json={"name": "Viewers+"}, headers=headers)
    assert len(audit_events(runtime, "role.updated")) == 3

    system = client.patch(f"{roles_url(org)}/admin", json={"name": "x"}, headers=headers)
    assert system.status_code == 400


def test_deleting_an_unassigned_role(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    role = create_role(client, org, headers, "Temporary", ["view:Project"])
    url = f"{roles_url(org)}/{role['roleUuid']}"
    response = client.delete(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    assert role_row(runtime, role["roleUuid"]) is None
    [event] = audit_events(runtime, "role.deleted")
    assert event.target_uuid == role["roleUuid"] and event.details["name"] == "Temporary"
    assert client.delete(url, headers=headers).status_code == 404
    assert client.get(url, headers=headers).status_code == 404


def test_the_organization_in_the_path_must_be_the_callers(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    other = make_org(runtime, "Other")
    headers = org.people["admin"].headers
    theirs = create_role(client, other, other.people["admin"].headers, "Theirs", [])

    for path in ("", "/scopes", f"/{theirs['roleUuid']}", f"/{theirs['roleUuid']}/assignees"):
        response = client.get(roles_url(other) + path, headers=headers)
        assert response.status_code == 404, (path, response.text)
    assert client.get(roles_url(str(uuid.uuid4())), headers=headers).status_code == 404
    create = client.post(roles_url(other), json={"name": "Sneaky"}, headers=headers)
    assert create.status_code == 404
    # Another organization's role through our own organization's path: no such role.
    assert client.get(f"{roles_url(org)}/{theirs['roleUuid']}", headers=headers).status_code == 404
    patch = client.patch(
        f"{roles_url(org)}/{theirs['roleUuid']}", json={"name": "x"}, headers=headers
    )
    assert patch.status_code == 404
    delete = client.delete(f"{roles_url(org)}/{theirs['roleUuid']}", headers=headers)
    assert delete.status_code == 404
    # Malformed ids are 400.
    assert client.get(roles_url("not-a-uuid"), headers=headers).status_code == 400
    assert client.get(f"{roles_url(org)}/not-a-uuid", headers=headers).status_code == 400


def test_managing_roles_needs_manage_organization(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer", "viewer"))
    role = create_role(client, org, org.people["admin"].headers, "R", [])
    for key in ("developer", "viewer"):
        headers = org.people[key].headers
        assert client.get(roles_url(org), headers=headers).status_code == 403
        assert client.get(f"{roles_url(org)}/scopes", headers=headers).status_code == 403
        assert client.post(roles_url(org), json={"name": "x"}, headers=headers).status_code == 403
        url = f"{roles_url(org)}/{role['roleUuid']}"
        assert client.patch(url, json={"name": "y"}, headers=headers).status_code == 403
        assert client.delete(url, headers=headers).status_code == 403
        assert client.get(f"{url}/assignees", headers=headers).status_code == 403
