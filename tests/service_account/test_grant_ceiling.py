"""Nobody grants more than they hold: org roles, custom roles and project grants (403)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response

from lightkeeper.runtime import Runtime
from tests.service_account.helpers import CEILING, URL, create, created, error
from tests.support import (
    Org,
    Person,
    add_custom_role,
    add_membership,
    add_person,
    bind_org_role,
    make_org,
    make_project,
)

VIEWER_SCOPES = [
    "view:Project",
    "view:Space",
    "view:SavedChart",
    "view:Dashboard",
    "view:DashboardComments",
]


def _manager(runtime: Runtime, org: Org, extra: list[str]) -> Person:
    """A person who may manage the organization, holding `extra` on every project, nothing more."""
    person = add_person(runtime, org, "member", key="manager")
    role = add_custom_role(runtime, org, "Manager", ["manage:Organization", *extra])
    bind_org_role(runtime, person.uuid, role)
    return person


def test_org_roles_within_the_callers_holdings(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    manager = _manager(runtime, org, VIEWER_SCOPES)
    # A viewer's scopes are all held org-wide: allowed.
    assert create(client, manager.headers, scopes=["system:viewer"]).status_code == 201
    assert create(client, manager.headers, scopes=["org:read"]).status_code == 201
    assert create(client, manager.headers, scopes=["org:view"]).status_code == 201
    for scopes in (
        ["system:admin"],
        ["system:editor"],
        ["system:interactive_viewer"],
        ["org:edit"],
        ["org:admin"],
        ["org:read", "org:edit"],
    ):
        assert error(create(client, manager.headers, scopes=scopes)) == (403, CEILING), scopes
    # The org admin may grant anything.
    assert create(client, org.people["admin"].headers, scopes=["system:admin"]).status_code == 201


def test_org_edit_needs_manage_content_as_code(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    editor_scopes = [
        *VIEWER_SCOPES,
        "create:DashboardComments",
        "manage:SavedChart@space",
        "manage:Dashboard@space",
        "manage:Space@assigned",
        "manage:Explore",
        "create:Space",
        "manage:Space@public",
        "manage:DashboardComments",
        "view:ContentAsCode",
        "create:ContentAsCode",
    ]
    manager = _manager(runtime, org, editor_scopes)
    assert create(client, manager.headers, scopes=["system:editor"]).status_code == 201
    assert error(create(client, manager.headers, scopes=["org:edit"])) == (403, CEILING)


def test_custom_roles_within_the_callers_holdings(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    manager = _manager(runtime, org, ["view:Project"])
    small = add_custom_role(runtime, org, "Small", ["view:Project", "view:Organization"])
    big = add_custom_role(runtime, org, "Big", ["view:Project", "manage:DeployProject"])
    org_level = add_custom_role(runtime, org, "Inviter", ["manage:InviteLink"])
    assert create(client, manager.headers, roleUuid=small).status_code == 201
    assert error(create(client, manager.headers, roleUuid=big)) == (403, CEILING)
    assert error(create(client, manager.headers, roleUuid=org_level)) == (403, CEILING)
    assert create(client, org.people["admin"].headers, roleUuid=big).status_code == 201


def test_project_grants_within_what_the_caller_holds_there(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    mine, theirs = make_project(runtime, org, "Mine"), make_project(runtime, org, "Theirs")
    manager = _manager(runtime, org, [])
    add_membership(runtime, mine, manager.uuid, "editor")

    def grant(project: str, **role: str) -> Response:
        access = [{"projectUuid": project, **role}]
        return create(client, manager.headers, scopes=["system:member"], projectAccess=access)

    assert grant(mine, role="viewer").status_code == 201
    assert grant(mine, role="editor").status_code == 201
    assert error(grant(mine, role="developer")) == (403, CEILING)
    assert error(grant(mine, role="admin")) == (403, CEILING)
    # A project the caller cannot see is unknown to it.
    assert error(grant(theirs, role="viewer")) == (404, f"Project {theirs} not found")
    small = add_custom_role(runtime, org, "Reader", ["view:Project", "view:SavedChart"])
    deploy = add_custom_role(runtime, org, "Deployer", ["view:Project", "manage:DeployProject"])
    assert grant(mine, roleUuid=small).status_code == 201
    assert error(grant(mine, roleUuid=deploy)) == (403, CEILING)


def test_edit_is_checked_too(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Jaffle")
    manager = _manager(runtime, org, VIEWER_SCOPES)
    sa = created(client, manager.headers, scopes=["system:viewer"])
    path = f"{URL}/{sa['uuid']}"
    assert error(
        client.patch(
            path, json={"description": "x", "scopes": ["system:admin"]}, headers=manager.headers
        )
    ) == (403, CEILING)
    assert error(
        client.patch(
            path,
            json={"description": "x", "projectAccess": [{"projectUuid": project, "role": "admin"}]},
            headers=manager.headers,
        )
    ) == (403, CEILING)
    # Nothing changed.
    got = client.get(path, headers=manager.headers).json()["results"]
    assert got["scopes"] == ["system:viewer"] and got["description"] == "CI deploys"
    assert (
        client.patch(
            path,
            json={
                "description": "x",
                "projectAccess": [{"projectUuid": project, "role": "viewer"}],
            },
            headers=manager.headers,
        ).status_code
        == 200
    )


def test_a_service_account_caller_is_bounded_too(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    role = add_custom_role(runtime, org, "SA manager", ["manage:Organization", *VIEWER_SCOPES])
    sa = created(client, org.people["admin"].headers, roleUuid=role)
    headers = {"Authorization": f"Bearer {sa['token']}"}
    assert create(client, headers, scopes=["system:viewer"]).status_code == 201
    assert error(create(client, headers, scopes=["system:admin"])) == (403, CEILING)
    assert client.get(URL, headers=headers).status_code == 200
