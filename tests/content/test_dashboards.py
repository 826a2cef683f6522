"""Dashboards: tiles, chart references within the project, versions, @space rights."""

from __future__ import annotations

from lightkeeper.db import transaction
from lightkeeper.models import Dashboard, Space
from tests.content.helpers import World
from tests.support import audit_events, make_project


def tile(chart_uuid: str | None = None, **extra: object) -> dict[str, object]:
    properties: dict[str, object] = {"title": "Tile"}
    if chart_uuid:
        properties["savedChartUuid"] = chart_uuid
    return {
        "type": "saved_chart" if chart_uuid else "markdown",
        "x": 0,
        "y": 0,
        "h": 3,
        "w": 6,
        "properties": properties,
        **extra,
    }


def test_dashboard_shape_tiles_and_versions(world: World) -> None:
    space = world.space("editor", "Sales")
    chart = world.chart("editor", space["uuid"])
    dashboard = world.dashboard(
        "editor",
        space["uuid"],
        "Sales Overview",
        tiles=[tile(chart["uuid"]), tile(uuid="my-tile")],
        filters={"dimensions": []},
    )
    assert dashboard["slug"] == "sales-overview"
    assert dashboard["projectUuid"] == world.project and dashboard["spaceUuid"] == space["uuid"]
    # Lightdash's `DashboardFilters` always has its three lists.
    assert dashboard["filters"] == {"dimensions": [], "metrics": [], "tableCalculations": []}
    first, second = dashboard["tiles"]
    assert first["uuid"] and first["properties"] == {
        "title": "Tile",
        "savedChartUuid": chart["uuid"],
    }
    assert second["uuid"] == "my-tile"
    assert dashboard["createdBy"]["userUuid"] == world.who("editor").uuid
    r = world.call(
        "developer",
        "PATCH",
        f"/api/v1/dashboards/{dashboard['uuid']}",
        json={"name": "Sales", "tiles": [first]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"]["tiles"] == [first]
    assert r.json()["results"]["updatedByUser"]["userUuid"] == world.who("developer").uuid
    history = world.call("viewer", "GET", f"/api/v1/dashboards/{dashboard['uuid']}/history").json()[
        "results"
    ]
    assert [v["name"] for v in history] == ["Sales", "Sales Overview"]
    assert [len(v["tiles"]) for v in history] == [1, 2]
    assert history[0]["updatedByUser"]["userUuid"] == world.who("developer").uuid
    updated = audit_events(world.runtime, "dashboard.updated")
    assert [e.action for e in updated] == ["dashboard.updated"]
    listed = world.call("viewer", "GET", f"/api/v1/projects/{world.project}/dashboards").json()[
        "results"
    ]
    assert [d["uuid"] for d in listed] == [dashboard["uuid"]]


def test_tiles_must_reference_charts_of_the_same_project(world: World) -> None:
    space = world.space("admin", "Sales")
    chart = world.chart("admin", space["uuid"])
    other_project = make_project(world.runtime, world.org, "Other")
    r = world.call(
        "admin", "POST", f"/api/v1/projects/{other_project}/spaces", json={"name": "Elsewhere"}
    )
    other_space = r.json()["results"]["uuid"]
    r = world.call(
        "admin",
        "POST",
        f"/api/v1/projects/{other_project}/dashboards",
        json={"name": "D", "spaceUuid": other_space, "tiles": [tile(chart["uuid"])]},
    )
    assert r.status_code == 400
    assert chart["uuid"] in r.json()["error"]["message"]
    r = world.call(
        "admin",
        "POST",
        f"/api/v1/projects/{world.project}/dashboards",
        json={"name": "D", "spaceUuid": space["uuid"], "tiles": [tile(x=-1)]},
    )
    assert r.status_code == 400
    r = world.call(
        "admin",
        "POST",
        f"/api/v1/projects/{world.project}/dashboards",
        json={"name": "D", "spaceUuid": space["uuid"], "tiles": [{**tile(), "type": "pie"}]},
    )
    assert r.status_code == 400


def test_interactive_viewer_dashboards_only_where_space_editor(world: World) -> None:
    public = world.space("admin", "Public")
    private = world.space("admin", "Private", isPrivate=True)
    path = f"/api/v1/projects/{world.project}/dashboards"
    r = world.call(
        "interactive_viewer", "POST", path, json={"name": "D", "spaceUuid": public["uuid"]}
    )
    assert r.status_code == 403
    r = world.call(
        "interactive_viewer", "POST", path, json={"name": "D", "spaceUuid": private["uuid"]}
    )
    assert r.status_code == 404
    world.share("admin", private["uuid"], world.who("interactive_viewer").uuid, "editor")
    r = world.call(
        "interactive_viewer", "POST", path, json={"name": "D", "spaceUuid": private["uuid"]}
    )
    assert r.status_code == 201
    uuid = r.json()["results"]["uuid"]
    assert world.call("viewer", "GET", f"/api/v1/dashboards/{uuid}").status_code == 404
    assert world.call("admin", "GET", f"/api/v1/dashboards/{uuid}").status_code == 200
    assert (
        world.call("interactive_viewer", "DELETE", f"/api/v1/dashboards/{uuid}").status_code == 200
    )
    assert audit_events(world.runtime, "dashboard.deleted")[0].target_uuid == uuid


def test_without_a_space_a_dashboard_goes_to_the_first_space_the_caller_may_use(
    world: World,
) -> None:
    path = f"/api/v1/projects/{world.project}/dashboards"
    r = world.call("admin", "POST", path, json={"name": "Nowhere"})
    assert r.status_code == 400 and "spaceUuid" in r.json()["error"]["message"]
    world.space("admin", "Board", isPrivate=True)  # not the interactive viewer's
    shared = world.space("admin", "Team")
    world.share("admin", shared["uuid"], world.who("interactive_viewer").uuid, "editor")
    r = world.call("interactive_viewer", "POST", path, json={"name": "Mine"})
    assert r.status_code == 201, r.text
    assert r.json()["results"]["spaceUuid"] == shared["uuid"]


def test_bulk_update_is_all_or_nothing(world: World) -> None:
    sales = world.space("admin", "Sales")
    archive = world.space("admin", "Archive")
    first = world.dashboard("admin", sales["uuid"], "First")
    elsewhere = make_project(world.runtime, world.org, "Elsewhere")
    path = f"/api/v1/projects/{world.project}/dashboards"
    with transaction(world.runtime.sessions) as session:
        other_space = Space(project_uuid=elsewhere, name="Other", slug="other")
        session.add(other_space)
        session.flush()
        foreign = Dashboard(
            project_uuid=elsewhere, space_uuid=other_space.uuid, name="Foreign", slug="foreign"
        )
        session.add(foreign)
        session.flush()
        foreign_uuid = foreign.uuid
    items = [
        {"uuid": first["uuid"], "name": "First (old)", "spaceUuid": archive["uuid"]},
        {"uuid": foreign_uuid, "name": "Foreign", "spaceUuid": archive["uuid"]},
    ]
    r = world.call("admin", "PATCH", path, json=items)
    assert r.status_code == 404 and foreign_uuid in r.json()["error"]["message"]
    unchanged = world.call("admin", "GET", f"/api/v1/dashboards/{first['uuid']}").json()
    assert (
        unchanged["results"]["name"] == "First"
        and unchanged["results"]["spaceUuid"] == (sales["uuid"])
    )
    # A viewer may not move dashboards.
    r = world.call("viewer", "PATCH", path, json=items[:1])
    assert r.status_code == 403
    r = world.call("admin", "PATCH", path, json=items[:1])
    assert r.status_code == 200
    [moved] = r.json()["results"]
    assert (moved["name"], moved["spaceName"]) == ("First (old)", "Archive")
    assert audit_events(world.runtime, "dashboard.updated")[0].details["after"]["name"] == (
        "First (old)"
    )
