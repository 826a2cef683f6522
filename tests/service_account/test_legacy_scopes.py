"""Legacy SA scopes: org:read (alias org:view) is truly read-only; org:edit edits content.

The content endpoints are not there yet, so this asks the access decision
itself (`authz.access`) with the principal authentication builds for the SA.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.auth.principal import Principal
from lightkeeper.auth.service import principal_for_user
from lightkeeper.authz.access import ProjectTarget, SpaceTarget, allows, allows_org, can_see_space
from lightkeeper.db import transaction
from lightkeeper.models import ServiceAccount, User
from lightkeeper.runtime import Runtime
from tests.service_account.helpers import URL, bearer, created, error
from tests.support import make_org, make_project

CONTENT = ("Space", "SavedChart", "Dashboard", "DashboardComments", "ContentAsCode")
WRITES = ("create", "update", "delete", "manage")


def _principal(runtime: Runtime, sa_uuid: str) -> Principal:
    with transaction(runtime.sessions) as session:
        account = session.scalar(select(ServiceAccount).where(ServiceAccount.uuid == sa_uuid))
        assert account is not None
        user = session.get(User, account.user_uuid)
        assert user is not None
        return principal_for_user(
            runtime, session, user, credential="service_account", service_account=account
        )


def _targets(org_uuid: str, project_uuid: str) -> tuple[ProjectTarget, SpaceTarget, SpaceTarget]:
    project = ProjectTarget(project_uuid, org_uuid, "DEFAULT", None)
    public = SpaceTarget("public-space", project, is_private=False, created_by_user_uuid=None)
    private = SpaceTarget("private-space", project, is_private=True, created_by_user_uuid=None)
    return project, public, private


@pytest.mark.parametrize("scope", ["org:read", "org:view"])
def test_org_read_is_truly_read_only(client: TestClient, runtime: Runtime, scope: str) -> None:
    org = make_org(runtime, "Acme")
    project_uuid = make_project(runtime, org, "Jaffle")
    sa = created(client, org.people["admin"].headers, scopes=[scope])
    assert sa["scopes"] == [scope]
    principal = _principal(runtime, sa["uuid"])
    assert principal.role == "viewer" and principal.is_service_account
    project, public, private = _targets(org.uuid, project_uuid)

    assert allows(principal, "view", "Project", project=project)
    for subject in ("SavedChart", "Dashboard", "Space"):
        assert allows(principal, "view", subject, project=project, space=public), subject
    assert allows(principal, "view", "DashboardComments", project=project, space=public)
    assert not can_see_space(principal, private)
    for subject in CONTENT:
        for action in WRITES:
            assert not allows(principal, action, subject, project=project, space=public), (
                action,
                subject,
            )
    assert not allows(principal, "view", "ContentAsCode", project=project)  # not even download
    for action in ("update", "delete", "manage"):
        assert not allows(principal, action, "Project", project=project)
    assert not allows(principal, "manage", "DeployProject", project=project)
    assert not allows(principal, "create", "Project", project=project, creating_preview=True)
    assert not allows_org(principal, "manage", "Organization")
    assert not allows_org(principal, "create", "Project")
    # And over HTTP: not an organization manager.
    assert error(client.get(URL, headers=bearer(sa["token"]))) == (
        403,
        "You do not have permission",
    )


def test_org_edit_edits_content_and_uploads_as_code(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    project_uuid = make_project(runtime, org, "Jaffle")
    sa = created(client, org.people["admin"].headers, scopes=["org:edit"])
    principal = _principal(runtime, sa["uuid"])
    assert principal.role == "editor"
    project, public, private = _targets(org.uuid, project_uuid)

    for subject in ("SavedChart", "Dashboard"):
        for action in ("view", "create", "update", "delete"):
            assert allows(principal, action, subject, project=project, space=public), (
                action,
                subject,
            )
    assert allows(principal, "create", "Space", project=project)
    assert allows(principal, "update", "Space", project=project, space=public)
    assert allows(principal, "manage", "DashboardComments", project=project, space=public)
    for action in ("view", "create", "update", "manage"):  # download and upload (overwrite)
        assert allows(principal, action, "ContentAsCode", project=project), action
    # Still not an admin: no private spaces of others, no deploys, no organization management.
    assert not can_see_space(principal, private)
    assert not allows(principal, "manage", "DeployProject", project=project)
    assert not allows(principal, "delete", "Project", project=project)
    assert not allows_org(principal, "manage", "Organization")


def test_org_admin_and_unions(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    project_uuid = make_project(runtime, org, "Jaffle")
    project, public, private = _targets(org.uuid, project_uuid)
    admin_sa = created(client, org.people["admin"].headers, scopes=["org:admin"])
    admin = _principal(runtime, admin_sa["uuid"])
    assert admin.role == "admin"
    assert allows_org(admin, "manage", "Organization")
    assert allows(admin, "manage", "DeployProject", project=project)
    assert allows(admin, "create", "Project", project=project, creating_preview=True)
    assert can_see_space(admin, private)
    assert allows(admin, "manage", "ContentAsCode", project=project)

    both = created(client, org.people["admin"].headers, scopes=["org:read", "org:edit"])
    union = _principal(runtime, both["uuid"])
    assert union.role == "editor"
    assert allows(union, "manage", "ContentAsCode", project=project)
    assert allows(union, "update", "SavedChart", project=project, space=public)
