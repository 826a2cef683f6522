"""`GET /api/v1/org/users?includeGroups=N`: each member carries (up to N of) their groups, as
Lightdash's `OrganizationMemberProfileWithGroups`; without it the rows are as before."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from lightkeeper.runtime import Runtime
from tests.support import Person, add_group, make_org


def _members(client: TestClient, person: Person, query: str) -> Any:
    response = client.get(f"/api/v1/org/users{query}", headers=person.headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def _rows(results: Any) -> list[dict[str, Any]]:
    return results["data"] if isinstance(results, dict) else results


def test_members_carry_their_groups_when_asked(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor", "viewer"))
    admin, editor, viewer = org.people["admin"], org.people["editor"], org.people["viewer"]
    writers = add_group(runtime, org, "Writers", members=(editor.uuid,))
    analysts = add_group(runtime, org, "Analysts", members=(editor.uuid, viewer.uuid))
    other = make_org(runtime, "Globex")
    add_group(runtime, other, "Elsewhere", members=(other.people["admin"].uuid,))

    # The generated client sends numbers as floats (`10000.0`, the web app's value).
    listed = _rows(_members(client, admin, "?includeGroups=10000.0"))

    groups = {row["userUuid"]: row["groups"] for row in listed}
    assert groups == {
        admin.uuid: [],
        editor.uuid: [{"uuid": analysts, "name": "Analysts"}, {"uuid": writers, "name": "Writers"}],
        viewer.uuid: [{"uuid": analysts, "name": "Analysts"}],
    }
    # A page of members, each with at most N groups (by name).
    page = _rows(_members(client, admin, "?includeGroups=1&page=1&pageSize=10"))
    assert {row["userUuid"]: row["groups"] for row in page}[editor.uuid] == [
        {"uuid": analysts, "name": "Analysts"}
    ]


def test_without_include_groups_the_rows_have_no_groups(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    add_group(runtime, org, "Analysts", members=(org.people["viewer"].uuid,))

    for query in ("", "?page=1", "?includeGroups=0"):  # 0 asks for none, as in Lightdash
        assert all(
            "groups" not in row for row in _rows(_members(client, org.people["admin"], query))
        )


def test_a_bad_include_groups_is_a_400_naming_it(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    for value in ("some", "-1", "1.5"):
        response = client.get(
            f"/api/v1/org/users?includeGroups={value}", headers=org.people["admin"].headers
        )
        assert response.status_code == 400
        assert "includeGroups" in response.json()["error"]["data"]["fields"]
