"""A group holds a project custom role (Lightdash's v2 group assignment), under the rules of every
project assignment; the v2 list of a project's assignments shows people and groups alike."""

from __future__ import annotations

import html
from typing import Any

from fastapi.testclient import TestClient
from lightdash_client import AuthenticatedClient
from lightdash_client.api.projects import get_project_group_accesses

from lightkeeper.auth.roles import PROJECT_ROLE_SCOPES
from lightkeeper.models import ProjectGroupAccess
from lightkeeper.runtime import Runtime
from tests.support import (
    Org,
    Person,
    add_custom_role,
    add_group,
    add_membership,
    add_service_account,
    audit_events,
    bind_project_role,
    count_rows,
    custom_role_holder,
    make_org,
    make_project,
)
from tests.web.helpers import login

CEILING = "Cannot grant permissions exceeding your own"
ACTING_ON = "Cannot act on a principal with more permissions than your own"


def _scopes(role: str, *extra: str) -> list[str]:
    return [*sorted(str(s) for s in PROJECT_ROLE_SCOPES[role]), *extra]


def _assignment_url(project: str, group: str) -> str:
    return f"/api/v2/projects/{project}/roles/assignments/group/{group}"


def _creates_a_space(client: TestClient, project: str, person: Person) -> int:
    return client.post(
        f"/api/v1/projects/{project}/spaces", json={"name": "Ours"}, headers=person.headers
    ).status_code


def _project_manager(runtime: Runtime, org: Org, project: str) -> Person:
    """Holds editor's scopes and manage:Project on `project` (a custom project role), and sees
    groups: may give roles there up to editor's."""
    manager, _role = custom_role_holder(runtime, org, "manager", ["view:Group"])
    pm = add_custom_role(runtime, org, "PM", _scopes("editor", "manage:Project"))
    bind_project_role(runtime, project, manager.uuid, pm)
    return manager


def test_a_groups_custom_role_adds_its_project_scopes_to_each_member(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member"))
    member, admin = org.people["member"], org.people["admin"]
    analytics = make_project(runtime, org, "Analytics")
    sales = make_project(runtime, org, "Sales")
    # An org-level scope in the role counts for nothing on a project.
    writer = add_custom_role(runtime, org, "Writer", _scopes("editor", "manage:Organization"))
    group = add_group(runtime, org, "Analysts", members=(member.uuid,))
    assert _creates_a_space(client, analytics, member) == 404

    assigned = client.post(
        _assignment_url(analytics, group), json={"roleId": writer}, headers=admin.headers
    )

    assert assigned.status_code == 200, assigned.text
    body = assigned.json()["results"]
    assert (body["roleId"], body["roleName"], body["ownerType"]) == (writer, "Writer", "user")
    assert (body["assigneeType"], body["assigneeId"], body["assigneeName"]) == (
        "group",
        group,
        "Analysts",
    )
    assert body["projectId"] == analytics
    assert _creates_a_space(client, analytics, member) == 200
    assert _creates_a_space(client, sales, member) == 404
    assert (
        client.patch("/api/v1/org", json={"name": "Mine"}, headers=member.headers).status_code
        == 403
    )
    (event,) = audit_events(runtime, "project.group_access_changed")
    assert event.target_uuid == group
    assert (event.details["before"], event.details["after"]) == (
        {"roleUuid": None},
        {"roleUuid": writer},
    )

    # PATCH back to a system role; then the v2 DELETE takes it away.
    changed = client.patch(
        _assignment_url(analytics, group), json={"roleId": "viewer"}, headers=admin.headers
    )
    assert changed.json()["results"]["roleId"] == "viewer"
    assert _creates_a_space(client, analytics, member) == 403
    assert (
        client.delete(_assignment_url(analytics, group), headers=admin.headers).status_code == 200
    )
    assert _creates_a_space(client, analytics, member) == 404


def test_a_groups_custom_role_is_under_the_grant_ceiling(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    manager = _project_manager(runtime, org, project)
    too_much = add_custom_role(runtime, org, "Owner-ish", _scopes("admin"))
    enough = add_custom_role(runtime, org, "Reader", _scopes("viewer"))
    group = add_group(runtime, org, "Analysts")
    url = _assignment_url(project, group)

    refused = client.post(url, json={"roleId": too_much}, headers=manager.headers)

    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == CEILING
    assert count_rows(runtime, ProjectGroupAccess) == 0
    assert audit_events(runtime, "project.group_access_changed") == []
    assert client.post(url, json={"roleId": enough}, headers=manager.headers).status_code == 200
    # Another organization's role, or no role at all, is not found.
    other = make_org(runtime, "Globex")
    foreign = add_custom_role(runtime, other, "Reader", _scopes("viewer"))
    assert client.post(url, json={"roleId": foreign}, headers=manager.headers).status_code == 404
    assert count_rows(runtime, ProjectGroupAccess, role_uuid=enough) == 1


def test_nobody_changes_a_groups_role_that_exceeds_their_own(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    manager = _project_manager(runtime, org, project)
    admins = add_custom_role(runtime, org, "Project admins", _scopes("admin"))
    group = add_group(runtime, org, "Admins", project_roles={project: admins})
    reader = add_custom_role(runtime, org, "Reader", _scopes("viewer"))
    url = _assignment_url(project, group)

    lowered = client.post(url, json={"roleId": reader}, headers=manager.headers)
    removed = client.delete(url, headers=manager.headers)
    v1_removed = client.delete(
        f"/api/v1/groups/{group}/projects/{project}", headers=manager.headers
    )

    assert (lowered.status_code, removed.status_code, v1_removed.status_code) == (403, 403, 403)
    assert {r.json()["error"]["message"] for r in (lowered, removed, v1_removed)} == {ACTING_ON}
    assert count_rows(runtime, ProjectGroupAccess, role_uuid=admins) == 1
    assert audit_events(runtime, prefix="project.group_access") == []


def test_a_role_a_group_holds_cannot_be_deleted(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    project = make_project(runtime, org, "Analytics")
    reader = add_custom_role(runtime, org, "Reader", _scopes("viewer"))
    group = add_group(runtime, org, "Analysts", project_roles={project: reader})
    role_url = f"/api/v2/orgs/{org.uuid}/roles/{reader}"

    assignees = client.get(role_url + "/assignees", headers=admin.headers).json()["results"]
    refused = client.delete(role_url, headers=admin.headers)

    assert [(a["type"], a["assigneeId"], a["projectName"]) for a in assignees] == [
        ("project_group", group, "Analytics")
    ]
    assert refused.status_code == 409
    assert "1 group's project role (Analytics)" in refused.json()["error"]["message"]
    client.delete(_assignment_url(project, group), headers=admin.headers)
    assert client.delete(role_url, headers=admin.headers).status_code == 200


def test_v1_routes_show_system_roles_and_replace_a_custom_one(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    project = make_project(runtime, org, "Analytics")
    reader = add_custom_role(runtime, org, "Reader", _scopes("viewer"))
    custom = add_group(runtime, org, "Custom", project_roles={project: reader})
    system = add_group(runtime, org, "System", project_roles={project: "editor"})

    listed = client.get(f"/api/v1/projects/{project}/groupAccesses", headers=admin.headers)
    api = AuthenticatedClient(base_url=str(client.base_url), token=admin.token, prefix="ApiKey")
    api.set_httpx_client(client)
    client.headers["Authorization"] = f"ApiKey {admin.token}"  # what the generated client sends
    parsed = get_project_group_accesses.sync_detailed(project, client=api)

    # Lightdash's v1 shape holds a system role only (the generated client parses nothing else):
    # the custom one is in the v2 list.
    assert parsed.status_code == 200 and parsed.parsed is not None
    assert [(a.group_uuid, a.role.value) for a in parsed.parsed.results] == [(system, "editor")]
    assert listed.json()["results"] == [
        {"projectUuid": project, "groupUuid": system, "role": "editor"}
    ]
    replaced = client.patch(
        f"/api/v1/groups/{custom}/projects/{project}",
        json={"role": "viewer"},
        headers=admin.headers,
    )
    assert replaced.json()["results"] == {
        "projectUuid": project,
        "groupUuid": custom,
        "role": "viewer",
    }
    assert count_rows(runtime, ProjectGroupAccess, role_uuid=reader) == 0


def _by_assignee(assignments: list[dict[str, Any]]) -> dict[str, tuple[str, str, str, str]]:
    return {
        a["assigneeId"]: (a["assigneeType"], a["roleId"], a["roleName"], a["ownerType"])
        for a in assignments
    }


def test_the_v2_list_of_a_projects_assignments(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member", "viewer"))
    admin, member, viewer = org.people["admin"], org.people["member"], org.people["viewer"]
    project = make_project(runtime, org, "Analytics")
    other = make_project(runtime, org, "Sales")
    reader = add_custom_role(runtime, org, "Reader", _scopes("viewer"))
    add_membership(runtime, project, member.uuid, "developer")
    bind_project_role(runtime, project, viewer.uuid, reader)
    analysts = add_group(runtime, org, "Analysts", project_roles={project: "editor"})
    readers = add_group(runtime, org, "Readers", project_roles={project: reader, other: "viewer"})
    bot = add_service_account(runtime, org, "CI", role="member")
    add_membership(runtime, project, bot.principal_uuid, "viewer")
    url = f"/api/v2/projects/{project}/roles/assignments"

    listed = client.get(url, headers=admin.headers)

    assert listed.status_code == 200
    assignments = listed.json()["results"]
    assert _by_assignee(assignments) == {
        member.uuid: ("user", "developer", "Developer", "system"),
        viewer.uuid: ("user", reader, "Reader", "user"),
        bot.principal_uuid: ("user", "viewer", "Viewer", "system"),
        analysts: ("group", "editor", "Editor", "system"),
        readers: ("group", reader, "Reader", "user"),
    }
    assert [a["assigneeType"] for a in assignments] == ["user"] * 3 + ["group"] * 2
    assert {a["projectId"] for a in assignments} == {project}
    assert {a["assigneeName"] for a in assignments if a["assigneeType"] == "group"} == {
        "Analysts",
        "Readers",
    }
    assert all(a["createdAt"].endswith("Z") and a["updatedAt"].endswith("Z") for a in assignments)
    # Who may change the assignments may list them; a project one may not see is not found.
    assert client.get(url, headers=member.headers).status_code == 403
    outsider = make_org(runtime, "Globex").people["admin"]
    assert client.get(url, headers=outsider.headers).status_code == 404


def test_a_service_account_never_holds_a_groups_role(client: TestClient, runtime: Runtime) -> None:
    """Even a membership row written behind the API's back gives a service account nothing."""
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    writer = add_custom_role(runtime, org, "Writer", _scopes("editor"))
    bot = add_service_account(runtime, org, "CI", role="member")
    add_group(runtime, org, "Bots", members=(bot.principal_uuid,), project_roles={project: writer})

    seen = client.get(f"/api/v1/projects/{project}", headers=bot.headers)

    assert seen.status_code == 404


def test_the_custom_roles_page_shows_a_groups_hold(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    reader = add_custom_role(runtime, org, "Reader", _scopes("viewer"))
    add_group(runtime, org, "Analysts", project_roles={project: reader})
    login(client, org.people["admin"])

    page = client.get(f"/generalSettings/customRoles/{reader}").text
    listing = client.get("/generalSettings/customRoles").text

    assert "Group</span> Analysts — project Analytics" in page
    assert "1 group's project role (Analytics)" in html.unescape(listing)
