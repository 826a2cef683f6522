"""Saved charts: @space rights, versions with attribution, moves, slugs, batch loading."""

from __future__ import annotations

from sqlalchemy import delete, event

from lightkeeper.db import transaction
from lightkeeper.kit.clock import utcnow
from lightkeeper.models import SavedChart, User
from tests.content.helpers import World
from tests.support import add_person, add_service_account, audit_events


def test_chart_shape_and_slug(world: World) -> None:
    space = world.space("editor", "Sales")
    chart = world.chart("editor", space["uuid"], "Revenue by Month", description="Monthly")
    editor = world.who("editor")
    person = {"userUuid": editor.uuid, "firstName": "Editor", "lastName": "Tester"}
    assert chart["slug"] == "revenue-by-month"
    assert chart["projectUuid"] == world.project
    assert chart["spaceUuid"] == space["uuid"] and chart["spaceName"] == "Sales"
    assert chart["tableName"] == "orders"
    assert chart["metricQuery"]["exploreName"] == "orders"
    assert chart["chartConfig"] == {"type": "cartesian"}
    assert chart["tableConfig"] == {"columnOrder": []}
    assert chart["description"] == "Monthly"
    assert chart["createdBy"] == person and chart["updatedByUser"] == person
    assert world.chart("editor", space["uuid"], "Revenue by month")["slug"] == "revenue-by-month-2"
    listed = world.call("viewer", "GET", f"/api/v1/projects/{world.project}/charts").json()[
        "results"
    ]
    assert sorted(c["slug"] for c in listed) == ["revenue-by-month", "revenue-by-month-2"]
    assert audit_events(world.runtime, "saved_chart.created")[0].target_uuid == chart["uuid"]


def test_every_change_is_a_version_with_who_made_it(world: World) -> None:
    space = world.space("admin", "Sales")
    chart = world.chart("editor", space["uuid"], "Revenue")
    r = world.call(
        "developer",
        "PATCH",
        f"/api/v1/saved/{chart['uuid']}",
        json={"name": "Revenue (net)", "chartConfig": {"type": "table"}},
    )
    assert r.status_code == 200, r.text
    updated = r.json()["results"]
    developer = world.who("developer")
    assert updated["updatedByUser"] == {
        "userUuid": developer.uuid,
        "firstName": "Developer",
        "lastName": "Tester",
    }
    assert updated["createdBy"]["userUuid"] == world.who("editor").uuid
    assert updated["slug"] == "revenue"  # slugs are stable: content as code relies on them
    # A request that changes nothing writes no version.
    r = world.call(
        "developer", "PATCH", f"/api/v1/saved/{chart['uuid']}", json={"name": "Revenue (net)"}
    )
    assert r.status_code == 200
    history = world.call("viewer", "GET", f"/api/v1/saved/{chart['uuid']}/history").json()[
        "results"
    ]["history"]
    assert [v["name"] for v in history] == ["Revenue (net)", "Revenue"]
    assert [v["updatedByUser"]["userUuid"] for v in history] == [
        developer.uuid,
        world.who("editor").uuid,
    ]
    assert history[0]["chartConfig"] == {"type": "table"}
    assert history[1]["snapshot"]["chartConfig"] == {"type": "cartesian"}
    assert history[0]["versionUuid"] != history[1]["versionUuid"]
    [audit] = audit_events(world.runtime, "saved_chart.updated")
    assert audit.details["before"] == {"name": "Revenue", "chartConfig": {"type": "cartesian"}}
    assert audit.details["after"] == {"name": "Revenue (net)", "chartConfig": {"type": "table"}}


def test_interactive_viewer_edits_only_where_space_editor(world: World) -> None:
    public = world.space("admin", "Public")
    private = world.space("admin", "Workshop", isPrivate=True)
    body = {"name": "Mine", "tableName": "orders"}
    # A public space makes them a space viewer: no charts there.
    r = world.call(
        "interactive_viewer",
        "POST",
        f"/api/v1/projects/{world.project}/saved",
        json={**body, "spaceUuid": public["uuid"]},
    )
    assert r.status_code == 403
    public_chart = world.chart("admin", public["uuid"])
    r = world.call(
        "interactive_viewer", "PATCH", f"/api/v1/saved/{public_chart['uuid']}", json={"name": "x"}
    )
    assert r.status_code == 403
    # Invisible private space: 404, not 403.
    r = world.call(
        "interactive_viewer",
        "POST",
        f"/api/v1/projects/{world.project}/saved",
        json={**body, "spaceUuid": private["uuid"]},
    )
    assert r.status_code == 404
    world.share("admin", private["uuid"], world.who("interactive_viewer").uuid, "viewer")
    r = world.call(
        "interactive_viewer",
        "POST",
        f"/api/v1/projects/{world.project}/saved",
        json={**body, "spaceUuid": private["uuid"]},
    )
    assert r.status_code == 403
    world.share("admin", private["uuid"], world.who("interactive_viewer").uuid, "editor")
    r = world.call(
        "interactive_viewer",
        "POST",
        f"/api/v1/projects/{world.project}/saved",
        json={**body, "spaceUuid": private["uuid"]},
    )
    assert r.status_code == 200, r.text
    mine = r.json()["results"]["uuid"]
    assert (
        world.call(
            "interactive_viewer", "PATCH", f"/api/v1/saved/{mine}", json={"name": "Mine 2"}
        ).status_code
        == 200
    )
    # Moving needs manage rights on both spaces: not into the public space.
    r = world.call(
        "interactive_viewer", "PATCH", f"/api/v1/saved/{mine}", json={"spaceUuid": public["uuid"]}
    )
    assert r.status_code == 403
    assert world.call("interactive_viewer", "DELETE", f"/api/v1/saved/{mine}").status_code == 200


def test_move_chart_between_spaces(world: World) -> None:
    a = world.space("admin", "A")
    b = world.space("admin", "B", isPrivate=True)
    chart = world.chart("editor", a["uuid"])
    r = world.call(
        "editor", "PATCH", f"/api/v1/saved/{chart['uuid']}", json={"spaceUuid": b["uuid"]}
    )
    assert r.status_code == 404  # cannot see B
    world.share("admin", b["uuid"], world.who("editor").uuid, "viewer")
    r = world.call(
        "editor", "PATCH", f"/api/v1/saved/{chart['uuid']}", json={"spaceUuid": b["uuid"]}
    )
    assert r.status_code == 403
    world.share("admin", b["uuid"], world.who("editor").uuid, "editor")
    r = world.call(
        "editor", "PATCH", f"/api/v1/saved/{chart['uuid']}", json={"spaceUuid": b["uuid"]}
    )
    assert r.status_code == 200
    assert r.json()["results"]["spaceUuid"] == b["uuid"] and r.json()["results"]["spaceName"] == "B"
    assert world.call("viewer", "GET", f"/api/v1/saved/{chart['uuid']}").status_code == 404


def test_service_account_and_deleted_user_attribution(world: World) -> None:
    space = world.space("admin", "Sales")
    _, sa_uuid, token = add_service_account(
        world.runtime, world.org, "dbt deploy bot", role="developer"
    )
    r = world.call(
        token,
        "POST",
        f"/api/v1/projects/{world.project}/saved",
        json={"name": "By bot", "spaceUuid": space["uuid"], "tableName": "orders"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"]["createdBy"] == {
        "userUuid": sa_uuid,
        "firstName": "dbt deploy bot",
        "lastName": "",
    }
    temp = add_person(world.runtime, world.org, "editor", key="temp")
    chart = world.chart("temp", space["uuid"], "Orphan")
    with transaction(world.runtime.sessions) as session:
        session.execute(delete(User).where(User.uuid == temp.uuid))
    got = world.call("admin", "GET", f"/api/v1/saved/{chart['uuid']}").json()["results"]
    # Lightdash's `createdBy` is nullable; its `updatedByUser` is optional: absent, not null.
    assert got["createdBy"] is None and "updatedByUser" not in got
    history = world.call("admin", "GET", f"/api/v1/saved/{chart['uuid']}/history").json()["results"]
    assert history["history"][0]["updatedByUser"] is None


def test_listing_charts_takes_a_constant_number_of_queries(world: World) -> None:
    space = world.space("admin", "Bulk")
    people = [add_person(world.runtime, world.org, "editor", key=f"e{i}").uuid for i in range(3)]

    def add_charts(n: int, start: int) -> None:
        with transaction(world.runtime.sessions) as session:
            for i in range(start, start + n):
                who = people[i % len(people)]
                session.add(
                    SavedChart(
                        project_uuid=world.project,
                        space_uuid=space["uuid"],
                        name=f"C{i}",
                        slug=f"c{i}",
                        created_by_user_uuid=who,
                        updated_by_user_uuid=who,
                        updated_at=utcnow(),
                    )
                )

    def queries_to_list() -> int:
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(world.runtime.engine, "before_cursor_execute", count)
        try:
            r = world.call("viewer", "GET", f"/api/v1/projects/{world.project}/charts")
            assert r.status_code == 200
        finally:
            event.remove(world.runtime.engine, "before_cursor_execute", count)
        return len(statements)

    # Authentication is cached between requests (sometimes re-resolved): compare the leanest runs.
    add_charts(3, 0)
    few = min(queries_to_list() for _ in range(3))
    add_charts(40, 3)
    assert min(queries_to_list() for _ in range(3)) == few
