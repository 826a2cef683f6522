"""What a group is given adds to what each member holds, from their next request on."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from lightkeeper.app import create_app
from lightkeeper.auth.roles import PROJECT_ROLE_SCOPES
from lightkeeper.models import GroupMembership, ProjectGroupAccess, SpaceGroupShare
from lightkeeper.runtime import Runtime
from tests.support import (
    add_custom_role,
    add_group,
    add_space,
    audit_events,
    bind_project_role,
    count_rows,
    custom_role_holder,
    make_org,
    make_project,
)


def _sees_project(client: TestClient, project: str, headers: dict[str, str]) -> bool:
    status = client.get(f"/api/v1/projects/{project}", headers=headers).status_code
    assert status in (200, 404)
    return status == 200


def test_a_member_holds_the_groups_project_role_until_removed(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member"))
    member, admin = org.people["member"], org.people["admin"]
    project = make_project(runtime, org, "Analytics")
    group = add_group(runtime, org, "Analysts", project_roles={project: "viewer"})
    assert not _sees_project(client, project, member.headers)  # cached: not a member yet

    joined = client.put(f"/api/v1/groups/{group}/members/{member.uuid}", headers=admin.headers)
    assert joined.status_code == 200
    assert _sees_project(client, project, member.headers)
    listed = client.get("/api/v1/org/projects", headers=member.headers).json()["results"]
    assert [p["projectUuid"] for p in listed] == [project]

    left = client.delete(f"/api/v1/groups/{group}/members/{member.uuid}", headers=admin.headers)
    assert left.status_code == 200
    assert not _sees_project(client, project, member.headers)


def test_the_groups_role_adds_to_the_members_own(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    viewer = org.people["viewer"]
    analytics = make_project(runtime, org, "Analytics")
    sales = make_project(runtime, org, "Sales")
    add_group(runtime, org, "Editors", members=(viewer.uuid,), project_roles={analytics: "editor"})

    created = client.post(
        f"/api/v1/projects/{analytics}/spaces", json={"name": "Ours"}, headers=viewer.headers
    )
    assert created.status_code == 200
    # Elsewhere the person's own viewer role is all they hold.
    refused = client.post(
        f"/api/v1/projects/{sales}/spaces", json={"name": "Ours"}, headers=viewer.headers
    )
    assert refused.status_code == 403
    rules = client.get("/api/v1/user", headers=viewer.headers).json()["results"]["abilityRules"]
    assert {
        "action": "create",
        "subject": "Space",
        "conditions": {"projectUuid": analytics},
    } in rules


def test_deleting_the_group_takes_its_access_away(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member"))
    member = org.people["member"]
    project = make_project(runtime, org, "Analytics")
    group = add_group(
        runtime, org, "Analysts", members=(member.uuid,), project_roles={project: "viewer"}
    )
    assert _sees_project(client, project, member.headers)

    deleted = client.delete(f"/api/v1/groups/{group}", headers=org.people["admin"].headers)

    assert deleted.status_code == 200
    assert not _sees_project(client, project, member.headers)
    assert count_rows(runtime, ProjectGroupAccess) == 0
    (event,) = audit_events(runtime, "group.deleted")
    assert event.details["projectAccess"] == [
        {"projectUuid": project, "role": "viewer", "roleUuid": None}
    ]


def test_project_access_of_a_group_through_the_api(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member"))
    member, admin = org.people["member"], org.people["admin"]
    project = make_project(runtime, org, "Analytics")
    group = add_group(runtime, org, "Analysts", members=(member.uuid,))
    url = f"/api/v1/groups/{group}/projects/{project}"

    added = client.post(url, json={"role": "editor"}, headers=admin.headers)
    assert added.status_code == 200
    assert added.json()["results"] == {"projectUuid": project, "groupUuid": group, "role": "editor"}
    assert _sees_project(client, project, member.headers)
    assert client.post(url, json={"role": "viewer"}, headers=admin.headers).status_code == 409

    changed = client.patch(url, json={"role": "viewer"}, headers=admin.headers)
    assert changed.status_code == 200
    assert changed.json()["results"]["role"] == "viewer"
    listed = client.get(f"/api/v1/projects/{project}/groupAccesses", headers=member.headers)
    assert listed.status_code == 200
    assert listed.json()["results"] == [
        {"projectUuid": project, "groupUuid": group, "role": "viewer"}
    ]

    bad = client.patch(url, json={"role": "owner"}, headers=admin.headers)
    assert bad.status_code == 400
    assert "viewer" in bad.json()["error"]["message"]

    assert client.delete(url, headers=admin.headers).status_code == 200
    assert not _sees_project(client, project, member.headers)
    assert client.delete(url, headers=admin.headers).status_code == 404
    assert client.patch(url, json={"role": "viewer"}, headers=admin.headers).status_code == 404

    events = audit_events(runtime, prefix="project.group_access")
    assert [(e.action, e.details["before"], e.details["after"]) for e in events] == [
        ("project.group_access_changed", {"role": None}, {"role": "editor"}),
        ("project.group_access_changed", {"role": "editor"}, {"role": "viewer"}),
        ("project.group_access_removed", {"role": "viewer"}, {"role": None}),
    ]
    assert {e.target_uuid for e in events} == {group}
    assert {e.details["projectUuid"] for e in events} == {project}


def test_another_organizations_project_or_group_is_not_found(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    other = make_org(runtime, "Globex")
    ours = add_group(runtime, org, "Analysts")
    theirs = add_group(runtime, other, "Finance")
    our_project = make_project(runtime, org, "Analytics")
    their_project = make_project(runtime, other, "Ledger")
    headers = org.people["admin"].headers

    for url in (
        f"/api/v1/groups/{ours}/projects/{their_project}",
        f"/api/v1/groups/{theirs}/projects/{our_project}",
    ):
        response = client.post(url, json={"role": "viewer"}, headers=headers)
        assert response.status_code == 404, url
    assert (
        client.get(f"/api/v1/projects/{their_project}/groupAccesses", headers=headers).status_code
        == 404
    )
    space = add_space(runtime, our_project, "Shared")
    shared = client.post(
        f"/api/v1/projects/{our_project}/spaces/{space}/group/share",
        json={"groupUuid": theirs, "spaceRole": "viewer"},
        headers=headers,
    )
    assert shared.status_code == 404
    assert count_rows(runtime, ProjectGroupAccess) == 0
    assert count_rows(runtime, SpaceGroupShare) == 0


def test_a_space_shared_with_a_group_is_shared_with_each_member(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    admin, viewer = org.people["admin"], org.people["viewer"]
    project = make_project(runtime, org, "Analytics")
    space = add_space(runtime, project, "Board", private=True, created_by=admin.uuid)
    group = add_group(runtime, org, "Board members", members=(viewer.uuid,))
    space_url = f"/api/v1/projects/{project}/spaces/{space}"
    assert client.get(space_url, headers=viewer.headers).status_code == 404

    shared = client.post(
        space_url + "/group/share",
        json={"groupUuid": group, "spaceRole": "viewer"},
        headers=admin.headers,
    )

    assert shared.status_code == 200
    seen = client.get(space_url, headers=viewer.headers)
    assert seen.status_code == 200
    assert seen.json()["results"]["groupsAccess"] == [
        {"groupUuid": group, "groupName": "Board members", "spaceRole": "viewer"}
    ]
    listed = client.get(f"/api/v1/projects/{project}/spaces", headers=viewer.headers).json()
    assert [s["uuid"] for s in listed["results"]] == [space]
    (event,) = audit_events(runtime, "space.group_shared")
    assert event.target_uuid == space
    assert event.details["groupUuid"] == group

    # Leaving the group closes the space again.
    client.delete(f"/api/v1/groups/{group}/members/{viewer.uuid}", headers=admin.headers)
    assert client.get(space_url, headers=viewer.headers).status_code == 404
    client.put(f"/api/v1/groups/{group}/members/{viewer.uuid}", headers=admin.headers)
    assert client.get(space_url, headers=viewer.headers).status_code == 200

    unshared = client.delete(space_url + f"/group/share/{group}", headers=admin.headers)
    assert unshared.status_code == 200
    assert client.get(space_url, headers=viewer.headers).status_code == 404
    assert (
        client.delete(space_url + f"/group/share/{group}", headers=admin.headers).status_code == 404
    )
    assert len(audit_events(runtime, "space.group_unshared")) == 1


def test_a_nested_space_takes_its_roots_group_shares(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    admin, viewer = org.people["admin"], org.people["viewer"]
    project = make_project(runtime, org, "Analytics")
    root = add_space(runtime, project, "Board", private=True, created_by=admin.uuid)
    nested = add_space(
        runtime, project, "Minutes", private=True, created_by=admin.uuid, parent=root
    )
    group = add_group(
        runtime, org, "Board members", members=(viewer.uuid,), space_roles={root: "viewer"}
    )

    assert (
        client.get(
            f"/api/v1/projects/{project}/spaces/{nested}", headers=viewer.headers
        ).status_code
        == 200
    )
    refused = client.post(
        f"/api/v1/projects/{project}/spaces/{nested}/group/share",
        json={"groupUuid": group, "spaceRole": "admin"},
        headers=admin.headers,
    )
    assert refused.status_code == 400
    assert count_rows(runtime, SpaceGroupShare) == 1


def test_nobody_gives_a_group_a_role_beyond_their_own(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    # A project manager who holds editor's scopes there, and may see groups.
    manager, _role = custom_role_holder(runtime, org, "manager", ["view:Group"])
    scopes = [*sorted(str(s) for s in PROJECT_ROLE_SCOPES["editor"]), "manage:Project"]
    bind_project_role(runtime, project, manager.uuid, add_custom_role(runtime, org, "PM", scopes))
    group = add_group(runtime, org, "Analysts")
    url = f"/api/v1/groups/{group}/projects/{project}"

    refused = client.post(url, json={"role": "admin"}, headers=manager.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "Cannot grant permissions exceeding your own"
    assert count_rows(runtime, ProjectGroupAccess) == 0

    assert client.post(url, json={"role": "editor"}, headers=manager.headers).status_code == 200
    assert client.patch(url, json={"role": "developer"}, headers=manager.headers).status_code == 403


def test_nobody_passes_on_what_a_group_grants_beyond_their_own(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    project = make_project(runtime, org, "Analytics")
    # May manage groups, but holds nothing on the project.
    keeper, _role = custom_role_holder(runtime, org, "keeper", ["manage:Group"])
    viewer = org.people["viewer"]
    admins = add_group(
        runtime, org, "Project admins", members=(viewer.uuid,), project_roles={project: "admin"}
    )
    plain = add_group(runtime, org, "Book club")
    ceiling = "Cannot grant permissions exceeding your own"

    joined = client.put(f"/api/v1/groups/{admins}/members/{keeper.uuid}", headers=keeper.headers)
    assert joined.status_code == 403
    assert joined.json()["error"]["message"] == ceiling
    replaced = client.patch(
        f"/api/v1/groups/{admins}",
        json={"members": [{"userUuid": keeper.uuid}]},
        headers=keeper.headers,
    )
    assert replaced.status_code == 403
    assert (
        client.delete(
            f"/api/v1/groups/{admins}/members/{viewer.uuid}", headers=keeper.headers
        ).status_code
        == 403
    )
    assert client.delete(f"/api/v1/groups/{admins}", headers=keeper.headers).status_code == 403
    assert count_rows(runtime, GroupMembership, group_uuid=admins) == 1
    assert not _sees_project(client, project, keeper.headers)

    # A group that grants nothing is theirs to run.
    assert (
        client.put(
            f"/api/v1/groups/{plain}/members/{keeper.uuid}", headers=keeper.headers
        ).status_code
        == 200
    )
    assert (
        client.patch(
            f"/api/v1/groups/{plain}", json={"name": "Readers"}, headers=keeper.headers
        ).status_code
        == 200
    )


def test_a_membership_change_reaches_another_process(make_runtime) -> None:  # type: ignore[no-untyped-def]
    here, there = make_runtime(), make_runtime()
    org = make_org(here, "Acme", roles=("admin", "member"))
    member = org.people["member"]
    project = make_project(here, org, "Analytics")
    group = add_group(here, org, "Analysts", project_roles={project: "viewer"})
    client_here = TestClient(create_app(runtime=here))
    client_there = TestClient(create_app(runtime=there))
    assert not _sees_project(client_there, project, member.headers)

    client_here.put(
        f"/api/v1/groups/{group}/members/{member.uuid}", headers=org.people["admin"].headers
    )

    deadline = time.monotonic() + 5
    while not _sees_project(client_there, project, member.headers):
        assert time.monotonic() < deadline, "the other process never heard of the change"
        time.sleep(0.05)


def test_v2_role_assignments_of_a_group(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member"))
    member, admin = org.people["member"], org.people["admin"]
    project = make_project(runtime, org, "Analytics")
    group = add_group(runtime, org, "Analysts", members=(member.uuid,))
    url = f"/api/v2/projects/{project}/roles/assignments/group/{group}"

    assigned = client.post(url, json={"roleId": "developer"}, headers=admin.headers)
    assert assigned.status_code == 200
    body = assigned.json()["results"]
    assert body["assigneeType"] == "group"
    assert (body["assigneeId"], body["assigneeName"]) == (group, "Analysts")
    assert (body["roleId"], body["projectId"], body["ownerType"]) == (
        "developer",
        project,
        "system",
    )
    assert _sees_project(client, project, member.headers)
    # Assigning again replaces the role; PATCH changes it.
    replaced = client.post(url, json={"roleId": "editor"}, headers=admin.headers)
    assert replaced.json()["results"]["roleId"] == "editor"
    changed = client.patch(url, json={"roleId": "viewer"}, headers=admin.headers)
    assert changed.status_code == 200
    assert changed.json()["results"]["roleId"] == "viewer"
    unknown = client.post(url, json={"roleId": "owner"}, headers=admin.headers)
    assert unknown.status_code == 400
    assert "roleId" in unknown.json()["error"]["data"]["fields"]
    # A uuid that names no custom role of the organization (tests/groups/test_group_custom_roles.py
    # gives a group a real one).
    assert client.post(url, json={"roleId": str(group)}, headers=admin.headers).status_code == 404

    assert client.delete(url, headers=admin.headers).status_code == 200
    assert not _sees_project(client, project, member.headers)
    assert client.delete(url, headers=admin.headers).status_code == 404
    assert client.patch(url, json={"roleId": "viewer"}, headers=admin.headers).status_code == 404
    assert [e.action for e in audit_events(runtime, prefix="project.group_access")] == [
        "project.group_access_changed",
        "project.group_access_changed",
        "project.group_access_changed",
        "project.group_access_removed",
    ]


def test_put_gives_or_replaces_a_groups_project_role(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "member"))
    member, admin = org.people["member"], org.people["admin"]
    project = make_project(runtime, org, "Analytics")
    group = add_group(runtime, org, "Analysts", members=(member.uuid,))
    url = f"/api/v1/groups/{group}/projects/{project}"

    first = client.put(url, json={"role": "viewer"}, headers=admin.headers)
    again = client.put(url, json={"role": "developer"}, headers=admin.headers)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["results"] == {
        "projectUuid": project,
        "groupUuid": group,
        "role": "developer",
    }
    assert count_rows(runtime, ProjectGroupAccess) == 1
    rules = client.get("/api/v1/user", headers=member.headers).json()["results"]["abilityRules"]
    assert {
        "action": "manage",
        "subject": "DeployProject",
        "conditions": {"projectUuid": project},
    } in rules
