"""Content and explores through Lightdash's generated client (`lightdash-client-python` 0.1471.0).

Each operation is called as a real client calls it, with a service-account token (`ApiKey
ldsvc_…`, the client's default scheme): the status must be the one Lightdash's OpenAPI
document declares and the body must parse into the client's model; then the values a user
reads are checked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lightdash_client import AuthenticatedClient
from lightdash_client.api.charts import (
    get_chart_history,
    get_chart_version,
    post_chart_version_rollback,
)
from lightdash_client.api.comments import create_comment, delete_comment, get_comments
from lightdash_client.api.comments import resolve_comment as resolve_comment_op
from lightdash_client.api.projects import (
    create_dashboard,
    get_charts_as_code,
    get_dashboards,
    get_dashboards_as_code,
    get_explore,
    get_explores,
    list_chart_summaries_in_project,
    list_charts_in_project,
    set_explores,
    update_dashboards,
    upsert_chart_as_code,
    upsert_dashboard_as_code,
)
from lightdash_client.api.roles_permissions import (
    add_space_user_access,
    create_space_in_project,
    revoke_space_access_for_user,
    update_space,
)
from lightdash_client.api.spaces import get_space
from lightdash_client.models import (
    AddSpaceUserAccess,
    CreateDashboard,
    CreateSpace,
    PickCommentTextOrReplyToOrMentionsOrTextHtml,
    PickDashboardUuidOrNameOrDescriptionOrSpaceUuid,
    UpdateSpace,
    UpsertChartAsCodeBody,
    UpsertDashboardAsCodeBody,
)
from lightdash_client.types import Response

from lightkeeper.compiler import compile_metric_query
from lightkeeper.runtime import Runtime
from tests.content.helpers import World, build_world
from tests.support import add_service_account, demo_explores, make_project


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    world = build_world(client, runtime)
    explores = demo_explores()
    r = world.call("admin", "PUT", f"/api/v1/projects/{world.project}/explores", json=explores)
    assert r.status_code == 200, r.text
    return world


@pytest.fixture
def api(world: World) -> AuthenticatedClient:
    """The generated client over the test app, as an admin service account (`ApiKey ldsvc_…`)."""
    account = add_service_account(world.runtime, world.org, "Content bot", role="admin")
    client = AuthenticatedClient(base_url="http://testserver", token=account.token)
    world.client.headers["Authorization"] = f"ApiKey {account.token}"
    return client.set_httpx_client(world.client)


def parsed(response: Response[Any], status: int) -> Any:
    assert response.status_code == status, response.content
    assert response.parsed is not None, response.content
    return response.parsed


def chart_body(space_uuid: str, name: str = "Revenue") -> dict[str, Any]:
    return {
        "name": name,
        "spaceUuid": space_uuid,
        "tableName": "orders",
        "metricQuery": {
            "exploreName": "orders",
            "dimensions": ["orders_status"],
            "metrics": ["orders_unique_order_count"],
        },
        "chartConfig": {"type": "cartesian"},
        "tableConfig": {"columnOrder": ["orders_status", "orders_unique_order_count"]},
    }


def test_space_detail(world: World, api: AuthenticatedClient) -> None:
    body = {"name": "Finance", "isPrivate": True}
    created = parsed(
        create_space_in_project.sync_detailed(
            world.project, client=api, body=CreateSpace.from_dict(body)
        ),
        200,
    ).results
    assert created.name == "Finance" and created.is_private is True
    assert created.organization_uuid == world.org.uuid and created.project_uuid == world.project
    # The service account that made the private space is its admin; its email is "".
    [creator] = created.access
    assert (creator.role.value, creator.email, creator.first_name) == ("admin", "", "Content bot")
    chart = world.call(
        "admin", "POST", f"/api/v1/projects/{world.project}/saved", json=chart_body(created.uuid)
    )
    assert chart.status_code == 200, chart.text
    # The space shows what is in it: Lightdash's `queries` and `dashboards`.
    space = parsed(get_space.sync_detailed(world.project, created.uuid, client=api), 200).results
    assert [q.name for q in space.queries] == ["Revenue"]
    assert space.queries[0].space_name == "Finance" and space.queries[0].views == 0
    assert space.dashboards == []
    renamed = parsed(
        update_space.sync_detailed(
            world.project,
            created.uuid,
            client=api,
            body=UpdateSpace.from_dict({"name": "Finance (EU)", "isPrivate": False}),
        ),
        200,
    ).results
    assert renamed.name == "Finance (EU)" and renamed.is_private is False
    viewer = world.who("viewer")
    shared = add_space_user_access.sync_detailed(
        world.project,
        created.uuid,
        client=api,
        body=AddSpaceUserAccess.from_dict({"userUuid": viewer.uuid, "spaceRole": "editor"}),
    )
    assert parsed(shared, 200).status.value == "ok"
    again = parsed(get_space.sync_detailed(world.project, created.uuid, client=api), 200).results
    assert (viewer.uuid, viewer.email) in [(a.user_uuid, a.email) for a in again.access]
    revoked = revoke_space_access_for_user.sync_detailed(
        world.project, created.uuid, viewer.uuid, client=api
    )
    assert parsed(revoked, 200).status.value == "ok"
    # Lightdash declares 204 for the delete: no body (the generated client cannot parse a
    # 204, whatever the server, since it reads JSON from an empty body).
    deleted = api.get_httpx_client().delete(
        f"/api/v1/projects/{world.project}/spaces/{created.uuid}"
    )
    assert deleted.status_code == 204 and deleted.content == b""
    assert get_space.sync_detailed(world.project, created.uuid, client=api).status_code == 404


def test_charts_lists_history_and_versions(world: World, api: AuthenticatedClient) -> None:
    space = world.space("admin", "Sales")
    chart = world.call(
        "admin", "POST", f"/api/v1/projects/{world.project}/saved", json=chart_body(space["uuid"])
    ).json()["results"]
    r = world.call(
        "editor",
        "PATCH",
        f"/api/v1/saved/{chart['uuid']}",
        json={"name": "Revenue by status", "chartConfig": {"type": "table"}},
    )
    assert r.status_code == 200, r.text
    listed = parsed(list_charts_in_project.sync_detailed(world.project, client=api), 200)
    [summary] = listed.results
    assert (summary.name, summary.space_name, summary.organization_uuid) == (
        "Revenue by status",
        "Sales",
        world.org.uuid,
    )
    assert summary.updated_by_user.user_uuid == world.who("editor").uuid
    summaries = parsed(
        list_chart_summaries_in_project.sync_detailed(world.project, client=api), 200
    )
    assert [(s.uuid, s.chart_type.value) for s in summaries.results] == [(chart["uuid"], "table")]
    # Lightdash's `{history: […]}`, newest first, each naming who made it.
    history = parsed(get_chart_history.sync_detailed(chart["uuid"], client=api), 200).results
    assert [v.created_by.user_uuid for v in history.history] == [
        world.who("editor").uuid,
        world.who("admin").uuid,
    ]
    first = history.history[-1]
    version = parsed(
        get_chart_version.sync_detailed(chart["uuid"], first.version_uuid, client=api), 200
    ).results
    assert version.chart.name == "Revenue" and version.chart.chart_config.type.value == "cartesian"
    assert version.chart.metric_query.metrics == ["orders_unique_order_count"]
    assert version.chart.metric_query.limit == 500  # Lightdash's neutral keys filled in
    rolled = post_chart_version_rollback.sync_detailed(
        chart["uuid"], first.version_uuid, client=api
    )
    assert parsed(rolled, 200).status.value == "ok"
    now = world.call("admin", "GET", f"/api/v1/saved/{chart['uuid']}").json()["results"]
    assert now["chartConfig"] == {"type": "cartesian"} and now["name"] == "Revenue by status"
    history = parsed(get_chart_history.sync_detailed(chart["uuid"], client=api), 200).results
    assert len(history.history) == 3
    other = world.chart("admin", space["uuid"], "Other")
    foreign = get_chart_version.sync_detailed(other["uuid"], first.version_uuid, client=api)
    assert foreign.status_code == 404


def test_dashboards_create_list_and_bulk_move(world: World, api: AuthenticatedClient) -> None:
    sales = world.space("admin", "Sales")
    archive = world.space("admin", "Archive")
    chart = world.chart("admin", sales["uuid"])
    body = {
        "name": "Overview",
        "spaceUuid": sales["uuid"],
        "tabs": [],
        "tiles": [
            {
                "type": "saved_chart",
                "x": 0,
                "y": 0,
                "h": 3,
                "w": 6,
                "properties": {"savedChartUuid": chart["uuid"]},
            },
            {
                "type": "markdown",
                "x": 6,
                "y": 0,
                "h": 3,
                "w": 6,
                "properties": {"title": "Notes", "content": "Hi"},
            },
        ],
        "filters": {
            "dimensions": [
                {
                    "id": "f1",
                    "operator": "equals",
                    "target": {"fieldId": "orders_status", "tableName": "orders"},
                    "values": ["completed"],
                }
            ],
            "metrics": [],
            "tableCalculations": [],
        },
    }
    created = parsed(
        create_dashboard.sync_detailed(
            world.project, client=api, body=CreateDashboard.from_dict(body)
        ),
        201,
    ).results
    assert created.space_name == "Sales" and created.dashboard_version_id == 1
    assert [t.type.value for t in created.tiles] == ["saved_chart", "markdown"]
    assert created.tiles[0].properties.saved_chart_uuid == chart["uuid"]
    assert created.tiles[1].properties.title == "Notes"
    assert [f.values for f in created.filters.dimensions] == [["completed"]]
    assert created.access == [] and created.is_private is False and created.views == 0
    listed = parsed(get_dashboards.sync_detailed(world.project, client=api), 200).results
    assert [(d.name, [t.value for t in d.tile_types]) for d in listed] == [
        ("Overview", ["saved_chart", "markdown"])
    ]
    # Made elsewhere without a title: Lightdash's markdown tile requires one, so it shows "".
    plain = {"type": "markdown", "x": 0, "y": 0, "h": 2, "w": 4, "properties": {"content": "x"}}
    notes = world.dashboard("admin", sales["uuid"], "Notes", tiles=[plain])
    move = PickDashboardUuidOrNameOrDescriptionOrSpaceUuid.from_dict(
        {"uuid": created.uuid, "name": "Overview (old)", "spaceUuid": archive["uuid"]}
    )
    also = PickDashboardUuidOrNameOrDescriptionOrSpaceUuid.from_dict(
        {"uuid": notes["uuid"], "name": "Notes", "spaceUuid": archive["uuid"]}
    )
    moved = update_dashboards.sync_detailed(world.project, client=api, body=[move, also])
    after, moved_notes = parsed(moved, 200).results
    assert (after.name, after.space_uuid, after.space_name) == (
        "Overview (old)",
        archive["uuid"],
        "Archive",
    )
    assert moved_notes.tiles[0].properties.title == "" and moved_notes.space_name == "Archive"
    # A dashboard of another project is not this project's to move: nothing changes.
    other_project = make_project(world.runtime, world.org, "Other")
    r = update_dashboards.sync_detailed(other_project, client=api, body=[move])
    assert r.status_code == 404
    got = world.call("admin", "GET", f"/api/v1/dashboards/{created.uuid}").json()["results"]
    assert got["spaceUuid"] == archive["uuid"] and got["dashboardVersionId"] == 2


def test_comments_by_tile(world: World, api: AuthenticatedClient) -> None:
    space = world.space("admin", "Sales")
    tile = {"type": "markdown", "x": 0, "y": 0, "h": 2, "w": 4, "properties": {"content": "Hi"}}
    dashboard = world.dashboard("admin", space["uuid"], tiles=[tile, {**tile, "x": 4}])
    first_tile, second_tile = (t["uuid"] for t in dashboard["tiles"])

    def comment(tile_uuid: str, text: str, **extra: Any) -> str:
        body = PickCommentTextOrReplyToOrMentionsOrTextHtml.from_dict(
            {"text": text, "textHtml": f"<p>{text}</p>", "mentions": [], **extra}
        )
        r = create_comment.sync_detailed(dashboard["uuid"], tile_uuid, client=api, body=body)
        return str(parsed(r, 200).results)

    editor = world.who("editor").uuid
    question = comment(first_tile, "Why the dip?", mentions=[editor])
    comment(first_tile, "Holidays", replyTo=question)
    comment(second_tile, "Looks good")
    keyed = parsed(get_comments.sync_detailed(dashboard["uuid"], client=api), 200).results
    by_tile = keyed.additional_properties
    assert set(by_tile) == {first_tile, second_tile}
    [thread] = by_tile[first_tile]
    assert thread.comment_id == question and thread.text_html == "<p>Why the dip?</p>"
    assert thread.mentions == [editor]
    assert thread.user.name == "Content bot" and thread.can_remove is True
    assert [r.text for r in thread.replies] == ["Holidays"]
    assert [c.text for c in by_tile[second_tile]] == ["Looks good"]
    # Lightdash resolves with an empty body.
    resolved = resolve_comment_op.sync_detailed(dashboard["uuid"], question, client=api)
    assert parsed(resolved, 200).status.value == "ok"
    keyed = parsed(get_comments.sync_detailed(dashboard["uuid"], client=api), 200).results
    assert keyed.additional_properties[first_tile][0].resolved is True
    deleted = delete_comment.sync_detailed(dashboard["uuid"], question, client=api)
    assert parsed(deleted, 200).status.value == "ok"
    keyed = parsed(get_comments.sync_detailed(dashboard["uuid"], client=api), 200).results
    assert set(keyed.additional_properties) == {second_tile}
    unknown_tile = create_comment.sync_detailed(
        dashboard["uuid"],
        "no-such-tile",
        client=api,
        body=PickCommentTextOrReplyToOrMentionsOrTextHtml.from_dict(
            {"text": "x", "textHtml": "x", "mentions": []}
        ),
    )
    assert unknown_tile.status_code == 404


def test_explores_carry_compiled_sql(world: World, api: AuthenticatedClient) -> None:
    summaries = get_explores.sync_detailed(world.project, client=api)
    # The client declares no model for this 200, so it returns the status and body only.
    assert summaries.status_code == 200
    names = [e["name"] for e in json.loads(summaries.content)["results"]]
    assert "orders" in names
    explore = parsed(get_explore.sync_detailed(world.project, "orders", client=api), 200).results
    # Lightdash's adapter list has no DuckDB: its nearest, postgres; `warehouse` says which.
    assert explore.base_table == "orders" and explore.target_database.value == "postgres"
    assert explore.warehouse == "duckdb"
    table = explore.tables.additional_properties["orders"]
    status = table.dimensions.additional_properties["status"]
    count = table.metrics.additional_properties["unique_order_count"]
    rate = table.metrics.additional_properties["fulfillment_rate"]
    # compiledSql is exactly what the compiler emits for the field in a query.
    deployed = next(e for e in demo_explores() if e["name"] == "orders")
    metrics = ["orders_unique_order_count", "orders_fulfillment_rate"]
    compiled = compile_metric_query(
        deployed,
        {"exploreName": "orders", "dimensions": ["orders_status"], "metrics": metrics},
        dialect="duckdb",
        max_limit=5000,
    )
    assert status.compiled_sql == compiled.fields["orders_status"]["compiledSql"]
    assert count.compiled_sql == compiled.fields["orders_unique_order_count"]["compiledSql"]
    assert rate.compiled_sql == compiled.fields["orders_fulfillment_rate"]["compiledSql"]
    assert "COUNT(DISTINCT" in count.compiled_sql.upper()
    assert count.is_auto_generated is False and status.table_label == table.label
    [join] = explore.joined_tables
    assert join.compiled_sql_on == '("customers".customer_id) = ("orders".customer_id)'
    deploy = set_explores.sync_detailed(world.project, client=api, body=demo_explores())
    assert parsed(deploy, 200).status.value == "ok"


def test_content_as_code(world: World, api: AuthenticatedClient) -> None:
    space = world.space("admin", "Sales")
    chart = world.chart("admin", space["uuid"])
    world.dashboard(
        "admin",
        space["uuid"],
        tiles=[
            {
                "type": "saved_chart",
                "x": 0,
                "y": 0,
                "h": 3,
                "w": 6,
                "properties": {"savedChartUuid": chart["uuid"]},
            }
        ],
    )
    charts = parsed(get_charts_as_code.sync_detailed(world.project, client=api), 200).results
    assert [c.slug for c in charts.charts] == [chart["slug"]] and charts.offset == charts.total
    dashboards = parsed(get_dashboards_as_code.sync_detailed(world.project, client=api), 200)
    [document] = dashboards.results.dashboards
    assert document.tiles[0].properties.chart_slug == chart["slug"]
    chart_doc = get_charts_as_code.sync_detailed(world.project, client=api)
    raw = json.loads(chart_doc.content)["results"]["charts"][0]
    upserted = parsed(
        upsert_chart_as_code.sync_detailed(
            world.project,
            chart["slug"],
            client=api,
            body=UpsertChartAsCodeBody.from_dict({**raw, "name": "Revenue (edited)"}),
        ),
        200,
    ).results
    assert [(c.action.value, c.data.name) for c in upserted.charts] == [
        ("update", "Revenue (edited)")
    ]
    raw_dashboard = json.loads(
        get_dashboards_as_code.sync_detailed(world.project, client=api).content
    )["results"]["dashboards"][0]
    same = parsed(
        upsert_dashboard_as_code.sync_detailed(
            world.project,
            raw_dashboard["slug"],
            client=api,
            body=UpsertDashboardAsCodeBody.from_dict(raw_dashboard),
        ),
        200,
    ).results
    assert [d.action.value for d in same.dashboards] == ["no changes"]
