"""Project members: /api/v1/projects/{p}/access."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.support import (
    add_custom_role,
    add_membership,
    add_service_account,
    audit_events,
    bind_project_role,
    make_org,
    make_project,
    membership_row,
)

VIEWER_SCOPES = [
    "view:Project",
    "view:Space",
    "view:SavedChart",
    "view:Dashboard",
    "view:DashboardComments",
]


def test_list_explicit_memberships_people_and_service_accounts(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer", "member"))
    project = make_project(runtime, org, "Analytics")
    member = org.people["member"]
    add_membership(runtime, project, member.uuid, "editor")
    sa_uuid = add_service_account(runtime, org, "CI deploy", role="member").principal_uuid
    add_membership(runtime, project, sa_uuid, "developer")

    response = client.get(
        f"/api/v1/projects/{project}/access", headers=org.people["viewer"].headers
    )

    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "userUuid": member.uuid,
            "projectUuid": project,
            "email": member.email,
            "firstName": "Member",
            "lastName": "Tester",
            "role": "editor",
            "roleUuid": None,
            "isServiceAccount": False,
        },
        {
            "userUuid": sa_uuid,
            "projectUuid": project,
            "email": "",  # Lightdash's ProjectMemberProfile has a string; an SA has no email
            "firstName": "CI deploy",
            "lastName": "",
            "role": "developer",
            "roleUuid": None,
            "isServiceAccount": True,
        },
    ]


def test_one_membership_by_user(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer", "member"))
    project = make_project(runtime, org, "Analytics")
    member = org.people["member"]
    add_membership(runtime, project, member.uuid, "editor")
    headers = org.people["viewer"].headers
    url = f"/api/v1/projects/{project}/user"

    found = client.get(f"{url}/{member.uuid}", headers=headers)
    # The admin reaches the project through the org role only: no membership to show.
    without = client.get(f"{url}/{org.people['admin'].uuid}", headers=headers)
    elsewhere = client.get(f"/api/v1/projects/{uuid.uuid4()}/user/{member.uuid}", headers=headers)

    assert found.status_code == 200
    assert found.json()["results"] == {
        "userUuid": member.uuid,
        "projectUuid": project,
        "email": member.email,
        "firstName": "Member",
        "lastName": "Tester",
        "role": "editor",
        "roleUuid": None,
        "isServiceAccount": False,
    }
    assert without.status_code == 404
    assert without.json()["error"]["message"] == "Project member not found"
    assert elsewhere.status_code == 404


def test_admin_adds_a_member_by_email_or_uuid(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member", "viewer"))
    project = make_project(runtime, org, "Analytics")
    member = org.people["member"]
    headers = org.people["admin"].headers
    assert client.get(f"/api/v1/projects/{project}", headers=member.headers).status_code == 404

    by_email = client.post(
        f"/api/v1/projects/{project}/access",
        json={"email": member.email.upper(), "role": "editor"},
        headers=headers,
    )
    by_uuid = client.post(
        f"/api/v1/projects/{project}/access",
        json={"userUuid": org.people["viewer"].uuid, "role": "developer"},
        headers=headers,
    )

    assert by_email.status_code == 200
    assert by_email.json()["results"]["role"] == "editor"
    assert by_email.json()["results"]["userUuid"] == member.uuid
    assert by_uuid.status_code == 200
    assert client.get(f"/api/v1/projects/{project}", headers=member.headers).status_code == 200
    added = audit_events(runtime, "project.member_role_changed")
    assert [(e.target_uuid, e.details["role"]) for e in added] == [
        (member.uuid, "editor"),
        (org.people["viewer"].uuid, "developer"),
    ]
    assert added[0].details["projectUuid"] == project


def test_add_member_errors(client: TestClient, runtime: Runtime) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "member", "developer"))
    globex = make_org(runtime, "Globex")
    project = make_project(runtime, acme, "Analytics")
    foreign = make_project(runtime, globex, "Secret")
    url = f"/api/v1/projects/{project}/access"
    admin = acme.people["admin"].headers
    member = acme.people["member"]

    def post(body: dict[str, object], headers: dict[str, str] = admin, target: str = url) -> int:
        return client.post(target, json=body, headers=headers).status_code

    assert post({"email": member.email, "role": "owner"}) == 400
    assert post({"email": member.email, "role": "member"}) == 400
    assert post({"role": "viewer"}) == 400
    assert post({"userUuid": "nope", "role": "viewer"}) == 400
    assert post({"email": globex.people["admin"].email, "role": "viewer"}) == 404
    assert post({"userUuid": globex.people["admin"].uuid, "role": "viewer"}) == 404
    assert post({"email": "nobody@acme.example", "role": "viewer"}) == 404
    assert (
        post({"email": member.email, "role": "viewer"}, headers=acme.people["developer"].headers)
        == 403
    )
    assert (
        post({"email": member.email, "role": "viewer"}, target=f"/api/v1/projects/{foreign}/access")
        == 404
    )
    assert post({"email": member.email, "role": "viewer"}) == 200
    duplicate = client.post(url, json={"email": member.email, "role": "editor"}, headers=admin)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["name"] == "AlreadyExistsError"
    assert membership_row(runtime, project, member.uuid).role == "viewer"  # type: ignore[union-attr]


def test_a_project_admin_who_is_an_org_member_may_grant_admin(
    client: TestClient, runtime: Runtime
) -> None:
    # An org `member` holds nothing org-wide; an admin membership on this project suffices here.
    org = make_org(runtime, "Acme", roles=("admin", "member", "viewer"))
    project = make_project(runtime, org, "Analytics")
    other = make_project(runtime, org, "Finance")
    lead = org.people["member"]
    add_membership(runtime, project, lead.uuid, "admin")

    granted = client.post(
        f"/api/v1/projects/{project}/access",
        json={"userUuid": org.people["viewer"].uuid, "role": "admin"},
        headers=lead.headers,
    )
    elsewhere = client.post(
        f"/api/v1/projects/{other}/access",
        json={"userUuid": org.people["viewer"].uuid, "role": "admin"},
        headers=lead.headers,
    )

    assert granted.status_code == 200
    assert elsewhere.status_code == 404


def test_project_grants_stay_within_what_the_granter_holds(
    client: TestClient, runtime: Runtime
) -> None:
    # A custom project role that may manage members but only holds viewer-level content scopes.
    org = make_org(runtime, "Acme", roles=("admin", "member", "editor"))
    project = make_project(runtime, org, "Analytics")
    role = add_custom_role(runtime, org, "Member manager", ["manage:Project", *VIEWER_SCOPES])
    lead, member = org.people["member"], org.people["editor"]
    bind_project_role(runtime, project, lead.uuid, role)
    url = f"/api/v1/projects/{project}/access"

    as_admin = client.post(
        url, json={"userUuid": member.uuid, "role": "admin"}, headers=lead.headers
    )
    as_editor = client.post(
        url, json={"userUuid": member.uuid, "role": "editor"}, headers=lead.headers
    )
    as_viewer = client.post(
        url, json={"userUuid": member.uuid, "role": "viewer"}, headers=lead.headers
    )
    promote = client.patch(f"{url}/{member.uuid}", json={"role": "developer"}, headers=lead.headers)

    assert as_admin.status_code == 403
    assert as_admin.json()["error"]["message"] == "Cannot grant permissions exceeding your own"
    assert as_editor.status_code == 403
    assert as_viewer.status_code == 200
    assert promote.status_code == 403
    assert membership_row(runtime, project, member.uuid).role == "viewer"  # type: ignore[union-attr]


def test_change_a_members_role_audited(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member"))
    project = make_project(runtime, org, "Analytics")
    member = org.people["member"]
    add_membership(runtime, project, member.uuid, "viewer")
    headers = org.people["admin"].headers

    response = client.patch(
        f"/api/v1/projects/{project}/access/{member.uuid}",
        json={"role": "developer"},
        headers=headers,
    )
    bad_role = client.patch(
        f"/api/v1/projects/{project}/access/{member.uuid}", json={"role": "member"}, headers=headers
    )
    not_member = client.patch(
        f"/api/v1/projects/{project}/access/{uuid.uuid4()}",
        json={"role": "viewer"},
        headers=headers,
    )

    assert response.status_code == 200
    assert response.json()["results"]["role"] == "developer"
    assert bad_role.status_code == 400
    assert not_member.status_code == 404
    assert membership_row(runtime, project, member.uuid).role == "developer"  # type: ignore[union-attr]
    [event] = audit_events(runtime, "project.member_role_changed")
    assert event.details["before"] == {"role": "viewer"}
    assert event.details["after"] == {"role": "developer"}


def test_remove_a_member(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member", "viewer"))
    project = make_project(runtime, org, "Analytics")
    member = org.people["member"]
    add_membership(runtime, project, member.uuid, "viewer")
    url = f"/api/v1/projects/{project}/access/{member.uuid}"

    by_viewer = client.delete(url, headers=org.people["viewer"].headers)
    removed = client.delete(url, headers=org.people["admin"].headers)
    again = client.delete(url, headers=org.people["admin"].headers)

    assert by_viewer.status_code == 403
    assert removed.status_code == 200
    assert again.status_code == 404
    assert membership_row(runtime, project, member.uuid) is None
    assert client.get(f"/api/v1/projects/{project}", headers=member.headers).status_code == 404
    [event] = audit_events(runtime, "project.member_removed")
    assert event.target_uuid == member.uuid
