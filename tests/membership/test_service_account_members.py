"""A service account's permissions change only through /api/v1/service-accounts.

Every project-membership route (v1 project access, v2 role assignments, the
project settings page) refuses to target one with a 400 naming that API, and
changes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.models import AuditEvent, ProjectMembership, User
from lightkeeper.runtime import Runtime
from tests.support import Org, add_membership, add_service_account, make_org, make_project
from tests.web.helpers import login

MESSAGE = "Service account permissions are managed through /api/v1/service-accounts"


def state(runtime: Runtime, user_uuid: str) -> tuple[Any, ...]:
    """What decides a principal's access, and how many audit events exist."""
    with transaction(runtime.sessions) as session:
        user = session.get(User, user_uuid)
        assert user is not None
        grants = session.scalars(
            select(ProjectMembership).where(ProjectMembership.user_uuid == user_uuid)
        )
        memberships = sorted((m.project_uuid, m.role, m.role_uuid) for m in grants)
        audited = len(list(session.scalars(select(AuditEvent.id))))
        return user.role, user.custom_role_uuid, memberships, audited


def world(runtime: Runtime) -> tuple[Org, str, str, str]:
    """An org, a project, an org-scope service account and a project-scoped one on the project."""
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Analytics")
    org_scope = add_service_account(runtime, org, role="viewer").principal_uuid
    project_scope = add_service_account(runtime, org, role="member").principal_uuid
    add_membership(runtime, project, project_scope, "viewer")
    return org, project, org_scope, project_scope


def assert_refused(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"]["name"] == "ParameterError"
    assert response.json()["error"]["message"] == MESSAGE


def test_v1_project_access_refuses_service_accounts(client: TestClient, runtime: Runtime) -> None:
    org, project, org_scope, project_scope = world(runtime)
    headers = org.people["admin"].headers
    access = f"/api/v1/projects/{project}/access"
    before = {u: state(runtime, u) for u in (org_scope, project_scope)}

    for user_uuid in (org_scope, project_scope):
        add = client.post(access, json={"userUuid": user_uuid, "role": "admin"}, headers=headers)
        assert_refused(add)
        change = client.patch(f"{access}/{user_uuid}", json={"role": "admin"}, headers=headers)
        assert_refused(change)
        assert_refused(client.delete(f"{access}/{user_uuid}", headers=headers))

    assert {u: state(runtime, u) for u in (org_scope, project_scope)} == before


def test_v2_role_assignments_refuse_service_accounts(client: TestClient, runtime: Runtime) -> None:
    org, project, org_scope, project_scope = world(runtime)
    headers = org.people["admin"].headers
    before = {u: state(runtime, u) for u in (org_scope, project_scope)}

    for user_uuid in (org_scope, project_scope):
        on_project = f"/api/v2/projects/{project}/roles/assignments/user/{user_uuid}"
        on_org = f"/api/v2/orgs/{org.uuid}/roles/assignments/user/{user_uuid}"
        for url in (on_project, on_org):
            assert_refused(client.post(url, json={"roleId": "admin"}, headers=headers))
            assert_refused(client.delete(url, headers=headers))

    assert {u: state(runtime, u) for u in (org_scope, project_scope)} == before


def test_the_project_page_refuses_service_accounts(client: TestClient, runtime: Runtime) -> None:
    org, project, org_scope, project_scope = world(runtime)
    token = login(client, org.people["admin"])
    page = f"/generalSettings/projects/{project}"
    before = {u: state(runtime, u) for u in (org_scope, project_scope)}

    added = client.post(
        f"{page}/members", data={"csrf_token": token, "user_uuid": org_scope, "role": "admin"}
    )
    changed = client.post(
        f"{page}/members/{project_scope}/role", data={"csrf_token": token, "role": "admin"}
    )
    removed = client.post(f"{page}/members/{project_scope}/remove", data={"csrf_token": token})

    for response in (added, changed, removed):
        assert response.status_code == 400
        assert "/api/v1/service-accounts" in response.text
    assert {u: state(runtime, u) for u in (org_scope, project_scope)} == before
