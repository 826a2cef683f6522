"""The third-party client `lightdash-ops` 0.3.1 against a real server, on both databases.

`lightdash-ops` calls `requests.request` itself (no session to swap for the TestClient), so one
real `lightkeeper serve` per database serves the module, on the test's own database: each test
seeds its organization with the builders of tests/support.py, then builds the client as its users
do, from `LIGHTDASH_URL` and `LIGHTDASH_API_KEY` (its settings), with an admin service account's
token (the client sends `ApiKey <token>`). Every call asserts the values the client parsed.

Not called, because the package cannot run them against any server: `ProjectOperatorV1`
(imports modules 0.3.1 does not ship), `CreateSpaceInProject` (reads a `request_body` its model
has no field for), `OrganizationOperatorV1.get_organization_member_by_uuid` (calls `EmailStr(…)`,
which pydantic 2 refuses) and `GetSpace` (requires a `status` that Lightdash's `Space` does not
have); nor `GetDbtExposures` (Lightkeeper has no `dbt-exposures` route). The user call needs a
person's token, the group list and the space list meet shapes other than the ones it was written
for: docs/decisions.md, "Where Lightkeeper differs from Lightdash", and the README's table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from lightdash_ops.lightdash.services.get_organization_members import (
    GetOrganizationMembersService,
)
from lightdash_ops.lightdash.settings import LightdashOpsSettings
from lightdash_ops.lightdash.v1.client import LightdashClient
from lightdash_ops.lightdash.v1.get_authenticated_user import GetAuthenticatedUser
from lightdash_ops.lightdash.v1.get_explore import GetExplore
from lightdash_ops.lightdash.v1.get_explores import GetExplores
from lightdash_ops.lightdash.v1.get_my_organization import GetOrganization
from lightdash_ops.lightdash.v1.get_organization_member_by_uuid import (
    GetOrganizationMemberByUuid,
)
from lightdash_ops.lightdash.v1.get_project import GetProject
from lightdash_ops.lightdash.v1.list_groups_in_organization import (
    ListGroupsInOrganization,
    ListGroupsInOrganizationApiV1Response,
)
from lightdash_ops.lightdash.v1.list_organization_members import ListOrganizationMembers
from lightdash_ops.lightdash.v1.list_organization_projects import ListOrganizationProjects
from lightdash_ops.lightdash.v1.list_spaces_in_project import ListSpacesInProject
from lightdash_ops.operators.organization_v1 import (
    CachedOrganizationMembers,
    OrganizationOperatorV1,
)
from sqlalchemy import Engine

from lightkeeper.runtime import Runtime
from tests.conftest import TEST_SECRET
from tests.servers import running_server, server_env
from tests.support import (
    Org,
    add_group,
    add_membership,
    add_query_project,
    add_service_account,
    add_space,
    make_org,
)

# One worker runs the module (`make test` uses --dist loadgroup): one server per database.
pytestmark = pytest.mark.xdist_group("lightdash-ops")


@pytest.fixture(scope="module")
def server_url(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`lightkeeper serve` on the test database (the tests' own secret, so their tokens hold)."""
    url = engine.url.render_as_string(hide_password=False)
    env = server_env(tmp_path_factory.mktemp("lightdash-ops"), url, LIGHTDASH_SECRET=TEST_SECRET)
    with running_server(env) as server:
        yield server.url


@dataclass
class World:
    org: Org
    client: LightdashClient
    bot_uuid: str
    project: str
    space: str
    private_space: str
    group: str


@pytest.fixture
def world(runtime: Runtime, server_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    org = make_org(runtime, "Acme", roles=("admin", "editor", "viewer"))
    project = add_query_project(runtime, org, "Analytics", None)
    add_membership(runtime, project, org.people["viewer"].uuid, "viewer")
    space = add_space(runtime, project, "Board", shared_with={org.people["editor"].uuid: "editor"})
    private_space = add_space(
        runtime, project, "Drafts", private=True, created_by=org.people["admin"].uuid
    )
    group = add_group(runtime, org, "Analysts", members=(org.people["editor"].uuid,))
    bot = add_service_account(runtime, org, "lightdash-ops", role="admin")
    # How lightdash-ops is configured: its settings read these (or a .env file).
    # lightdash-ops keeps the member list in a class attribute for the life of the process (one
    # organization per process, as its CLI runs): each test's organization starts it afresh.
    monkeypatch.setattr(CachedOrganizationMembers, "_CachedOrganizationMembers__members", None)
    monkeypatch.setenv("LIGHTDASH_URL", server_url + "/")
    monkeypatch.setenv("LIGHTDASH_API_KEY", bot.token)
    settings = LightdashOpsSettings()
    client = LightdashClient(
        base_url=settings.LIGHTDASH_URL, token=settings.LIGHTDASH_API_KEY, timeout=30
    )
    return World(org, client, bot.principal_uuid, project, space, private_space, group)


def test_the_authenticated_user_and_the_organization(world: World) -> None:
    admin = world.org.people["admin"]
    # Its user model requires an email, which a service account has none of (Lightdash's
    # `LightdashUser.email` is optional): the user call works with a person's token.
    person = LightdashClient(base_url=world.client.base_url, token=admin.token)
    me = GetAuthenticatedUser(client=person).request()
    assert (me.userUuid, me.email, me.firstName, me.lastName) == (
        admin.uuid,
        admin.email,
        "Admin",
        "Tester",
    )
    assert (me.organizationUuid, me.organizationName) == (world.org.uuid, "Acme")
    assert (me.role, me.isActive) == ("admin", True)
    assert me.isSetupComplete is True
    with pytest.raises(ValueError, match="Error processing response"):
        GetAuthenticatedUser(client=world.client).request()
    org = GetOrganization(client=world.client).request()
    assert (org.organizationUuid, org.name) == (world.org.uuid, "Acme")


def test_members_a_page_at_a_time_all_of_them_and_one_by_uuid(world: World) -> None:
    people = {p.email: p for p in world.org.people.values()}
    page = ListOrganizationMembers(client=world.client).request(page_size=2, page=1)
    assert page.status == "ok"
    assert len(page.members) == 2
    # The service walks pages until one comes back empty: past the last, Lightdash's is empty.
    members = GetOrganizationMembersService(client=world.client).get_all_members(page_size=2)
    assert {m.email: (m.user_uuid, m.role, m.is_active) for m in members} == {
        email: (p.uuid, p.role, True) for email, p in people.items()
    }
    operator = OrganizationOperatorV1(client=world.client)
    assert {str(m.email) for m in operator.get_organization_members()} == set(people)
    viewer = world.org.people["viewer"]
    found = operator.get_organization_member_by_email(viewer.email)
    assert found is not None and found.user_uuid == viewer.uuid and found.role == "viewer"
    one = GetOrganizationMemberByUuid(client=world.client).request(user_uuid=viewer.uuid)
    assert (one.userUuid, one.email, one.role, one.isActive) == (
        viewer.uuid,
        viewer.email,
        "viewer",
        True,
    )
    assert one.organizationUuid == world.org.uuid
    assert (one.firstName, one.lastName) == ("Viewer", "Tester")


def test_projects_and_one_project(world: World) -> None:
    [listed] = ListOrganizationProjects(client=world.client).request().projects
    assert (listed.projectUuid, listed.name, listed.type) == (world.project, "Analytics", "DEFAULT")
    assert listed.requireUserCredentials is False
    [project] = OrganizationOperatorV1(client=world.client).get_projects()
    assert (project.uuid, project.name, project.type) == (world.project, "Analytics", "DEFAULT")
    detail = GetProject(client=world.client).request(projectUuid=world.project)
    assert (detail.projectUuid, detail.name, detail.type) == (world.project, "Analytics", "DEFAULT")
    assert detail.organizationUuid == world.org.uuid


def test_the_space_list_has_the_specs_access_objects_not_lightdashs_uuids(
    world: World, server_url: str
) -> None:
    """lightdash-ops reads a space summary's `access` as user uuids (Lightdash's `SpaceSummary`)
    and requires `userAccess`; Lightkeeper's spec fixes `access` as share objects (docs/
    decisions.md), so its space list does not parse, and the values it wants are all there."""
    with pytest.raises(ValueError, match="Failed to parse spaces"):
        ListSpacesInProject(client=world.client).request(project_uuid=world.project)
    spaces = _results(world, server_url, f"/api/v1/projects/{world.project}/spaces")
    by_name = {s["name"]: s for s in spaces}
    assert set(by_name) == {"Board", "Drafts"}
    board, drafts = by_name["Board"], by_name["Drafts"]
    assert (board["uuid"], board["slug"], board["isPrivate"]) == (world.space, "board", False)
    assert (drafts["uuid"], drafts["isPrivate"]) == (world.private_space, True)
    assert {board["organizationUuid"], drafts["organizationUuid"]} == {world.org.uuid}
    assert [a["userUuid"] for a in board["access"]] == [world.org.people["editor"].uuid]


def _results(world: World, server_url: str, path: str) -> Any:
    response = httpx.get(
        server_url + path, headers={"Authorization": f"ApiKey {world.client.token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_explores_and_one_explore(world: World) -> None:
    explores = GetExplores(client=world.client).request(projectUuid=world.project).explores
    names = {e.name for e in explores}
    assert "orders" in names
    orders = next(e for e in explores if e.name == "orders")
    assert orders.label and orders.schemaName and orders.databaseName
    explore = GetExplore(client=world.client).request(projectUuid=world.project, exploreId="orders")
    assert (explore.name, explore.baseTable) == ("orders", "orders")
    assert explore.tables is not None and "orders" in explore.tables


def test_the_group_list_is_lightdashs_current_page_not_the_old_plain_array(
    world: World, server_url: str
) -> None:
    """lightdash-ops parses `results` as a plain list of groups, as an older Lightdash sent it;
    Lightdash's current `ApiGroupListResponse` is a page `{data, pagination}`, and so is
    Lightkeeper's. Each group in it parses into the client's own group model."""
    with pytest.raises(TypeError):
        ListGroupsInOrganization(client=world.client).request()
    page = _results(world, server_url, "/api/v1/org/groups")
    [group] = [ListGroupsInOrganizationApiV1Response.Group(**g) for g in page["data"]]
    assert (group.uuid, group.name, group.organizationUuid) == (
        world.group,
        "Analysts",
        world.org.uuid,
    )
    assert group.createdAt


def _cli(world: World, tmp_path: Path, *args: str) -> Any:
    """`lightdash-ops …` as its users run it: configured from the environment, JSON on stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTDASH_")}
    env.update(LIGHTDASH_URL=world.client.base_url, LIGHTDASH_API_KEY=world.client.token)
    done = subprocess.run(
        [sys.executable, "-m", "lightdash_ops.cli.main", *args],
        env=env,
        cwd=tmp_path,  # no .env of ours for its settings to read
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_its_command_line_lists_projects_and_members(world: World, tmp_path: Path) -> None:
    assert _cli(world, tmp_path, "organization", "get-projects") == [
        {"type": "DEFAULT", "name": "Analytics", "uuid": world.project}
    ]
    viewer = world.org.people["viewer"]
    assert _cli(world, tmp_path, "organization", "get-members", "--role", "viewer") == [
        {"user_uuid": viewer.uuid, "email": viewer.email, "role": "viewer", "is_active": True}
    ]
    everyone = _cli(world, tmp_path, "organization", "get-members")
    assert sorted(m["email"] for m in everyone) == sorted(
        p.email for p in world.org.people.values()
    )
