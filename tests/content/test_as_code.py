"""Content as code: download what one may view, upload by slug (create / update / no changes)."""

from __future__ import annotations

from typing import Any

from lightkeeper.db import transaction
from lightkeeper.kit.clock import utcnow
from lightkeeper.models import SavedChart, Space
from tests.content.helpers import World
from tests.support import audit_events, count_rows, make_org


def download(world: World, key: str, kind: str = "charts", query: str = "") -> Any:
    r = world.call(key, "GET", f"/api/v1/projects/{world.project}/{kind}/code{query}")
    assert r.status_code == 200, r.text
    return r.json()["results"]


def upload(world: World, key: str, kind: str, slug: str, document: dict[str, Any]) -> Any:
    return world.call(
        key, "POST", f"/api/v1/projects/{world.project}/{kind}/{slug}/code", json=document
    )


def changes(results: dict[str, Any], kind: str) -> list[tuple[str, str, str]]:
    """(action, uuid, slug) of each entry of a PromotionChanges list, read from its `data`."""
    return [(e["action"], e["data"]["uuid"], e["data"]["slug"]) for e in results[kind]]


def test_chart_round_trip(world: World) -> None:
    space = world.space("admin", "Sales")
    chart = world.chart("admin", space["uuid"], "Revenue")
    page = download(world, "developer")
    # `offset` is where the next page starts: the CLI's `while (offset < total)` then ends.
    assert page["total"] == 1 and page["offset"] == 1 and page["missingIds"] == []
    [document] = page["charts"]
    assert document == {
        "version": 1,
        "name": "Revenue",
        "description": None,
        "slug": "revenue",
        "spaceSlug": "sales",
        "tableName": "orders",
        # With Lightdash's neutral keys (`filters`, `sorts`, `limit`, …), as the chart's API.
        "metricQuery": chart["metricQuery"],
        "chartConfig": chart["chartConfig"],
        "tableConfig": chart["tableConfig"],
        "updatedAt": chart["updatedAt"],
        "downloadedAt": document["downloadedAt"],
    }
    r = upload(world, "developer", "charts", "revenue", document)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert changes(results, "charts") == [("no changes", chart["uuid"], "revenue")]
    assert changes(results, "spaces") == [("no changes", space["uuid"], "sales")]
    assert results["dashboards"] == [] and results["sqlCharts"] == []
    assert audit_events(world.runtime, "content_as_code.uploaded") == []
    edited = {**document, "chartConfig": {"type": "big_number"}}
    r = upload(world, "developer", "charts", "revenue", edited)
    assert changes(r.json()["results"], "charts") == [("update", chart["uuid"], "revenue")]
    history = world.call("admin", "GET", f"/api/v1/saved/{chart['uuid']}/history").json()[
        "results"
    ]["history"]
    assert history[0]["chartConfig"] == {"type": "big_number"}
    assert history[0]["updatedByUser"]["userUuid"] == world.who("developer").uuid
    r = upload(
        world,
        "developer",
        "charts",
        "revenue-copy",
        {**edited, "slug": "revenue-copy", "spaceSlug": "new-team"},
    )
    [created] = r.json()["results"]["charts"]
    assert (
        created["action"] == "create"
        and created["slug"] == "revenue-copy"
        and created["uuid"] != chart["uuid"]
    )
    # The missing space was created, non-private.
    spaces = world.call("viewer", "GET", f"/api/v1/projects/{world.project}/spaces").json()[
        "results"
    ]
    [new_space] = [s for s in spaces if s["slug"] == "new-team"]
    assert new_space["isPrivate"] is False and new_space["name"] == "New team"
    got = world.call("viewer", "GET", f"/api/v1/saved/{created['uuid']}").json()["results"]
    assert got["spaceUuid"] == new_space["uuid"]
    assert got["createdBy"]["userUuid"] == world.who("developer").uuid
    actions = [e.details["action"] for e in audit_events(world.runtime, "content_as_code.uploaded")]
    assert actions == ["update", "create"]


def test_create_only_right_cannot_overwrite(world: World) -> None:
    space = world.space("admin", "Sales")
    world.chart("admin", space["uuid"], "Revenue")
    [document] = download(world, "editor")["charts"]  # editors hold view and create:ContentAsCode
    r = upload(world, "editor", "charts", "revenue", {**document, "name": "Mine now"})
    assert r.status_code == 403
    assert "overwrite" in r.json()["error"]["message"]
    r = upload(world, "editor", "charts", "brand-new", document)
    assert r.status_code == 200 and r.json()["results"]["charts"][0]["action"] == "create"
    for key in ("viewer", "interactive_viewer"):
        assert (
            world.call(key, "GET", f"/api/v1/projects/{world.project}/charts/code").status_code
            == 403
        )
        assert upload(world, key, "charts", "other", document).status_code == 403


def test_download_only_what_one_may_view_and_ids(world: World) -> None:
    public = world.space("admin", "Public")
    private = world.space("admin", "Board", isPrivate=True)
    a = world.chart("admin", public["uuid"], "Alpha")
    world.chart("admin", public["uuid"], "Beta")
    secret = world.chart("admin", private["uuid"], "Secret")
    assert [c["slug"] for c in download(world, "developer")["charts"]] == ["alpha", "beta"]
    assert download(world, "admin")["total"] == 3
    page = download(world, "developer", query=f"?ids={a['uuid']},beta&ids=secret&ids=nope")
    assert [c["slug"] for c in page["charts"]] == ["alpha", "beta"]
    assert page["missingIds"] == ["secret", "nope"] and page["total"] == 2
    # A private chart is not there for someone who cannot see it (tests/content/test_as_code_hidden.py).
    doc = {"name": "x", "spaceSlug": "public", "tableName": "t"}
    r = upload(world, "developer", "charts", secret["slug"], doc)
    assert r.status_code == 200 and r.json()["results"]["charts"][0]["uuid"] != secret["uuid"]


def test_download_pages_of_100(world: World) -> None:
    space = world.space("admin", "Bulk")
    with transaction(world.runtime.sessions) as session:
        for i in range(105):
            session.add(
                SavedChart(
                    project_uuid=world.project,
                    space_uuid=space["uuid"],
                    name=f"C{i}",
                    slug=f"c{i:03d}",
                    updated_at=utcnow(),
                )
            )
    first = download(world, "developer")
    assert len(first["charts"]) == 100 and first["total"] == 105
    second = download(world, "developer", query="?offset=100")
    assert [c["slug"] for c in second["charts"]] == [f"c{i:03d}" for i in range(100, 105)]
    assert second["offset"] == 105
    past = download(world, "developer", query="?offset=105")
    assert past["charts"] == [] and past["offset"] == 105 and past["total"] == 105


def test_dashboard_round_trip_and_unknown_chart_slug(world: World) -> None:
    space = world.space("admin", "Sales")
    chart = world.chart("admin", space["uuid"], "Revenue")
    tiles = [
        {
            "type": "saved_chart",
            "x": 0,
            "y": 0,
            "h": 3,
            "w": 6,
            "properties": {"savedChartUuid": chart["uuid"], "title": "Rev"},
        },
        {"type": "markdown", "x": 6, "y": 0, "h": 3, "w": 6, "properties": {"content": "# Notes"}},
    ]
    dashboard = world.dashboard("admin", space["uuid"], "Overview", tiles=tiles)
    [document] = download(world, "developer", "dashboards")["dashboards"]
    assert (
        document["slug"] == "overview"
        and document["spaceSlug"] == "sales"
        and document["version"] == 1
    )
    assert document["tiles"] == [
        {
            "type": "saved_chart",
            "x": 0,
            "y": 0,
            "h": 3,
            "w": 6,
            "properties": {"chartSlug": "revenue", "title": "Rev"},
        },
        {"type": "markdown", "x": 6, "y": 0, "h": 3, "w": 6, "properties": {"content": "# Notes"}},
    ]
    r = upload(world, "developer", "dashboards", "overview", document)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert changes(results, "dashboards") == [("no changes", dashboard["uuid"], "overview")]
    assert results["charts"] == [] and [e["action"] for e in results["spaces"]] == ["no changes"]
    moved = {**document, "tiles": [{**document["tiles"][0], "x": 6}, document["tiles"][1]]}
    r = upload(world, "developer", "dashboards", "overview", moved)
    assert r.json()["results"]["dashboards"][0]["action"] == "update"
    got = world.call("admin", "GET", f"/api/v1/dashboards/{dashboard['uuid']}").json()["results"]
    # Tile ids survive (comments hang off them); the chart reference resolves back to the uuid.
    assert [t["uuid"] for t in got["tiles"]] == [t["uuid"] for t in dashboard["tiles"]]
    assert (
        got["tiles"][0]["properties"]["savedChartUuid"] == chart["uuid"]
        and got["tiles"][0]["x"] == 6
    )
    assert got["updatedByUser"]["userUuid"] == world.who("developer").uuid
    broken = {
        **document,
        "tiles": [{**document["tiles"][0], "properties": {"chartSlug": "no-such-chart"}}],
    }
    r = upload(world, "developer", "dashboards", "new-one", broken)
    assert r.status_code == 400
    assert "no-such-chart" in r.json()["error"]["message"]
    assert count_rows(world.runtime, Space, project_uuid=world.project) == 1


def test_other_organization_gets_404(world: World) -> None:
    other = make_org(world.runtime, "Globex")
    outsider = other.people["admin"].token
    assert (
        world.call(outsider, "GET", f"/api/v1/projects/{world.project}/charts/code").status_code
        == 404
    )
    doc = {"name": "x", "spaceSlug": "s", "tableName": "t"}
    r = world.call(outsider, "POST", f"/api/v1/projects/{world.project}/charts/x/code", json=doc)
    assert r.status_code == 404


def test_upload_answers_parse_as_the_generated_clients_promotion_changes(world: World) -> None:
    """`lightdash-client-python` reads the upload answer into Lightdash's PromotionChanges."""
    from lightdash_client.models.api_chart_as_code_upsert_response import (
        ApiChartAsCodeUpsertResponse,
    )
    from lightdash_client.models.api_dashboard_as_code_upsert_response import (
        ApiDashboardAsCodeUpsertResponse,
    )

    space = world.space("admin", "Sales")
    query = {
        "exploreName": "orders",
        "dimensions": ["orders_status"],
        "metrics": [],
        "filters": {},
        "sorts": [],
        "limit": 500,
        "tableCalculations": [],
    }
    world.chart("admin", space["uuid"], "Revenue", metricQuery=query, chartConfig={"type": "table"})
    [document] = download(world, "developer")["charts"]
    r = upload(world, "developer", "charts", "revenue", {**document, "name": "Revenue 2"})
    parsed = ApiChartAsCodeUpsertResponse.from_dict(r.json())
    assert parsed.results.charts[0].action.value == "update"
    assert parsed.results.charts[0].data.space_slug == "sales"
    assert parsed.results.spaces[0].data.slug == "sales"
    dashboard = {
        "name": "Overview",
        "spaceSlug": "sales",
        "tiles": [],
        "filters": {"dimensions": [], "metrics": [], "tableCalculations": []},
    }
    r = upload(world, "developer", "dashboards", "overview", dashboard)
    parsed_dashboard = ApiDashboardAsCodeUpsertResponse.from_dict(r.json())
    assert parsed_dashboard.results.dashboards[0].action.value == "create"
