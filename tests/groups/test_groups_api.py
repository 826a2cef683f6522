"""Groups through Lightdash's routes: create, list (paged), read, rename, members, delete."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from lightkeeper.models import Group, GroupMembership
from lightkeeper.runtime import Runtime
from tests.support import (
    add_group,
    add_person,
    add_service_account,
    audit_events,
    count_rows,
    custom_role_holder,
    make_org,
)

GROUP_KEYS = {
    "uuid",
    "name",
    "organizationUuid",
    "createdAt",
    "createdByUserUuid",
    "updatedAt",
    "updatedByUserUuid",
}


def test_create_answers_the_group_with_its_members(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor", "viewer"))
    admin, editor, viewer = (org.people[r] for r in ("admin", "editor", "viewer"))

    response = client.post(
        "/api/v1/org/groups",
        json={
            "name": "Analysts",
            "members": [{"userUuid": viewer.uuid}, {"userUuid": editor.uuid}],
        },
        headers=admin.headers,
    )

    assert response.status_code == 200
    group = response.json()["results"]
    assert set(group) == GROUP_KEYS | {"members", "memberUuids"}
    assert group["name"] == "Analysts"
    assert group["organizationUuid"] == org.uuid
    assert group["createdByUserUuid"] == admin.uuid
    assert group["createdAt"].endswith("Z")
    # Members by name: Editor before Viewer.
    assert group["memberUuids"] == [editor.uuid, viewer.uuid]
    assert group["members"][0] == {
        "userUuid": editor.uuid,
        "email": editor.email,
        "firstName": "Editor",
        "lastName": "Tester",
    }
    assert count_rows(runtime, GroupMembership, group_uuid=group["uuid"]) == 2
    (event,) = audit_events(runtime, "group.created")
    assert event.target_uuid == group["uuid"]
    assert event.target_type == "group"
    assert event.details == {"name": "Analysts", "memberUuids": [viewer.uuid, editor.uuid]}


def test_names_are_unique_in_the_organization_whatever_their_case(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    other = make_org(runtime, "Globex")
    add_group(runtime, org, "Analysts")
    add_group(runtime, other, "Finance")
    headers = org.people["admin"].headers

    clash = client.post("/api/v1/org/groups", json={"name": "analysts"}, headers=headers)
    assert clash.status_code == 409
    assert clash.json()["error"]["name"] == "AlreadyExistsError"
    assert "analysts" in clash.json()["error"]["message"]
    # Another organization's names are free.
    assert (
        client.post("/api/v1/org/groups", json={"name": "Finance"}, headers=headers).status_code
        == 200
    )
    blank = client.post("/api/v1/org/groups", json={"name": "  "}, headers=headers)
    assert blank.status_code == 400
    assert "name" in blank.json()["error"]["data"]["fields"]
    assert count_rows(runtime, Group, organization_uuid=org.uuid) == 2


def test_members_are_people_of_the_organization_never_service_accounts(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    stranger = make_org(runtime, "Globex").people["admin"]
    bot = add_service_account(runtime, org, "CI deploys", role="viewer")
    headers = org.people["admin"].headers

    refused = client.post(
        "/api/v1/org/groups",
        json={"name": "Bots", "members": [{"userUuid": bot.principal_uuid}]},
        headers=headers,
    )
    assert refused.status_code == 400
    assert "/api/v1/service-accounts" in refused.json()["error"]["message"]
    foreign = client.post(
        "/api/v1/org/groups",
        json={"name": "Strangers", "members": [{"userUuid": stranger.uuid}]},
        headers=headers,
    )
    assert foreign.status_code == 404
    assert count_rows(runtime, Group) == 0

    group = add_group(runtime, org, "Analysts")
    put = client.put(f"/api/v1/groups/{group}/members/{bot.principal_uuid}", headers=headers)
    assert put.status_code == 400
    assert put.json()["error"]["name"] == "ParameterError"
    assert count_rows(runtime, GroupMembership) == 0
    assert audit_events(runtime, prefix="group.") == []


def test_the_list_is_paged_like_lightdash(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    viewer = org.people["viewer"]
    for name in ("Delta", "alpha", "Charlie", "Bravo"):
        add_group(runtime, org, name, members=(viewer.uuid,) if name == "alpha" else ())
    add_group(runtime, make_org(runtime, "Globex"), "Elsewhere")
    headers = org.people["admin"].headers

    everything = client.get("/api/v1/org/groups", headers=headers).json()["results"]
    assert [g["name"] for g in everything["data"]] == ["alpha", "Bravo", "Charlie", "Delta"]
    assert set(everything["data"][0]) == GROUP_KEYS
    assert everything["pagination"] == {
        "page": 1,
        "pageSize": 4,
        "totalPageCount": 1,
        "totalResults": 4,
    }

    second = client.get(
        "/api/v1/org/groups", params={"page": "2", "pageSize": "3.0"}, headers=headers
    ).json()["results"]
    assert [g["name"] for g in second["data"]] == ["Delta"]
    assert second["pagination"] == {
        "page": 2,
        "pageSize": 3,
        "totalPageCount": 2,
        "totalResults": 4,
    }

    found = client.get(
        "/api/v1/org/groups",
        params={"searchQuery": "ALP", "includeMembers": "10"},
        headers=headers,
    ).json()["results"]["data"]
    assert [(g["name"], g["memberUuids"]) for g in found] == [("alpha", [viewer.uuid])]
    assert found[0]["members"][0]["email"] == viewer.email

    bad = client.get("/api/v1/org/groups", params={"page": "0"}, headers=headers)
    assert bad.status_code == 400
    assert "page" in bad.json()["error"]["data"]["fields"]


def test_read_with_and_without_members(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor", "viewer"))
    editor, viewer = org.people["editor"], org.people["viewer"]
    group = add_group(runtime, org, "Analysts", members=(editor.uuid, viewer.uuid))
    headers = org.people["admin"].headers

    plain = client.get(f"/api/v1/groups/{group}", headers=headers)
    assert plain.status_code == 200
    assert set(plain.json()["results"]) == GROUP_KEYS

    one = client.get(
        f"/api/v1/groups/{group}", params={"includeMembers": 1, "offset": 1}, headers=headers
    ).json()["results"]
    assert one["memberUuids"] == [viewer.uuid]

    members = client.get(f"/api/v1/groups/{group}/members", headers=headers)
    assert members.status_code == 200
    assert [m["userUuid"] for m in members.json()["results"]] == [editor.uuid, viewer.uuid]
    assert set(members.json()["results"][0]) == {"userUuid", "email", "firstName", "lastName"}

    assert client.get("/api/v1/groups/not-a-uuid", headers=headers).status_code == 400


def test_rename_and_replace_members(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor", "viewer"))
    admin, editor, viewer = (org.people[r] for r in ("admin", "editor", "viewer"))
    group = add_group(runtime, org, "Analysts", members=(editor.uuid,))
    add_group(runtime, org, "Finance")

    response = client.patch(
        f"/api/v1/groups/{group}",
        json={"name": "Data team", "members": [{"userUuid": viewer.uuid}]},
        headers=admin.headers,
    )

    assert response.status_code == 200
    body = response.json()["results"]
    assert body["name"] == "Data team"
    assert body["memberUuids"] == [viewer.uuid]
    assert body["updatedByUserUuid"] == admin.uuid
    (renamed,) = audit_events(runtime, "group.updated")
    assert renamed.details == {"before": {"name": "Analysts"}, "after": {"name": "Data team"}}
    assert [e.details["userUuid"] for e in audit_events(runtime, "group.member_added")] == [
        viewer.uuid
    ]
    assert [e.details["userUuid"] for e in audit_events(runtime, "group.member_removed")] == [
        editor.uuid
    ]

    clash = client.patch(f"/api/v1/groups/{group}", json={"name": "FINANCE"}, headers=admin.headers)
    assert clash.status_code == 409
    # The same body again changes nothing and writes no event.
    again = client.patch(
        f"/api/v1/groups/{group}",
        json={"name": "Data team", "members": [{"userUuid": viewer.uuid}]},
        headers=admin.headers,
    )
    assert again.status_code == 200
    assert len(audit_events(runtime, prefix="group.")) == 3


def test_add_and_remove_one_member(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    viewer = org.people["viewer"]
    group = add_group(runtime, org, "Analysts")
    headers = org.people["admin"].headers
    url = f"/api/v1/groups/{group}/members/{viewer.uuid}"

    assert client.put(url, headers=headers).status_code == 200
    assert client.put(url, headers=headers).status_code == 200  # already a member: no change
    assert count_rows(runtime, GroupMembership, group_uuid=group) == 1
    assert len(audit_events(runtime, "group.member_added")) == 1

    removed = client.delete(url, headers=headers)
    assert removed.status_code == 200
    assert removed.json() == {"status": "ok", "results": None}
    assert client.delete(url, headers=headers).status_code == 404
    assert count_rows(runtime, GroupMembership) == 0
    (event,) = audit_events(runtime, "group.member_removed")
    assert event.details["userUuid"] == viewer.uuid
    unknown = client.put(f"/api/v1/groups/{group}/members/{uuid.uuid4()}", headers=headers)
    assert unknown.status_code == 404


def test_delete_removes_the_group_and_its_memberships(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    group = add_group(runtime, org, "Analysts", members=(org.people["viewer"].uuid,))
    headers = org.people["admin"].headers

    response = client.delete(f"/api/v1/groups/{group}", headers=headers)

    assert response.status_code == 200
    assert count_rows(runtime, Group) == 0
    assert count_rows(runtime, GroupMembership) == 0
    assert client.get(f"/api/v1/groups/{group}", headers=headers).status_code == 404
    (event,) = audit_events(runtime, "group.deleted")
    assert event.target_label == "Analysts"
    assert event.details["memberUuids"] == [org.people["viewer"].uuid]


def test_another_organizations_group_is_not_found(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    theirs = add_group(runtime, make_org(runtime, "Globex"), "Finance")
    headers = org.people["admin"].headers

    for method, path in [
        ("GET", f"/api/v1/groups/{theirs}"),
        ("PATCH", f"/api/v1/groups/{theirs}"),
        ("DELETE", f"/api/v1/groups/{theirs}"),
        ("GET", f"/api/v1/groups/{theirs}/members"),
        ("PUT", f"/api/v1/groups/{theirs}/members/{org.people['admin'].uuid}"),
    ]:
        response = client.request(method, path, json={"name": "Mine"}, headers=headers)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["name"] == "NotFoundError"
    assert client.get("/api/v1/org/groups", headers=headers).json()["results"]["data"] == []
    assert audit_events(runtime, prefix="group.") == []


def test_only_holders_of_manage_group_change_groups(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    editor = org.people["editor"]
    group = add_group(runtime, org, "Analysts")

    # Without view:Group the groups are invisible: an empty list, 404 for one.
    listed = client.get("/api/v1/org/groups", headers=editor.headers).json()["results"]
    assert listed["data"] == []
    assert listed["pagination"]["totalResults"] == 0
    assert client.get(f"/api/v1/groups/{group}", headers=editor.headers).status_code == 404
    created = client.post("/api/v1/org/groups", json={"name": "Mine"}, headers=editor.headers)
    assert created.status_code == 403
    assert created.json()["error"]["name"] == "ForbiddenError"
    joined = client.put(f"/api/v1/groups/{group}/members/{editor.uuid}", headers=editor.headers)
    assert joined.status_code == 404
    assert count_rows(runtime, GroupMembership) == 0


def test_view_group_alone_reads_but_does_not_change(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    reader, _role = custom_role_holder(runtime, org, "auditor", ["view:Group"])
    group = add_group(runtime, org, "Analysts")

    assert client.get(f"/api/v1/groups/{group}", headers=reader.headers).status_code == 200
    renamed = client.patch(f"/api/v1/groups/{group}", json={"name": "X"}, headers=reader.headers)
    assert renamed.status_code == 403
    assert client.delete(f"/api/v1/groups/{group}", headers=reader.headers).status_code == 403
    assert count_rows(runtime, Group) == 1


def test_removing_a_person_from_the_organization_takes_them_out_of_groups(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    leaver = add_person(runtime, org, "viewer", key="leaver")
    group = add_group(runtime, org, "Analysts", members=(leaver.uuid,))
    headers = org.people["admin"].headers

    assert client.delete(f"/api/v1/org/user/{leaver.uuid}", headers=headers).status_code == 200

    members = client.get(f"/api/v1/groups/{group}/members", headers=headers).json()["results"]
    assert members == []


def test_search_takes_wildcards_literally(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    add_group(runtime, org, "50% off")
    add_group(runtime, org, "500 club")

    found = client.get(
        "/api/v1/org/groups", params={"searchQuery": "0%"}, headers=org.people["admin"].headers
    ).json()["results"]["data"]

    assert [g["name"] for g in found] == ["50% off"]
