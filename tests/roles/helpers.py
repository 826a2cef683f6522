"""Helpers for custom-role tests: URLs, roles through the API, the principal a person carries."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from lightkeeper.auth.principal import Principal
from lightkeeper.auth.service import principal_for_user
from lightkeeper.db import transaction
from lightkeeper.models import User
from lightkeeper.runtime import Runtime
from tests.support import Org


def roles_url(org: Org | str) -> str:
    uuid = org if isinstance(org, str) else org.uuid
    return f"/api/v2/orgs/{uuid}/roles"


def org_assignment_url(org: Org, user_uuid: str) -> str:
    return f"{roles_url(org)}/assignments/user/{user_uuid}"


def project_assignment_url(project_uuid: str, user_uuid: str) -> str:
    return f"/api/v2/projects/{project_uuid}/roles/assignments/user/{user_uuid}"


def create_role(
    client: TestClient, org: Org, headers: dict[str, str], name: str, scopes: list[str]
) -> dict[str, Any]:
    response = client.post(roles_url(org), json={"name": name, "scopes": scopes}, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()["results"]
    return result


def principal_of(runtime: Runtime, user_uuid: str) -> Principal:
    """The principal a request of this person would carry, resolved from the database now."""
    with transaction(runtime.sessions) as session:
        user = session.get(User, user_uuid)
        assert user is not None
        return principal_for_user(runtime, session, user, credential="pat")
