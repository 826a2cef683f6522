"""Content as code never lets a caller learn that content they may not view exists.

Downloads do not name it; uploads at its slug, into its space, or naming it in
a tile behave as for something unknown, and leave it untouched.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.models import Dashboard, SavedChart, Space, new_uuid
from tests.content.helpers import World
from tests.support import count_rows

CHART_DOC = {"name": "Plan", "spaceSlug": "public", "tableName": "orders"}


def upload(world: World, key: str, kind: str, slug: str, document: dict[str, Any]) -> Any:
    return world.call(
        key, "POST", f"/api/v1/projects/{world.project}/{kind}/{slug}/code", json=document
    )


def chart_tile(chart_uuid: str, x: int = 0) -> dict[str, Any]:
    return {
        "type": "saved_chart",
        "x": x,
        "y": 0,
        "h": 3,
        "w": 6,
        "properties": {"savedChartUuid": chart_uuid},
    }


def hidden_world(world: World) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A public space and a private one (only the admin sees it) holding the "Secret plan" chart."""
    public = world.space("admin", "Public")
    board = world.space("admin", "Board", isPrivate=True)
    secret = world.chart("admin", board["uuid"], "Secret plan")
    return public, board, secret


def stored_chart(world: World, uuid: str) -> SavedChart:
    with transaction(world.runtime.sessions) as session:
        chart = session.get(SavedChart, uuid)
        assert chart is not None
        session.expunge(chart)
        return chart


def test_a_dashboard_download_does_not_name_a_hidden_chart(world: World) -> None:
    public, _board, secret = hidden_world(world)
    shown = world.chart("admin", public["uuid"], "Revenue")
    tiles = [chart_tile(secret["uuid"]), chart_tile(shown["uuid"], x=6)]
    dashboard = world.dashboard("admin", public["uuid"], "Overview", tiles=tiles)

    response = world.call("developer", "GET", f"/api/v1/projects/{world.project}/dashboards/code")

    assert response.status_code == 200
    assert "secret" not in response.text.lower()
    assert secret["uuid"] not in response.text
    [document] = response.json()["results"]["dashboards"]
    assert [t["properties"] for t in document["tiles"]] == [
        {"chartSlug": None},
        {"chartSlug": "revenue"},
    ]
    # The admin, who sees the chart, still gets its slug.
    admin_text = world.call("admin", "GET", f"/api/v1/projects/{world.project}/dashboards/code")
    assert '"chartSlug":"secret-plan"' in admin_text.text.replace(" ", "")
    # Uploading the download back changes nothing: the hidden chart stays on its tile.
    again = upload(world, "developer", "dashboards", "overview", document)
    assert again.status_code == 200, again.text
    assert again.json()["results"]["dashboards"][0]["action"] == "no changes"
    got = world.call("admin", "GET", f"/api/v1/dashboards/{dashboard['uuid']}").json()["results"]
    assert got["tiles"][0]["properties"]["savedChartUuid"] == secret["uuid"]


def test_uploading_at_a_hidden_charts_slug_answers_as_for_an_unknown_slug(world: World) -> None:
    _public, _board, secret = hidden_world(world)
    before = stored_chart(world, secret["uuid"])

    unknown = upload(world, "developer", "charts", "never-used", CHART_DOC)
    hidden = upload(world, "developer", "charts", secret["slug"], CHART_DOC)
    create_only = upload(world, "editor", "charts", secret["slug"], CHART_DOC)

    for response in (unknown, hidden, create_only):
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]["charts"]
        assert result["action"] == "create" and result["uuid"] != secret["uuid"]
    assert hidden.json()["results"]["charts"][0]["slug"] == "secret-plan-2"
    assert "secret" not in json.dumps(hidden.json()["results"]).replace("secret-plan-2", "")
    after = stored_chart(world, secret["uuid"])
    assert (after.name, after.slug, after.space_uuid, after.updated_at) == (
        before.name,
        before.slug,
        before.space_uuid,
        before.updated_at,
    )
    # The developer's own chart is where they can see it, and downloads under its real slug.
    page = world.call("developer", "GET", f"/api/v1/projects/{world.project}/charts/code")
    slugs = [c["slug"] for c in page.json()["results"]["charts"]]
    assert "secret-plan" not in slugs and "secret-plan-2" in slugs


def test_uploading_at_a_hidden_dashboards_slug_creates_beside_it(world: World) -> None:
    _public, board, _secret = hidden_world(world)
    hidden = world.dashboard("admin", board["uuid"], "Board pack")
    document = {"name": "Mine", "spaceSlug": "public", "tiles": []}

    response = upload(world, "editor", "dashboards", "board-pack", document)

    assert response.status_code == 200, response.text
    [result] = response.json()["results"]["dashboards"]
    assert result["action"] == "create" and result["uuid"] != hidden["uuid"]
    assert result["slug"] == "board-pack-2"
    with transaction(world.runtime.sessions) as session:
        kept = session.get(Dashboard, hidden["uuid"])
        assert kept is not None and kept.name == "Board pack" and kept.space_uuid == board["uuid"]


def test_a_document_naming_a_hidden_space_lands_in_a_new_public_space(world: World) -> None:
    _public, board, _secret = hidden_world(world)

    response = upload(world, "developer", "charts", "plan", {**CHART_DOC, "spaceSlug": "board"})

    assert response.status_code == 200, response.text
    [result] = response.json()["results"]["charts"]
    landed = stored_chart(world, result["uuid"])
    assert landed.space_uuid != board["uuid"]
    with transaction(world.runtime.sessions) as session:
        space = session.get(Space, landed.space_uuid)
        assert space is not None and space.slug == "board-2" and space.is_private is False
        in_board = session.scalars(select(SavedChart).where(SavedChart.space_uuid == board["uuid"]))
        assert [c.name for c in in_board] == ["Secret plan"]


def test_a_tile_naming_a_hidden_chart_is_refused_as_an_unknown_one(world: World) -> None:
    _public, _board, secret = hidden_world(world)
    tile = {"type": "saved_chart", "x": 0, "y": 0, "h": 3, "w": 6}

    def document(properties: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": "Mine",
            "spaceSlug": "public",
            "tiles": [{**tile, "properties": properties}],
        }

    unknown = upload(world, "developer", "dashboards", "mine", document({"chartSlug": "nope"}))
    hidden = upload(
        world, "developer", "dashboards", "mine", document({"chartSlug": secret["slug"]})
    )
    by_uuid = upload(
        world, "developer", "dashboards", "mine", document({"savedChartUuid": secret["uuid"]})
    )

    assert unknown.status_code == hidden.status_code == 400
    assert hidden.json()["error"]["message"] == unknown.json()["error"]["message"].replace(
        "'nope'", f"'{secret['slug']}'"
    )
    # Documents name charts by slug only: a uuid slipped into a tile links nothing.
    assert by_uuid.status_code == 200, by_uuid.text
    created = by_uuid.json()["results"]["dashboards"][0]["uuid"]
    with transaction(world.runtime.sessions) as session:
        stored = session.get(Dashboard, created)
        assert stored is not None and "savedChartUuid" not in stored.tiles[0]["properties"]
    assert count_rows(world.runtime, Dashboard, project_uuid=world.project) == 1


def test_the_dashboard_api_treats_a_hidden_chart_as_unknown(world: World) -> None:
    """The same rule outside content as code: a hidden chart is no different from a made-up one."""
    public, _board, secret = hidden_world(world)
    url = f"/api/v1/projects/{world.project}/dashboards"
    body = {"name": "Mine", "spaceUuid": public["uuid"]}
    made_up = new_uuid()

    hidden = world.call(
        "developer", "POST", url, json={**body, "tiles": [chart_tile(secret["uuid"])]}
    )
    unknown = world.call("developer", "POST", url, json={**body, "tiles": [chart_tile(made_up)]})

    assert hidden.status_code == unknown.status_code == 400
    assert hidden.json()["error"]["message"].replace(secret["uuid"], "?") == unknown.json()[
        "error"
    ]["message"].replace(made_up, "?")
    # A dashboard that already shows the chart (placed by the admin) keeps it when edited.
    shared = world.dashboard("admin", public["uuid"], "Shared", tiles=[chart_tile(secret["uuid"])])
    kept = world.call(
        "developer",
        "PATCH",
        f"/api/v1/dashboards/{shared['uuid']}",
        json={"name": "Shared (renamed)", "tiles": [chart_tile(secret["uuid"])]},
    )
    assert kept.status_code == 200, kept.text
