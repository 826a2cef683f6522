"""Helpers for custom-role tests: URLs, roles and bindings straight in the database."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.auth.principal import Principal
from lightkeeper.auth.service import principal_for_user
from lightkeeper.db import transaction
from lightkeeper.models import (
    AuditEvent,
    CustomRole,
    ProjectMembership,
    ServiceAccount,
    Space,
    SpaceShare,
    User,
)
from lightkeeper.runtime import Runtime
from tests.support import Org, Person, add_person


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


def add_role(runtime: Runtime, org: Org, name: str, scopes: list[str]) -> str:
    """A custom role straight in the database; returns its uuid."""
    with transaction(runtime.sessions) as session:
        role = CustomRole(organization_uuid=org.uuid, name=name, scopes=scopes)
        session.add(role)
        session.flush()
        return role.uuid


def bind_org_role(runtime: Runtime, user_uuid: str, role_uuid: str | None) -> None:
    with transaction(runtime.sessions) as session:
        user = session.get(User, user_uuid)
        assert user is not None
        user.custom_role_uuid = role_uuid


def bind_project_role(runtime: Runtime, project_uuid: str, user_uuid: str, role_uuid: str) -> None:
    with transaction(runtime.sessions) as session:
        session.add(
            ProjectMembership(project_uuid=project_uuid, user_uuid=user_uuid, role_uuid=role_uuid)
        )


def custom_role_holder(
    runtime: Runtime, org: Org, key: str, scopes: list[str], *, role: str = "member"
) -> tuple[Person, str]:
    """A person with system org role `role` and an org-level custom role holding `scopes`."""
    person = add_person(runtime, org, role, key=key)
    role_uuid = add_role(runtime, org, f"{key} role", scopes)
    bind_org_role(runtime, person.uuid, role_uuid)
    return person, role_uuid


def add_service_account(
    runtime: Runtime, org: Org, description: str, role_uuid: str | None = None
) -> tuple[str, str]:
    """A service account bound to a custom role, straight in the database: (uuid, principal)."""
    with transaction(runtime.sessions) as session:
        principal = User(
            organization_uuid=org.uuid,
            first_name=description,
            role="member",
            is_service_account=True,
        )
        session.add(principal)
        session.flush()
        account = ServiceAccount(
            organization_uuid=org.uuid,
            user_uuid=principal.uuid,
            description=description,
            token_hash=secrets.token_hex(32),
            token_key_id="test",
            token_hint="ldsvc_test",
            role_uuid=role_uuid,
        )
        session.add(account)
        session.flush()
        return account.uuid, principal.uuid


def add_space(
    runtime: Runtime,
    project_uuid: str,
    name: str,
    *,
    private: bool,
    shares: dict[str, str] | None = None,
) -> str:
    with transaction(runtime.sessions) as session:
        space = Space(
            project_uuid=project_uuid,
            name=name,
            slug=name.lower().replace(" ", "-"),
            is_private=private,
        )
        session.add(space)
        session.flush()
        for user_uuid, role in (shares or {}).items():
            session.add(SpaceShare(space_uuid=space.uuid, user_uuid=user_uuid, role=role))
        return space.uuid


def principal_of(runtime: Runtime, user_uuid: str) -> Principal:
    """The principal a request of this person would carry, resolved from the database now."""
    with transaction(runtime.sessions) as session:
        user = session.get(User, user_uuid)
        assert user is not None
        return principal_for_user(runtime, session, user, credential="pat")


def user_row(runtime: Runtime, user_uuid: str) -> User:
    with transaction(runtime.sessions) as session:
        user = session.get(User, user_uuid)
        assert user is not None
        return user


def membership_row(runtime: Runtime, project_uuid: str, user_uuid: str) -> ProjectMembership | None:
    with transaction(runtime.sessions) as session:
        return session.get(ProjectMembership, (project_uuid, user_uuid))


def role_row(runtime: Runtime, role_uuid: str) -> CustomRole | None:
    with transaction(runtime.sessions) as session:
        return session.get(CustomRole, role_uuid)


def audit_events(runtime: Runtime, action: str) -> list[AuditEvent]:
    with transaction(runtime.sessions) as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )
