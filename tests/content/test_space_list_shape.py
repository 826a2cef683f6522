"""`GET /api/v1/projects/{p}/spaces` is Lightdash's `SpaceSummary[]`, field for field."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from lightdash_client.models.space_summary import SpaceSummary

from lightkeeper.content.repository import SPACE_LIST
from lightkeeper.kit.schemas import CamelModel, UTCTime, ok_bytes
from lightkeeper.runtime import Runtime
from tests.support import (
    add_chart,
    add_dashboard,
    add_group,
    add_space,
    make_org,
    make_project,
)


def test_the_generated_client_parses_the_list_with_the_right_values(
    client: TestClient, runtime: Runtime
) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "editor", "viewer", "member"))
    admin, editor, viewer, member = (
        acme.people[k] for k in ("admin", "editor", "viewer", "member")
    )
    project = make_project(runtime, acme, "Analytics")
    public = add_space(runtime, project, "Public", created_by=admin.uuid)
    board = add_space(
        runtime,
        project,
        "Board",
        private=True,
        created_by=editor.uuid,
        shared_with={viewer.uuid: "viewer"},
    )
    nested = add_space(runtime, project, "Board minutes", parent=board, created_by=admin.uuid)
    secret = add_space(runtime, project, "Secret", private=True, created_by=admin.uuid)
    add_group(runtime, acme, "Auditors", members=(member.uuid,), space_roles={secret: "viewer"})
    first = add_chart(runtime, project, public, "Revenue")
    add_chart(runtime, project, public, "Orders")
    add_chart(runtime, project, nested, "Minutes")
    add_dashboard(runtime, project, public, "Sales", [first])

    by_admin = client.get(f"/api/v1/projects/{project}/spaces", headers=admin.headers)
    assert by_admin.status_code == 200
    parsed = [SpaceSummary.from_dict(item) for item in by_admin.json()["results"]]

    assert [s.name for s in parsed] == ["Board", "Board minutes", "Public", "Secret"]
    spaces = {s.uuid: s for s in parsed}
    for space in parsed:
        assert space.project_uuid == project
        assert space.organization_uuid == acme.uuid
        assert space.pinned_list_uuid is None and space.pinned_list_order is None
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", space["createdAt"])
        assert sorted(space.additional_keys) == ["createdAt", "parentSpaceUuid"]
    assert (spaces[public].chart_count, spaces[public].dashboard_count) == (2, 1)
    assert (spaces[nested].chart_count, spaces[nested].dashboard_count) == (1, 0)
    assert (spaces[board].chart_count, spaces[board].dashboard_count) == (0, 0)
    assert spaces[public].is_private is False and spaces[public].access == []
    # A private space: its creator (its admin) and the people it is shared with, as the spec's
    # access objects (the generated client reads the field without looking inside).
    assert spaces[board].is_private is True
    who = {(a["userUuid"], a["role"], a["firstName"]) for a in spaces[board].access}
    assert {(u, r) for u, r, _name in who} == {(editor.uuid, "admin"), (viewer.uuid, "viewer")}
    assert all(name for _u, _r, name in who)
    # A nested space takes its root's access.
    assert spaces[nested].is_private is True
    assert spaces[nested].access == spaces[board].access
    assert spaces[nested]["parentSpaceUuid"] == board
    assert spaces[board]["parentSpaceUuid"] is None
    # A group's share is not a person's: the group's members are not named.
    assert [a["userUuid"] for a in spaces[secret].access] == [admin.uuid]

    def names(person_headers: dict[str, str]) -> list[str]:
        r = client.get(f"/api/v1/projects/{project}/spaces", headers=person_headers)
        assert r.status_code == 200
        return [SpaceSummary.from_dict(item).name for item in r.json()["results"]]

    assert names(viewer.headers) == ["Board", "Board minutes", "Public"]
    assert names(editor.headers) == ["Board", "Board minutes", "Public"]
    # A member without a project role sees no project, so no space of it either.
    assert (
        client.get(f"/api/v1/projects/{project}/spaces", headers=member.headers).status_code == 404
    )


def test_a_group_share_opens_a_private_space_to_the_groups_members(
    client: TestClient, runtime: Runtime
) -> None:
    acme = make_org(runtime, "Acme", roles=("admin", "viewer"))
    admin, viewer = acme.people["admin"], acme.people["viewer"]
    project = make_project(runtime, acme, "Analytics")
    board = add_space(runtime, project, "Board", private=True, created_by=admin.uuid)
    add_space(runtime, project, "Other board", private=True, created_by=admin.uuid)
    add_group(runtime, acme, "Board members", members=(viewer.uuid,), space_roles={board: "viewer"})

    listed = client.get(f"/api/v1/projects/{project}/spaces", headers=viewer.headers).json()

    assert [SpaceSummary.from_dict(s).uuid for s in listed["results"]] == [board]


class PreviousSpace(CamelModel):
    """The fields of the list's items that did not change (written by pydantic-core before)."""

    uuid: str
    name: str
    slug: str
    is_private: bool
    parent_space_uuid: str | None
    project_uuid: str
    created_at: UTCTime


def test_the_fields_that_did_not_change_keep_their_bytes(
    client: TestClient, runtime: Runtime
) -> None:
    acme = make_org(runtime, "Acme")
    project = make_project(runtime, acme, "Analytics")
    root = add_space(
        runtime, project, 'Ünïcode "quoted" \\ space', created_by=acme.people["admin"].uuid
    )
    add_space(runtime, project, "Nested", parent=root)

    listed = client.get(f"/api/v1/projects/{project}/spaces", headers=acme.people["admin"].headers)

    items = listed.json()["results"]
    assert len(items) == 2
    # Each item starts with the unchanged fields, in their old order, with their old bytes.
    prefixes = re.findall(rb'\{"uuid".*?(?=,"organizationUuid")', listed.content)
    expected = ok_bytes(list[PreviousSpace], [PreviousSpace.model_validate(i) for i in items])
    assert [p + b"}" for p in prefixes] == re.findall(rb'\{"uuid".*?\}', expected)


def test_another_organizations_project_reads_no_row(client: TestClient, runtime: Runtime) -> None:
    """The statement itself keeps to the caller's organization, the spaces' rows included."""
    acme, globex = make_org(runtime, "Acme"), make_org(runtime, "Globex")
    theirs = make_project(runtime, globex, "Theirs")
    add_space(runtime, theirs, "Secret plans")
    in_acme = {"project_uuid": theirs, "organization_uuid": acme.uuid}
    in_globex = {"project_uuid": theirs, "organization_uuid": globex.uuid}
    with runtime.sessions() as session:
        assert SPACE_LIST.run(session, in_acme) == []
        assert len(SPACE_LIST.run(session, in_globex)) == 2  # the project's row and its space
    listed = client.get(f"/api/v1/projects/{theirs}/spaces", headers=acme.people["admin"].headers)
    assert listed.status_code == 404
