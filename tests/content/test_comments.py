"""Dashboard comments: who reads, writes, resolves and deletes."""

from __future__ import annotations

from lightkeeper.models import DashboardComment
from tests.content.helpers import World
from tests.support import audit_events, count_rows, make_org


def setup_dashboard(world: World, private: bool = False) -> tuple[str, str]:
    space = world.space("admin", "Sales", isPrivate=private)
    tile = {"type": "markdown", "x": 0, "y": 0, "h": 2, "w": 4, "properties": {"content": "# Hi"}}
    dashboard = world.dashboard("admin", space["uuid"], tiles=[tile])
    return dashboard["uuid"], dashboard["tiles"][0]["uuid"]


def test_comment_rules(world: World) -> None:
    dashboard, tile_uuid = setup_dashboard(world)
    path = f"/api/v1/comments/dashboards/{dashboard}"
    assert world.call("viewer", "POST", path, json={"text": "nice"}).status_code == 403
    r = world.call(
        "interactive_viewer",
        "POST",
        path,
        json={"text": "Why the dip?", "dashboardTileUuid": tile_uuid},
    )
    assert r.status_code == 200, r.text
    comment = r.json()["results"]
    assert comment["text"] == "Why the dip?" and comment["dashboardTileUuid"] == tile_uuid
    assert comment["resolved"] is False and comment["canRemove"] is True
    assert comment["user"]["userUuid"] == world.who("interactive_viewer").uuid
    reply = world.call(
        "editor", "POST", path, json={"text": "Holidays", "replyTo": comment["uuid"]}
    ).json()["results"]
    assert reply["replyTo"] == comment["uuid"] and reply["dashboardTileUuid"] == tile_uuid
    # Lightdash's container: comments keyed by tile, replies under their comment.
    listed = world.call("viewer", "GET", path).json()["results"]
    assert list(listed) == [tile_uuid]
    [thread] = listed[tile_uuid]
    assert (
        thread["text"] == "Why the dip?" and thread["user"]["name"] == "Interactive_Viewer Tester"
    )
    assert [r["text"] for r in thread["replies"]] == ["Holidays"]
    assert [thread["canRemove"], thread["replies"][0]["canRemove"]] == [False, False]
    # Resolving is moderation.
    comment_path = f"{path}/{comment['uuid']}"
    assert (
        world.call("interactive_viewer", "PATCH", comment_path, json={"resolved": True}).status_code
        == 403
    )
    r = world.call("editor", "PATCH", comment_path, json={"resolved": True})
    assert r.status_code == 200 and r.json()["results"]["resolved"] is True
    # Authors delete their own; others need manage:DashboardComments.
    assert world.call("interactive_viewer", "DELETE", f"{path}/{reply['uuid']}").status_code == 403
    other = world.call("interactive_viewer", "POST", path, json={"text": "mine"}).json()["results"]
    assert world.call("interactive_viewer", "DELETE", f"{path}/{other['uuid']}").status_code == 200
    assert (
        world.call("editor", "DELETE", comment_path).status_code == 200
    )  # the thread goes with it
    assert count_rows(world.runtime, DashboardComment) == 0
    assert world.call("editor", "DELETE", comment_path).status_code == 404
    assert len(audit_events(world.runtime, "dashboard_comment.created")) == 3
    assert len(audit_events(world.runtime, "dashboard_comment.deleted")) == 2
    assert audit_events(world.runtime, "dashboard_comment.updated")[0].details["after"] == {
        "resolved": True
    }


def test_comment_references_are_checked(world: World) -> None:
    dashboard, _tile = setup_dashboard(world)
    path = f"/api/v1/comments/dashboards/{dashboard}"
    assert (
        world.call(
            "editor", "POST", path, json={"text": "x", "dashboardTileUuid": "nope"}
        ).status_code
        == 404
    )
    r = world.call(
        "editor",
        "POST",
        path,
        json={"text": "x", "replyTo": "00000000-0000-4000-8000-000000000000"},
    )
    assert r.status_code == 404
    assert world.call("editor", "POST", path, json={"text": "   "}).status_code == 400
    # Mentions name people of the organization; Lightdash's rich text is kept as sent.
    stranger = make_org(world.runtime, "Globex").people["admin"].uuid
    r = world.call("editor", "POST", path, json={"text": "cc", "mentions": [stranger]})
    assert r.status_code == 400 and stranger in r.json()["error"]["message"]
    viewer = world.who("viewer").uuid
    r = world.call(
        "editor",
        "POST",
        path,
        json={"text": "cc", "textHtml": "<p>cc <b>@Viewer</b></p>", "mentions": [viewer]},
    )
    assert r.status_code == 200, r.text
    made = r.json()["results"]
    assert made["mentions"] == [viewer] and made["textHtml"] == "<p>cc <b>@Viewer</b></p>"
    plain = world.call("editor", "POST", path, json={"text": "a < b"}).json()["results"]
    assert plain["textHtml"] == "<p>a &lt; b</p>" and plain["mentions"] == []


def test_comments_on_an_invisible_dashboard_are_404(world: World) -> None:
    dashboard, _tile = setup_dashboard(world, private=True)
    path = f"/api/v1/comments/dashboards/{dashboard}"
    assert world.call("admin", "POST", path, json={"text": "board only"}).status_code == 200
    for key in ("editor", "viewer"):
        assert world.call(key, "GET", path).status_code == 404
        assert world.call(key, "POST", path, json={"text": "x"}).status_code == 404


def test_a_comment_on_the_dashboard_itself_is_keyed_by_the_empty_string(world: World) -> None:
    dashboard, tile_uuid = setup_dashboard(world)
    path = f"/api/v1/comments/dashboards/{dashboard}"
    assert world.call("editor", "POST", path, json={"text": "Overall fine"}).status_code == 200
    r = world.call("editor", "POST", f"{path}/{tile_uuid}", json={"text": "This tile"})
    assert r.status_code == 200
    on_tile_id = r.json()["results"]  # Lightdash's route answers the new comment's id
    listed = world.call("viewer", "GET", path).json()["results"]
    assert [c["text"] for c in listed[""]] == ["Overall fine"]
    assert [c["commentId"] for c in listed[tile_uuid]] == [on_tile_id]
    assert "replyTo" not in listed[""][0]  # optional in Lightdash's type: absent, not null
