"""Spaces: visibility through space access, rights per role, nesting, sharing, deletion."""

from __future__ import annotations

from lightkeeper.models import Dashboard, DashboardComment, SavedChart, SavedChartVersion, Space
from tests.content.helpers import World, add_custom_role_member
from tests.support import (
    add_person,
    add_service_account,
    audit_events,
    count_rows,
    make_org,
    make_project,
)


def spaces_of(world: World, key: str) -> set[str]:
    r = world.call(key, "GET", f"/api/v1/projects/{world.project}/spaces")
    assert r.status_code == 200, r.text
    return {s["name"] for s in r.json()["results"]}


def test_create_space_shape_and_audit(world: World) -> None:
    editor = world.who("editor")
    space = world.space("editor", "Team Sales", isPrivate=True)
    assert space["name"] == "Team Sales"
    assert space["slug"] == "team-sales"
    assert space["isPrivate"] is True
    assert space["parentSpaceUuid"] is None
    assert space["projectUuid"] == world.project
    assert space["createdBy"] == {
        "userUuid": editor.uuid,
        "firstName": "Editor",
        "lastName": "Tester",
    }
    assert space["createdAt"].endswith("Z")
    # The creator of a private space is its admin.
    assert space["access"] == [
        {
            "userUuid": editor.uuid,
            "role": "admin",
            "firstName": "Editor",
            "lastName": "Tester",
            "email": editor.email,
            "hasDirectAccess": True,
        }
    ]
    # Lightdash's `Space`: its organization, no pin, and (still none) charts and dashboards.
    assert space["organizationUuid"] == world.org.uuid and space["pinnedListUuid"] is None
    assert space["queries"] == [] and space["dashboards"] == []
    again = world.space("editor", "Team  sales!")
    assert again["slug"] == "team-sales-2"
    created = audit_events(world.runtime, "space.created")
    [event] = [e for e in created if e.target_uuid == space["uuid"]]
    assert event.actor_uuid == editor.uuid
    assert event.details["isPrivate"] is True


def test_viewer_reads_but_cannot_write(world: World) -> None:
    space = world.space("admin", "Shared")
    chart = world.chart("admin", space["uuid"])
    base = f"/api/v1/projects/{world.project}/spaces"
    assert world.call("viewer", "GET", f"{base}/{space['uuid']}").status_code == 200
    assert world.call("viewer", "GET", f"/api/v1/saved/{chart['uuid']}").status_code == 200
    for method, path, body in [
        ("POST", base, {"name": "Mine"}),
        ("PATCH", f"{base}/{space['uuid']}", {"name": "Renamed"}),
        ("DELETE", f"{base}/{space['uuid']}", None),
        (
            "POST",
            f"{base}/{space['uuid']}/share",
            {"userUuid": world.who("viewer").uuid, "spaceRole": "admin"},
        ),
        ("PATCH", f"/api/v1/saved/{chart['uuid']}", {"name": "Hacked"}),
        ("DELETE", f"/api/v1/saved/{chart['uuid']}", None),
        (
            "POST",
            f"/api/v1/projects/{world.project}/saved",
            {"name": "x", "spaceUuid": space["uuid"], "tableName": "t"},
        ),
    ]:
        r = world.call("viewer", method, path, json=body)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"]["name"] == "ForbiddenError"
    assert (
        world.call("admin", "GET", f"/api/v1/saved/{chart['uuid']}").json()["results"]["name"]
        == "Revenue"
    )


def test_editor_manages_public_spaces_not_private_ones_they_cannot_see(world: World) -> None:
    public = world.space("admin", "Public")
    private = world.space("admin", "Board", isPrivate=True)
    base = f"/api/v1/projects/{world.project}/spaces"
    r = world.call("editor", "PATCH", f"{base}/{public['uuid']}", json={"name": "Public renamed"})
    assert r.status_code == 200 and r.json()["results"]["name"] == "Public renamed"
    for method, body in [("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)]:
        r = world.call("editor", method, f"{base}/{private['uuid']}", json=body)
        assert r.status_code == 404, r.text
        assert r.json()["error"]["message"] == "Space not found"
    assert spaces_of(world, "editor") == {"Public renamed"}
    mine = world.space("editor", "Scratch")
    assert world.call("editor", "DELETE", f"{base}/{mine['uuid']}").status_code == 204
    assert count_rows(world.runtime, Space, uuid=mine["uuid"]) == 0


def test_admin_sees_every_private_space_others_do_not(world: World) -> None:
    private = world.space("editor", "Editor's own", isPrivate=True)
    chart = world.chart("editor", private["uuid"], "Secret chart")
    world.space("admin", "Public")
    assert spaces_of(world, "admin") == {"Editor's own", "Public"}
    for key in ("viewer", "developer", "interactive_viewer"):
        assert spaces_of(world, key) == {"Public"}
        assert world.call(key, "GET", f"/api/v1/saved/{chart['uuid']}").status_code == 404
        charts = world.call(key, "GET", f"/api/v1/projects/{world.project}/charts").json()[
            "results"
        ]
        assert charts == []
    assert world.call("admin", "GET", f"/api/v1/saved/{chart['uuid']}").status_code == 200
    # Sharing makes it (and its charts) visible to that person only.
    world.share("editor", private["uuid"], world.who("viewer").uuid, "viewer")
    assert spaces_of(world, "viewer") == {"Editor's own", "Public"}
    assert world.call("viewer", "GET", f"/api/v1/saved/{chart['uuid']}").status_code == 200
    assert world.call("developer", "GET", f"/api/v1/saved/{chart['uuid']}").status_code == 404


def test_nested_space_takes_its_roots_access(world: World) -> None:
    root = world.space("editor", "Root", isPrivate=True)
    child = world.space("editor", "Child", parentSpaceUuid=root["uuid"])
    grandchild = world.space("editor", "Grandchild", parentSpaceUuid=child["uuid"])
    assert child["isPrivate"] is True and grandchild["isPrivate"] is True
    assert grandchild["parentSpaceUuid"] == child["uuid"]
    assert grandchild["access"] == root["access"]
    chart = world.chart("editor", grandchild["uuid"])
    base = f"/api/v1/projects/{world.project}/spaces"
    assert world.call("viewer", "GET", f"{base}/{grandchild['uuid']}").status_code == 404
    assert world.call("viewer", "GET", f"/api/v1/saved/{chart['uuid']}").status_code == 404
    # Privacy and shares belong to the root.
    r = world.call(
        "editor",
        "POST",
        base,
        json={"name": "Open", "parentSpaceUuid": root["uuid"], "isPrivate": False},
    )
    assert r.status_code == 400 and "root" in r.json()["error"]["message"]
    r = world.call("editor", "PATCH", f"{base}/{child['uuid']}", json={"isPrivate": False})
    assert r.status_code == 400 and "root" in r.json()["error"]["message"]
    r = world.call(
        "editor",
        "POST",
        f"{base}/{child['uuid']}/share",
        json={"userUuid": world.who("viewer").uuid, "spaceRole": "viewer"},
    )
    assert r.status_code == 400 and "root" in r.json()["error"]["message"]
    # Sharing the root opens the whole tree; making the root public opens it to all.
    world.share("editor", root["uuid"], world.who("viewer").uuid, "viewer")
    assert world.call("viewer", "GET", f"/api/v1/saved/{chart['uuid']}").status_code == 200
    r = world.call("editor", "PATCH", f"{base}/{root['uuid']}", json={"isPrivate": False})
    assert r.status_code == 200, r.text
    assert (
        world.call("developer", "GET", f"{base}/{grandchild['uuid']}").json()["results"][
            "isPrivate"
        ]
        is False
    )
    updated = audit_events(world.runtime, "space.updated")
    [event] = [e for e in updated if e.target_uuid == root["uuid"]]
    assert event.details == {"before": {"isPrivate": True}, "after": {"isPrivate": False}}


def test_share_and_unshare(world: World) -> None:
    space = world.space("editor", "Private", isPrivate=True)
    base = f"/api/v1/projects/{world.project}/spaces/{space['uuid']}/share"
    viewer = world.who("viewer")
    r = world.call("editor", "POST", base, json={"userUuid": viewer.uuid, "spaceRole": "editor"})
    assert r.status_code == 200
    assert {
        "userUuid": viewer.uuid,
        "role": "editor",
        "email": viewer.email,
        "hasDirectAccess": True,
        "firstName": "Viewer",
        "lastName": "Tester",
    } in (r.json()["results"]["access"])
    r = world.call("editor", "POST", base, json={"userUuid": viewer.uuid, "spaceRole": "owner"})
    assert r.status_code == 400
    other = make_org(world.runtime, "Globex")
    r = world.call(
        "editor", "POST", base, json={"userUuid": other.people["admin"].uuid, "spaceRole": "viewer"}
    )
    assert r.status_code == 404
    # A space viewer cannot share further.
    r = world.call(
        "viewer", "POST", base, json={"userUuid": world.who("developer").uuid, "spaceRole": "admin"}
    )
    assert r.status_code == 403
    assert world.call("editor", "DELETE", f"{base}/{viewer.uuid}").status_code == 200
    assert (
        world.call(
            "viewer", "GET", f"/api/v1/projects/{world.project}/spaces/{space['uuid']}"
        ).status_code
        == 404
    )
    assert world.call("editor", "DELETE", f"{base}/{viewer.uuid}").status_code == 404
    # Service-account principals of the organization can be given space roles too.
    bot = add_service_account(world.runtime, world.org, "CI bot", role="developer")
    sa_uuid = bot.principal_uuid
    r = world.call("editor", "POST", base, json={"userUuid": sa_uuid, "spaceRole": "editor"})
    assert r.status_code == 200
    # Lightdash's `SpaceShare.email` is a string: a service account's is "".
    assert {
        "userUuid": sa_uuid,
        "role": "editor",
        "firstName": "CI bot",
        "lastName": "",
        "email": "",
        "hasDirectAccess": True,
    } in (r.json()["results"]["access"])
    # A share does not open a project the person cannot see.
    outsider = add_person(world.runtime, world.org, "member", key="outsider")
    world.share("editor", space["uuid"], outsider.uuid, "admin")
    space_path = f"/api/v1/projects/{world.project}/spaces/{space['uuid']}"
    assert world.call("outsider", "GET", space_path).status_code == 404
    [shared] = [
        e
        for e in audit_events(world.runtime, "space.shared")
        if e.details["userUuid"] == viewer.uuid
    ]
    assert shared.details["before"] == {"role": None} and shared.details["after"] == {
        "role": "editor"
    }
    assert audit_events(world.runtime, "space.unshared")[-1].details["userUuid"] == viewer.uuid


def test_delete_space_deletes_everything_in_it(world: World) -> None:
    root = world.space("admin", "Root")
    child = world.space("admin", "Child", parentSpaceUuid=root["uuid"])
    keep = world.space("admin", "Keep")
    charts = [world.chart("admin", root["uuid"], "A"), world.chart("admin", child["uuid"], "B")]
    kept_chart = world.chart("admin", keep["uuid"], "C")
    tile = {
        "type": "saved_chart",
        "x": 0,
        "y": 0,
        "h": 3,
        "w": 6,
        "properties": {"savedChartUuid": charts[1]["uuid"]},
    }
    dashboard = world.dashboard("admin", child["uuid"], tiles=[tile])
    r = world.call(
        "admin", "POST", f"/api/v1/comments/dashboards/{dashboard['uuid']}", json={"text": "hi"}
    )
    assert r.status_code == 200
    r = world.call("admin", "DELETE", f"/api/v1/projects/{world.project}/spaces/{root['uuid']}")
    # Lightdash's OpenAPI declares 204 for this delete: no body.
    assert r.status_code == 204 and r.content == b""
    assert count_rows(world.runtime, Space, project_uuid=world.project) == 1
    assert count_rows(world.runtime, SavedChart, project_uuid=world.project) == 1
    assert count_rows(world.runtime, SavedChartVersion, chart_uuid=kept_chart["uuid"]) == 1
    assert count_rows(world.runtime, Dashboard, project_uuid=world.project) == 0
    assert count_rows(world.runtime, DashboardComment) == 0
    [event] = audit_events(world.runtime, "space.deleted")
    assert event.target_uuid == root["uuid"]
    assert set(event.details["deletedSpaces"]) == {root["uuid"], child["uuid"]}
    assert set(event.details["deletedCharts"]) == {c["uuid"] for c in charts}
    assert event.details["deletedDashboards"] == [dashboard["uuid"]]


def test_delete_space_refused_when_content_is_not_manageable(world: World) -> None:
    # May manage spaces, but only read charts: a space holding a chart is not theirs to delete.
    add_custom_role_member(
        world.runtime,
        world,
        "curator",
        ["view:Project", "view:Space", "manage:Space", "view:SavedChart"],
    )
    space = world.space("admin", "Root")
    child = world.space("admin", "Child", parentSpaceUuid=space["uuid"])
    world.chart("admin", child["uuid"], "Precious")
    r = world.call("curator", "DELETE", f"/api/v1/projects/{world.project}/spaces/{space['uuid']}")
    assert r.status_code == 403
    assert "Precious" in r.json()["error"]["message"]
    assert count_rows(world.runtime, Space, project_uuid=world.project) == 2
    assert count_rows(world.runtime, SavedChart, project_uuid=world.project) == 1
    assert audit_events(world.runtime, "space.deleted") == []
    empty = world.space("admin", "Empty")
    assert (
        world.call(
            "curator", "DELETE", f"/api/v1/projects/{world.project}/spaces/{empty['uuid']}"
        ).status_code
        == 204
    )


def test_move_space_under_another_parent(world: World) -> None:
    public = world.space("admin", "Public")
    private = world.space("admin", "Private", isPrivate=True)
    base = f"/api/v1/projects/{world.project}/spaces"
    r = world.call(
        "admin", "PATCH", f"{base}/{public['uuid']}", json={"parentSpaceUuid": private["uuid"]}
    )
    assert r.status_code == 200 and r.json()["results"]["isPrivate"] is True
    assert world.call("editor", "GET", f"{base}/{public['uuid']}").status_code == 404
    r = world.call(
        "admin", "PATCH", f"{base}/{private['uuid']}", json={"parentSpaceUuid": public["uuid"]}
    )
    assert r.status_code == 400


def test_other_organization_gets_404(world: World) -> None:
    space = world.space("admin", "Ours")
    chart = world.chart("admin", space["uuid"])
    other = make_org(world.runtime, "Globex")
    theirs = make_project(world.runtime, other, "Theirs")
    outsider = other.people["admin"].token
    for method, path in [
        ("GET", f"/api/v1/projects/{world.project}/spaces"),
        ("GET", f"/api/v1/projects/{world.project}/spaces/{space['uuid']}"),
        ("GET", f"/api/v1/projects/{theirs}/spaces/{space['uuid']}"),
        ("DELETE", f"/api/v1/projects/{world.project}/spaces/{space['uuid']}"),
        ("GET", f"/api/v1/projects/{world.project}/charts"),
        ("GET", f"/api/v1/saved/{chart['uuid']}"),
        ("GET", f"/api/v1/saved/{chart['uuid']}/history"),
        ("DELETE", f"/api/v1/saved/{chart['uuid']}"),
    ]:
        r = world.call(outsider, method, path)
        assert r.status_code == 404, (method, path, r.text)
    r = world.call(
        outsider,
        "POST",
        f"/api/v1/projects/{theirs}/saved",
        json={"name": "x", "spaceUuid": space["uuid"], "tableName": "t"},
    )
    assert r.status_code == 404


def test_malformed_ids_are_400(world: World) -> None:
    r = world.call("admin", "GET", f"/api/v1/projects/{world.project}/spaces/not-a-uuid")
    assert r.status_code == 400
    assert r.json()["error"]["name"] == "ParameterError"


def test_create_space_with_access_shares_it_at_once(world: World) -> None:
    viewer = world.who("viewer")
    space = world.space(
        "editor", "Board", isPrivate=True, access=[{"userUuid": viewer.uuid, "role": "editor"}]
    )
    assert {
        "userUuid": viewer.uuid,
        "role": "editor",
        "email": viewer.email,
        "hasDirectAccess": True,
        "firstName": "Viewer",
        "lastName": "Tester",
    } in space["access"]
    assert (
        world.call(
            "viewer", "GET", f"/api/v1/projects/{world.project}/spaces/{space['uuid']}"
        ).status_code
        == 200
    )
    r = world.call(
        "editor",
        "POST",
        f"/api/v1/projects/{world.project}/spaces",
        json={
            "name": "Nested",
            "parentSpaceUuid": space["uuid"],
            "access": [{"userUuid": viewer.uuid, "role": "viewer"}],
        },
    )
    assert r.status_code == 400 and "root" in r.json()["error"]["message"]
