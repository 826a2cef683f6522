"""The other General Settings pages over HTTP: tokens, users and invites, projects, custom roles,
audit log, password. Each form post goes through the same service as the API."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.db import transaction
from lightkeeper.models import PersonalAccessToken, User
from lightkeeper.runtime import Runtime
from tests.support import PASSWORD, add_membership, make_org, make_project
from tests.web.helpers import csrf_of, login

JSON = {"Accept": "application/json"}


def test_personal_access_tokens_page(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    token = login(client, admin)

    created = client.post(
        "/generalSettings/personalAccessTokens",
        data={"csrf_token": token, "description": "Laptop", "expiration": "30"},
        headers=JSON,
    )

    assert created.status_code == 200
    value = created.json()["token"]
    assert value.startswith("ldpat_")
    page = client.get("/generalSettings/personalAccessTokens").text
    assert "Laptop" in page and value not in page
    for header in ("Description", "Created", "Expires", "Last used"):
        assert f'<th scope="col">{header}</th>' in page
    with transaction(runtime.sessions) as session:
        pat = session.scalars(
            select(PersonalAccessToken).where(PersonalAccessToken.description == "Laptop")
        ).one()
    deleted = client.post(
        f"/generalSettings/personalAccessTokens/{pat.uuid}/delete", data={"csrf_token": token}
    )
    assert "Personal access token deleted" in deleted.text
    assert (
        client.get("/api/v1/user", headers={"Authorization": f"ApiKey {value}"}).status_code == 401
    )


def test_users_page_changes_roles_removes_members_and_invites(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor", "viewer"))
    token = login(client, org.people["admin"])

    page = client.get("/generalSettings/users").text
    for person in org.people.values():
        assert person.email in page
    changed = client.post(
        f"/generalSettings/users/{org.people['viewer'].uuid}/role",
        data={"csrf_token": token, "role": "developer"},
    )
    assert "Role changed." in changed.text
    removed = client.post(
        f"/generalSettings/users/{org.people['editor'].uuid}/remove", data={"csrf_token": token}
    )
    assert "Member removed" in removed.text
    assert org.people["editor"].email not in removed.text
    last_admin = client.post(
        f"/generalSettings/users/{org.people['admin'].uuid}/role",
        data={"csrf_token": token, "role": "viewer"},
    )
    assert last_admin.status_code == 400
    assert "last admin" in last_admin.text

    invited = client.post(
        "/generalSettings/users/invites",
        data={"csrf_token": token, "email": "new@acme.example", "role": "viewer"},
    )
    assert invited.status_code == 200
    match = re.search(r'value="(http://[^"]+/invite/([^"]+))"', invited.text)
    assert match
    code = match.group(2)

    # The invited person registers through /invite/{code} and lands signed in.
    newcomer = TestClient(client.app)
    form = newcomer.get(f"/invite/{code}")
    assert form.status_code == 200 and "new@acme.example" in form.text
    joined = newcomer.post(
        f"/invite/{code}",
        data={"csrf_token": csrf_of(form.text), "firstName": "Nia", "password": "long password 1"},
        follow_redirects=False,
    )
    assert joined.status_code == 303
    assert newcomer.get("/api/v1/user").json()["results"]["role"] == "viewer"
    gone = TestClient(client.app).get(f"/invite/{code}")
    assert gone.status_code == 404 and "ask an administrator" in gone.text


def test_viewer_sees_users_read_only(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    token = login(client, org.people["viewer"])

    page = client.get("/generalSettings/users").text
    refused = client.post(
        f"/generalSettings/users/{org.people['admin'].uuid}/remove", data={"csrf_token": token}
    )

    assert org.people["admin"].email in page
    assert "/remove" not in page and "Invite user" not in page
    assert refused.status_code == 403
    with transaction(runtime.sessions) as session:
        assert session.get(User, org.people["admin"].uuid) is not None


def test_projects_page_lists_members_and_their_roles(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member"))
    jaffle = make_project(runtime, org, "Jaffle")
    add_membership(runtime, jaffle, org.people["member"].uuid, "editor")
    token = login(client, org.people["admin"])

    listing = client.get("/generalSettings/projects").text
    detail = client.get(f"/generalSettings/projects/{jaffle}").text

    assert f'href="/generalSettings/projects/{jaffle}"' in listing and "Jaffle" in listing
    assert org.people["member"].email in detail
    assert '<option value="editor" selected>Editor</option>' in detail
    changed = client.post(
        f"/generalSettings/projects/{jaffle}/members/{org.people['member'].uuid}/role",
        data={"csrf_token": token, "role": "viewer"},
    )
    assert "Project member&#39;s role changed." in changed.text
    assert '<option value="viewer" selected>Viewer</option>' in changed.text

    # A member sees only the projects they belong to; another one is a readable 404 page.
    secret = make_project(runtime, org, "Secret")
    member = TestClient(client.app)
    login(member, org.people["member"])
    listing = member.get("/generalSettings/projects").text
    assert "Jaffle" in listing and "Secret" not in listing
    hidden = member.get(f"/generalSettings/projects/{secret}")
    assert hidden.status_code == 404 and "<h1" in hidden.text
    # A viewer of the project sees its members but no controls.
    assert "/remove" not in member.get(f"/generalSettings/projects/{jaffle}").text


def test_custom_roles_pages(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    token = login(client, org.people["admin"])

    form = client.get("/generalSettings/customRoles/new").text
    assert "<legend>Organization</legend>" in form and "<legend>Charts</legend>" in form
    assert "Create, edit and delete charts in spaces they can edit" in form
    created = client.post(
        "/generalSettings/customRoles/new",
        data={
            "csrf_token": token,
            "name": "Chart editor",
            "scopes": ["view:SavedChart", "manage:SavedChart@space"],
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    role_url = created.headers["location"].split("?")[0]
    role_uuid = role_url.rsplit("/", 1)[1]
    listing = client.get("/generalSettings/customRoles").text
    assert "Chart editor" in listing and "Not assigned" in listing

    unknown = client.post(
        role_url, data={"csrf_token": token, "name": "Chart editor", "scopes": ["fly:Plane"]}
    )
    assert unknown.status_code == 400 and "Unknown scopes: fly:Plane" in unknown.text

    # Assigned roles cannot be deleted: the page says where they are assigned.
    sa = client.post(
        "/api/v1/service-accounts",
        json={"description": "Chart bot", "roleUuid": role_uuid},
    )
    assert sa.status_code == 201, sa.text
    refused = client.post(f"{role_url}/delete", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "Role is assigned to 1 service account" in refused.text
    assert "Chart bot" in client.get(role_url).text
    listing = client.get("/generalSettings/customRoles").text
    assert "1 service account" in listing


def test_custom_roles_disabled_panel(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    client = make_client(CUSTOM_ROLES_ENABLED=False)
    login(client, org.people["admin"])

    page = client.get("/generalSettings/customRoles")

    assert page.status_code == 200
    assert "CUSTOM_ROLES_ENABLED=true" in page.text


def test_audit_log_page_filters_and_links_exports(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    token = login(client, org.people["admin"])
    client.post(
        "/generalSettings/serviceAccounts",
        data={"csrf_token": token, "description": "Audited", "role": "viewer"},
        headers=JSON,
    )

    page = client.get("/generalSettings/auditLog?action=service_account.*").text
    bad = client.get("/generalSettings/auditLog?from=2030-01-02T00:00&to=2030-01-01T00:00")

    events = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]  # the datalist names every action
    assert "service_account.created" in events and "user.logged_in" not in events
    assert 'href="/api/v1/org/audit-log?action=service_account.%2A&amp;format=csv"' in page
    assert "format=jsonl" in page
    assert bad.status_code == 400 and "must be earlier than" in bad.text
    csv = client.get("/api/v1/org/audit-log?action=service_account.%2A&format=csv")
    assert csv.status_code == 200 and "Audited" in csv.text


def test_audit_log_filters_offer_exactly_the_recorded_vocabulary(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    login(client, org.people["admin"])

    page = client.get("/generalSettings/auditLog").text

    def offered(datalist: str) -> list[str]:
        options = page.split(f'<datalist id="{datalist}">', 1)[1].split("</datalist>", 1)[0]
        return re.findall(r'<option value="([^"]*)">', options)

    actions = offered("audit-actions")
    families = {a.partition(".")[0] + ".*" for a in AuditAction}
    assert sorted(a for a in actions if not a.endswith(".*")) == sorted(AuditAction)
    assert {a for a in actions if a.endswith(".*")} == families
    assert "saved_chart.created" in actions and "dashboard_comment.*" in actions
    assert sorted(offered("audit-target-types")) == sorted(TargetType)
    assert "chart" not in offered("audit-target-types")


def test_password_page_changes_the_password(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    token = login(client, admin)

    mismatch = client.post(
        "/generalSettings/password",
        data={
            "csrf_token": token,
            "currentPassword": PASSWORD,
            "newPassword": "new password 1",
            "confirmPassword": "new password 2",
        },
    )
    changed = client.post(
        "/generalSettings/password",
        data={
            "csrf_token": token,
            "currentPassword": PASSWORD,
            "newPassword": "new password 1",
            "confirmPassword": "new password 1",
        },
    )

    assert mismatch.status_code == 400 and "do not match" in mismatch.text
    assert changed.status_code == 200 and "Your password has been changed" in changed.text
    fresh = TestClient(client.app)
    login(fresh, admin, "new password 1")


def test_personal_tokens_disabled_say_so(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    client = make_client(PAT_ENABLED=False)
    login(client, org.people["admin"])

    page = client.get("/generalSettings/personalAccessTokens")

    assert page.status_code == 200
    assert "PAT_ENABLED=false" in page.text
    assert "Generate new token" not in page.text
