"""v2 assignments (Lightdash's `{"roleId"}` body) at organization and project level; holders."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from lightkeeper.db import transaction
from lightkeeper.models import ServiceAccount
from lightkeeper.runtime import Runtime
from tests.roles.helpers import create_role, org_assignment_url, project_assignment_url, roles_url
from tests.support import (
    add_custom_role,
    add_membership,
    add_person,
    add_service_account,
    audit_events,
    bind_org_role,
    bind_project_role,
    make_org,
    make_project,
    membership_row,
    user_row,
)


def test_a_system_role_at_organization_level_replaces_the_org_role(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    viewer = org.people["viewer"]
    role_uuid = add_custom_role(runtime, org, "Extra", ["view:Project"])
    bind_org_role(runtime, viewer.uuid, role_uuid)

    response = client.post(
        org_assignment_url(org, viewer.uuid),
        json={"roleId": "editor"},
        headers=org.people["admin"].headers,
    )
    assert response.status_code == 200, response.text
    result = response.json()["results"]
    assert result["roleId"] == "editor" and result["roleName"] == "Editor"
    assert result["ownerType"] == "system" and result["assigneeType"] == "user"
    assert result["assigneeId"] == viewer.uuid and result["organizationId"] == org.uuid
    user = user_row(runtime, viewer.uuid)
    assert user.role == "editor" and user.custom_role_uuid is None
    # One act, one name, whichever route: the v1 PATCH audits the same event.
    [event] = audit_events(runtime, "member.role_changed")
    assert event.target_uuid == viewer.uuid
    assert event.details["before"] == {"role": "viewer", "roleUuid": role_uuid}
    assert event.details["after"] == {"role": "editor", "roleUuid": None}


def test_a_custom_role_at_organization_level_keeps_the_system_role(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    headers = org.people["admin"].headers
    viewer = org.people["viewer"]
    role = create_role(client, org, headers, "Org readers", ["view:OrganizationMemberProfile"])

    response = client.post(
        org_assignment_url(org, viewer.uuid), json={"roleId": role["roleUuid"]}, headers=headers
    )
    assert response.status_code == 200, response.text
    result = response.json()["results"]
    assert result["roleId"] == role["roleUuid"] and result["roleName"] == "Org readers"
    assert result["ownerType"] == "user"
    user = user_row(runtime, viewer.uuid)
    assert user.role == "viewer" and user.custom_role_uuid == role["roleUuid"]

    removed = client.delete(org_assignment_url(org, viewer.uuid), headers=headers)
    assert removed.status_code == 200, removed.text
    user = user_row(runtime, viewer.uuid)
    assert user.role == "viewer" and user.custom_role_uuid is None
    [bound, event] = audit_events(runtime, "member.custom_role_changed")
    assert bound.details["after"] == {"roleUuid": role["roleUuid"]}
    assert event.details["roleId"] == role["roleUuid"]
    assert event.details["after"] == {"roleUuid": None}
    again = client.delete(org_assignment_url(org, viewer.uuid), headers=headers)
    assert again.status_code == 404


def test_organization_assignment_refuses_bad_roles_and_strangers(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    other = make_org(runtime, "Other")
    headers = org.people["admin"].headers
    viewer = org.people["viewer"]
    url = org_assignment_url(org, viewer.uuid)
    theirs = add_custom_role(runtime, other, "Theirs", [])

    unknown_name = client.post(url, json={"roleId": "superuser"}, headers=headers)
    assert unknown_name.status_code == 400
    assert "superuser" in unknown_name.json()["error"]["message"]
    assert client.post(url, json={}, headers=headers).status_code == 400
    assert client.post(url, json={"roleId": str(uuid.uuid4())}, headers=headers).status_code == 404
    assert client.post(url, json={"roleId": theirs}, headers=headers).status_code == 404
    stranger = org_assignment_url(org, other.people["admin"].uuid)
    assert client.post(stranger, json={"roleId": "viewer"}, headers=headers).status_code == 404
    sa_principal = add_service_account(runtime, org, "Bot").principal_uuid
    robot = org_assignment_url(org, sa_principal)
    assert client.post(robot, json={"roleId": "viewer"}, headers=headers).status_code == 400
    assert user_row(runtime, viewer.uuid).role == "viewer"


def test_the_last_admin_stays_admin(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    response = client.post(
        org_assignment_url(org, admin.uuid), json={"roleId": "viewer"}, headers=admin.headers
    )
    assert response.status_code == 400
    assert "last admin" in response.json()["error"]["message"]
    assert user_row(runtime, admin.uuid).role == "admin"


def test_project_assignments_create_update_and_remove_the_membership(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    project = make_project(runtime, org, "Analytics")
    person = add_person(runtime, org, "member", key="ana")
    role = create_role(client, org, headers, "Chart editors", ["view:Project", "view:SavedChart"])
    url = project_assignment_url(project, person.uuid)

    created = client.post(url, json={"roleId": role["roleUuid"]}, headers=headers)
    assert created.status_code == 200, created.text
    result = created.json()["results"]
    assert result["roleId"] == role["roleUuid"] and result["roleName"] == "Chart editors"
    assert result["projectId"] == project and result["assigneeId"] == person.uuid
    membership = membership_row(runtime, project, person.uuid)
    assert membership is not None
    assert membership.role_uuid == role["roleUuid"] and membership.role is None

    updated = client.post(url, json={"roleId": "editor"}, headers=headers)
    assert updated.status_code == 200, updated.text
    assert updated.json()["results"]["roleName"] == "Editor"
    membership = membership_row(runtime, project, person.uuid)
    assert membership is not None and membership.role == "editor" and membership.role_uuid is None

    # The v1 `/access` routes audit the same event for the same act.
    events = audit_events(runtime, "project.member_role_changed")
    assert [e.details["after"] for e in events] == [
        {"roleUuid": role["roleUuid"]},
        {"role": "editor", "roleUuid": None},
    ]
    assert events[1].details["projectName"] == "Analytics"

    removed = client.delete(url, headers=headers)
    assert removed.status_code == 200
    assert membership_row(runtime, project, person.uuid) is None
    assert len(audit_events(runtime, "project.member_removed")) == 1
    assert client.delete(url, headers=headers).status_code == 404


def test_project_assignment_refusals(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    other = make_org(runtime, "Other")
    headers = org.people["admin"].headers
    project = make_project(runtime, org, "Analytics")
    theirs = make_project(runtime, other, "Theirs")
    person = add_person(runtime, org, "member", key="ana")
    url = project_assignment_url(project, person.uuid)

    assert client.post(url, json={"roleId": "member"}, headers=headers).status_code == 400
    assert client.post(url, json={"roleId": "boss"}, headers=headers).status_code == 400
    assert client.post(url, json={"roleId": str(uuid.uuid4())}, headers=headers).status_code == 404
    foreign_project = project_assignment_url(theirs, person.uuid)
    assert (
        client.post(foreign_project, json={"roleId": "viewer"}, headers=headers).status_code == 404
    )
    stranger = project_assignment_url(project, other.people["admin"].uuid)
    assert client.post(stranger, json={"roleId": "viewer"}, headers=headers).status_code == 404
    # An editor sees the project but does not hold manage:Project there.
    editor = client.post(url, json={"roleId": "viewer"}, headers=org.people["editor"].headers)
    assert editor.status_code == 403
    assert membership_row(runtime, project, person.uuid) is None


def test_assignees_list_every_holder_and_deleting_an_assigned_role_says_where(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    project = make_project(runtime, org, "Project X")
    role = create_role(client, org, headers, "Analysts", ["view:Project"])
    role_uuid = role["roleUuid"]
    ana = add_person(runtime, org, "member", key="ana")
    bob = add_person(runtime, org, "viewer", key="bob")
    cy = add_person(runtime, org, "member", key="cy")
    bind_org_role(runtime, ana.uuid, role_uuid)
    bind_org_role(runtime, bob.uuid, role_uuid)
    sa_uuid, sa_principal, _token = add_service_account(
        runtime, org, "Nightly export", role_uuid=role_uuid
    )
    bind_project_role(runtime, project, cy.uuid, role_uuid)
    add_membership(runtime, project, ana.uuid, "viewer")  # a system-role membership: not a holder

    response = client.get(f"{roles_url(org)}/{role_uuid}/assignees", headers=headers)
    assert response.status_code == 200, response.text
    assignees = response.json()["results"]
    users = [a for a in assignees if a["type"] == "user"]
    assert {a["userUuid"] for a in users} == {ana.uuid, bob.uuid}
    assert all(a["kind"] == "organization_user" and a["projectUuid"] is None for a in users)
    ana_row = next(a for a in users if a["userUuid"] == ana.uuid)
    assert ana_row["email"] == ana.email and ana_row["name"] == "Ana Tester"
    [account] = [a for a in assignees if a["type"] == "service_account"]
    assert account["serviceAccountUuid"] == sa_uuid and account["userUuid"] == sa_principal
    assert account["name"] == "Nightly export" and account["isServiceAccount"] is True
    [member] = [a for a in assignees if a["type"] == "project_member"]
    assert member["userUuid"] == cy.uuid and member["projectUuid"] == project
    assert member["projectName"] == "Project X" and member["kind"] == "project_user"
    assert len(assignees) == 4

    refused = client.delete(f"{roles_url(org)}/{role_uuid}", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "Role is assigned to 2 users, 1 service account and 1 project membership (Project X): "
        "unassign it first"
    )
    assert len(refused.json()["error"]["data"]["assignees"]) == 4

    # Unassign everywhere, then it goes.
    bind_org_role(runtime, ana.uuid, None)
    assert client.delete(org_assignment_url(org, bob.uuid), headers=headers).status_code == 200
    assert (
        client.delete(project_assignment_url(project, cy.uuid), headers=headers).status_code == 200
    )
    still = client.delete(f"{roles_url(org)}/{role_uuid}", headers=headers)
    assert still.status_code == 409
    assert still.json()["error"]["message"] == (
        "Role is assigned to 1 service account: unassign it first"
    )
    # The service binds an SA's custom role on the account and on its principal row.
    with transaction(runtime.sessions) as session:
        session.get(ServiceAccount, sa_uuid).role_uuid = None  # type: ignore[union-attr]
    bind_org_role(runtime, sa_principal, None)
    assert (
        client.get(f"{roles_url(org)}/{role_uuid}/assignees", headers=headers).json()["results"]
        == []
    )
    assert client.delete(f"{roles_url(org)}/{role_uuid}", headers=headers).status_code == 200
