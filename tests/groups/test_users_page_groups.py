"""The Groups section of the Users settings page: the same services as the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lightkeeper.models import Group, GroupMembership
from lightkeeper.runtime import Runtime
from tests.support import add_group, audit_events, count_rows, make_org, make_project
from tests.web.helpers import login

PAGE = "/generalSettings/users"


def test_an_admin_creates_fills_and_deletes_a_group(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    viewer = org.people["viewer"]
    token = login(client, org.people["admin"])

    created = client.post(PAGE + "/groups", data={"csrf_token": token, "name": " Analysts "})
    assert created.status_code == 200
    assert "Group created." in created.text
    assert "Analysts" in created.text
    assert count_rows(runtime, Group, name="Analysts") == 1
    (event,) = audit_events(runtime, "group.created")
    group = event.target_uuid

    added = client.post(
        PAGE + f"/groups/{group}/members", data={"csrf_token": token, "user_uuid": viewer.uuid}
    )
    assert "Member added to the group." in added.text
    assert count_rows(runtime, GroupMembership, group_uuid=group, user_uuid=viewer.uuid) == 1
    assert f"/groups/{group}/members/{viewer.uuid}/remove" in added.text

    removed = client.post(
        PAGE + f"/groups/{group}/members/{viewer.uuid}/remove", data={"csrf_token": token}
    )
    assert "Member removed from the group." in removed.text
    assert count_rows(runtime, GroupMembership) == 0

    deleted = client.post(PAGE + f"/groups/{group}/delete", data={"csrf_token": token})
    assert "Group deleted." in deleted.text
    assert count_rows(runtime, Group) == 0


def test_refusals_show_the_page_again_with_the_reason(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    add_group(runtime, org, "Analysts")
    token = login(client, org.people["admin"])

    blank = client.post(PAGE + "/groups", data={"csrf_token": token, "name": "  "})
    assert blank.status_code == 400
    assert "Give the group a name" in blank.text
    clash = client.post(PAGE + "/groups", data={"csrf_token": token, "name": "analysts"})
    assert clash.status_code == 409
    assert "already exists" in clash.text
    assert count_rows(runtime, Group) == 1


def test_people_without_manage_group_see_no_group_controls(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    project = make_project(runtime, org, "Analytics")
    group = add_group(runtime, org, "Secret admins", project_roles={project: "admin"})
    editor = org.people["editor"]
    token = login(client, editor)

    page = client.get(PAGE).text
    assert "Secret admins" not in page
    assert 'action="/generalSettings/users/groups"' not in page
    joined = client.post(
        PAGE + f"/groups/{group}/members", data={"csrf_token": token, "user_uuid": editor.uuid}
    )
    assert joined.status_code == 404
    assert count_rows(runtime, GroupMembership) == 0
