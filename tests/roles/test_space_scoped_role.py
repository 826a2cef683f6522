"""A custom role written in the vocabulary resolves to grants the one access decision evaluates.

"View everything, edit charts only in spaces shared with them":
view:Project, view:Space, view:SavedChart, view:Dashboard, manage:SavedChart@space.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.authz.access import allows, can_see_project, can_see_space, space_role
from lightkeeper.authz.tenancy import project_target, space_targets
from lightkeeper.db import transaction
from lightkeeper.models import Project, Space
from lightkeeper.runtime import Runtime
from tests.roles.helpers import (
    create_role,
    org_assignment_url,
    principal_of,
    project_assignment_url,
)
from tests.support import add_person, add_space, make_org, make_project

SCOPES = [
    "view:Project",
    "view:Space",
    "view:SavedChart",
    "view:Dashboard",
    "manage:SavedChart@space",
]


def _targets(runtime: Runtime, project_uuid: str):  # type: ignore[no-untyped-def]
    with transaction(runtime.sessions) as session:
        project = session.get(Project, project_uuid)
        assert project is not None
        by_name = {
            s.name: s
            for s in session.scalars(select(Space).where(Space.project_uuid == project_uuid))
        }
        targets = space_targets(session, project, list(by_name.values()))
        return project_target(project), {name: targets[row.uuid] for name, row in by_name.items()}


def _world(client: TestClient, runtime: Runtime, *, level: str):  # type: ignore[no-untyped-def]
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    project = make_project(runtime, org, "Analytics")
    ana = add_person(runtime, org, "member", key="ana")
    role = create_role(client, org, admin, "Chart editors where shared", SCOPES)
    url = (
        project_assignment_url(project, ana.uuid)
        if level == "project"
        else org_assignment_url(org, ana.uuid)
    )
    assert client.post(url, json={"roleId": role["roleUuid"]}, headers=admin).status_code == 200
    add_space(runtime, project, "Shared", private=False, shared_with={ana.uuid: "editor"})
    add_space(runtime, project, "Public", private=False)
    add_space(runtime, project, "Read only", private=False, shared_with={ana.uuid: "viewer"})
    add_space(runtime, project, "Private shared", private=True, shared_with={ana.uuid: "editor"})
    add_space(runtime, project, "Private", private=True)
    target, spaces = _targets(runtime, project)
    return principal_of(runtime, ana.uuid), target, spaces


def _check(client: TestClient, runtime: Runtime, level: str) -> None:
    ana, project, spaces = _world(client, runtime, level=level)
    assert can_see_project(ana, project)
    assert allows(ana, "view", "Project", project=project)
    assert not allows(ana, "update", "Project", project=project)

    shared = spaces["Shared"]
    assert space_role(ana, shared) == "editor"
    for action in ("view", "create", "update", "delete"):
        assert allows(ana, action, "SavedChart", project=project, space=shared), action
    # Charts only: dashboards and the space itself stay read-only.
    assert allows(ana, "view", "Dashboard", project=project, space=shared)
    assert not allows(ana, "update", "Dashboard", project=project, space=shared)
    assert not allows(ana, "update", "Space", project=project, space=shared)

    public = spaces["Public"]
    assert can_see_space(ana, public)
    assert space_role(ana, public) is None  # a custom role derives no space role
    assert allows(ana, "view", "SavedChart", project=project, space=public)
    for action in ("create", "update", "delete"):
        assert not allows(ana, action, "SavedChart", project=project, space=public), action

    read_only = spaces["Read only"]
    assert allows(ana, "view", "SavedChart", project=project, space=read_only)
    assert not allows(ana, "update", "SavedChart", project=project, space=read_only)

    private_shared = spaces["Private shared"]
    assert can_see_space(ana, private_shared)
    assert allows(ana, "update", "SavedChart", project=project, space=private_shared)

    private = spaces["Private"]
    assert not can_see_space(ana, private)
    assert not allows(ana, "view", "SavedChart", project=project, space=private)

    assert not allows(ana, "create", "Space", project=project)
    assert not allows(ana, "manage", "DeployProject", project=project)


def test_the_role_at_project_level(client: TestClient, runtime: Runtime) -> None:
    _check(client, runtime, "project")


def test_the_role_at_organization_level(client: TestClient, runtime: Runtime) -> None:
    _check(client, runtime, "organization")
