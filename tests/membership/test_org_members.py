"""Organization members: change role, remove (offboarding)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lightkeeper.db import transaction
from lightkeeper.identity import sessions as identity
from lightkeeper.models import PersonalAccessToken, Project, ServiceAccount, User, UserSession
from lightkeeper.runtime import Runtime
from tests.support import (
    add_custom_role,
    add_person,
    add_service_account,
    audit_events,
    bind_org_role,
    make_org,
    make_project,
    user_row,
)

VIEWER_PROJECT_SCOPES = [
    "view:Project",
    "view:Space",
    "view:SavedChart",
    "view:Dashboard",
    "view:DashboardComments",
]


# -- change role ------------------------------------------------------------------


def test_admin_changes_a_role_effective_next_request(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    viewer = org.people["viewer"]
    assert (
        client.patch("/api/v1/org", json={"name": "X"}, headers=viewer.headers).status_code == 403
    )

    response = client.patch(
        f"/api/v1/org/users/{viewer.uuid}",
        json={"role": "admin"},
        headers=org.people["admin"].headers,
    )

    assert response.status_code == 200
    assert response.json()["results"]["role"] == "admin"
    assert user_row(runtime, viewer.uuid).role == "admin"  # type: ignore[union-attr]
    assert (
        client.patch("/api/v1/org", json={"name": "X"}, headers=viewer.headers).status_code == 200
    )
    [event] = audit_events(runtime, "member.role_changed")
    assert event.target_uuid == viewer.uuid
    assert event.details == {"before": {"role": "viewer"}, "after": {"role": "admin"}}


def test_change_role_errors(client: TestClient, runtime: Runtime) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "viewer", "editor"))
    globex = make_org(runtime, "Globex")
    sa_uuid = add_service_account(runtime, acme, role="viewer").principal_uuid
    admin = acme.people["admin"].headers
    viewer = acme.people["viewer"]

    unknown = client.patch(
        f"/api/v1/org/users/{viewer.uuid}", json={"role": "owner"}, headers=admin
    )
    by_viewer = client.patch(
        f"/api/v1/org/users/{acme.people['editor'].uuid}",
        json={"role": "viewer"},
        headers=viewer.headers,
    )
    other_org = client.patch(
        f"/api/v1/org/users/{globex.people['admin'].uuid}", json={"role": "viewer"}, headers=admin
    )
    service_account = client.patch(
        f"/api/v1/org/users/{sa_uuid}", json={"role": "admin"}, headers=admin
    )
    malformed = client.patch("/api/v1/org/users/not-a-uuid", json={"role": "viewer"}, headers=admin)

    assert unknown.status_code == 400
    assert by_viewer.status_code == 403
    assert other_org.status_code == 404
    assert service_account.status_code == 404
    assert malformed.status_code == 400
    assert user_row(runtime, globex.people["admin"].uuid).role == "admin"  # type: ignore[union-attr]
    assert audit_events(runtime, "member.role_changed") == []


def test_the_last_admin_cannot_be_demoted(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]

    response = client.patch(
        f"/api/v1/org/users/{admin.uuid}", json={"role": "developer"}, headers=admin.headers
    )

    assert response.status_code == 400
    assert "last admin" in response.json()["error"]["message"]
    assert user_row(runtime, admin.uuid).role == "admin"  # type: ignore[union-attr]


def test_an_admin_may_step_down_when_another_admin_remains(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    second = add_person(runtime, org, "admin", key="second")
    first = org.people["admin"]

    stepped_down = client.patch(
        f"/api/v1/org/users/{first.uuid}", json={"role": "editor"}, headers=first.headers
    )
    last = client.patch(
        f"/api/v1/org/users/{second.uuid}", json={"role": "editor"}, headers=second.headers
    )

    assert stepped_down.status_code == 200
    assert last.status_code == 400


def test_no_one_grants_more_than_they_hold(client: TestClient, runtime: Runtime) -> None:
    # A "people manager": an org-level custom role that may manage members and view every project.
    org = make_org(runtime, "Acme", roles=("admin", "member", "editor"))
    role = add_custom_role(
        runtime, org, "People manager", ["manage:OrganizationMemberProfile", *VIEWER_PROJECT_SCOPES]
    )
    manager = add_person(runtime, org, "member", key="manager")
    bind_org_role(runtime, manager.uuid, role)
    member = org.people["member"]

    to_viewer = client.patch(
        f"/api/v1/org/users/{member.uuid}", json={"role": "viewer"}, headers=manager.headers
    )
    to_editor = client.patch(
        f"/api/v1/org/users/{member.uuid}", json={"role": "editor"}, headers=manager.headers
    )
    to_admin = client.patch(
        f"/api/v1/org/users/{member.uuid}", json={"role": "admin"}, headers=manager.headers
    )
    demote_editor = client.patch(
        f"/api/v1/org/users/{org.people['editor'].uuid}",
        json={"role": "member"},
        headers=manager.headers,
    )

    assert to_viewer.status_code == 200
    for refused in (to_editor, to_admin):
        assert refused.status_code == 403
        assert refused.json()["error"]["message"] == "Cannot grant permissions exceeding your own"
    assert demote_editor.status_code == 403
    assert demote_editor.json()["error"]["message"] == (
        "Cannot act on a principal with more permissions than your own"
    )
    assert user_row(runtime, member.uuid).role == "viewer"  # type: ignore[union-attr]
    assert user_row(runtime, org.people["editor"].uuid).role == "editor"  # type: ignore[union-attr]


# -- remove -----------------------------------------------------------------------


def test_removing_a_member_offboards_them(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer"))
    developer = org.people["developer"]
    project = make_project(runtime, org, "Analytics", created_by=developer.uuid)
    _, sa_uuid, sa_token = add_service_account(runtime, org, created_by=developer.uuid)
    with transaction(runtime.sessions) as session:
        user = session.get(User, developer.uuid)
        assert user is not None
        identity.start_session(runtime, session, user)
    assert client.get("/api/v1/org", headers=developer.headers).status_code == 200

    response = client.delete(
        f"/api/v1/org/user/{developer.uuid}", headers=org.people["admin"].headers
    )

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert client.get("/api/v1/org", headers=developer.headers).status_code == 401
    retired = user_row(runtime, developer.uuid)
    assert retired is not None and not retired.is_active and retired.email is None
    with transaction(runtime.sessions) as session:
        count = select(func.count())
        assert (
            session.scalar(
                count.select_from(UserSession).where(UserSession.user_uuid == developer.uuid)
            )
            == 0
        )
        assert (
            session.scalar(
                count.select_from(PersonalAccessToken).where(
                    PersonalAccessToken.user_uuid == developer.uuid
                )
            )
            == 0
        )
        # What they created keeps naming them.
        assert session.get(Project, project).created_by_user_uuid == developer.uuid  # type: ignore[union-attr]
        assert (
            session.scalar(select(ServiceAccount).where(ServiceAccount.user_uuid == sa_uuid))
            is not None
        )
    # The service account they created keeps working.
    sa_headers = {"Authorization": f"Bearer {sa_token}"}
    assert client.get("/api/v1/org", headers=sa_headers).status_code == 200
    listed = client.get("/api/v1/org/users", headers=org.people["admin"].headers).json()["results"]
    assert developer.uuid not in {m["userUuid"] for m in listed["data"]}
    [event] = audit_events(runtime, "member.removed")
    assert event.target_uuid == developer.uuid
    assert event.target_label == "Developer Tester"
    assert event.details == {"email": developer.email, "role": "developer"}


def test_remove_errors(client: TestClient, runtime: Runtime) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "editor", "viewer"))
    globex = make_org(runtime, "Globex")
    sa_uuid = add_service_account(runtime, acme).principal_uuid
    admin = acme.people["admin"]

    by_editor = client.delete(
        f"/api/v1/org/user/{acme.people['viewer'].uuid}", headers=acme.people["editor"].headers
    )
    other_org = client.delete(
        f"/api/v1/org/user/{globex.people['admin'].uuid}", headers=admin.headers
    )
    service_account = client.delete(f"/api/v1/org/user/{sa_uuid}", headers=admin.headers)
    unknown = client.delete(f"/api/v1/org/user/{uuid.uuid4()}", headers=admin.headers)
    last_admin = client.delete(f"/api/v1/org/user/{admin.uuid}", headers=admin.headers)

    assert by_editor.status_code == 403
    assert other_org.status_code == 404
    assert service_account.status_code == 404
    assert unknown.status_code == 404
    assert last_admin.status_code == 400
    assert "last admin" in last_admin.json()["error"]["message"]
    assert user_row(runtime, admin.uuid) is not None
    assert user_row(runtime, globex.people["admin"].uuid) is not None
    assert audit_events(runtime, "member.removed") == []


def test_an_admin_can_be_removed_while_another_remains(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    second = add_person(runtime, org, "admin", key="second")

    response = client.delete(f"/api/v1/org/user/{second.uuid}", headers=org.people["admin"].headers)

    assert response.status_code == 200
    assert not user_row(runtime, second.uuid).is_active  # type: ignore[union-attr]
