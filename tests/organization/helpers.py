"""Small helpers shared by the organization and project tests: audit events, direct inserts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.identity import people
from lightkeeper.kit.tokens import TokenKind, generate, hint
from lightkeeper.models import (
    AuditEvent,
    CustomRole,
    Dashboard,
    Organization,
    ProjectMembership,
    SavedChart,
    ServiceAccount,
    Space,
    SpaceShare,
    User,
)
from lightkeeper.personal_token.service import store_personal_token
from lightkeeper.runtime import Runtime
from tests.support import Org, Person


def events(runtime: Runtime, action: str) -> list[AuditEvent]:
    with transaction(runtime.sessions) as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def add_service_account(
    runtime: Runtime, org: Org, *, created_by: str | None = None, role: str = "admin"
) -> tuple[str, str]:
    """A service account (principal row + token); returns (principal user uuid, token)."""
    raw = generate(TokenKind.SERVICE_ACCOUNT)
    with transaction(runtime.sessions) as session:
        principal = User(
            organization_uuid=org.uuid,
            email=None,
            first_name="CI deploy",
            last_name="",
            role=role,
            is_service_account=True,
        )
        session.add(principal)
        session.flush()
        key_id, digest = runtime.keyring.hash(raw)
        session.add(
            ServiceAccount(
                organization_uuid=org.uuid,
                user_uuid=principal.uuid,
                description="CI deploy",
                token_hash=digest,
                token_key_id=key_id,
                token_hint=hint(raw),
                created_by_user_uuid=created_by,
                scopes=[f"system:{role}"],
            )
        )
        return principal.uuid, raw


def custom_role(runtime: Runtime, org: Org, name: str, scopes: list[str]) -> str:
    with transaction(runtime.sessions) as session:
        role = CustomRole(organization_uuid=org.uuid, name=name, scopes=scopes)
        session.add(role)
        session.flush()
        return role.uuid


def person_with_custom_role(
    runtime: Runtime, org: Org, key: str, role_uuid: str, org_role: str = "member"
) -> Person:
    """A person whose org-level custom role is `role_uuid`."""
    with transaction(runtime.sessions) as session:
        organization = session.get(Organization, org.uuid)
        assert organization is not None
        user = people.create_user(
            runtime,
            session,
            organization,
            email=f"{key}@{org.name.lower()}.example",
            role=org_role,
            first_name=key.title(),
            last_name="Tester",
        )
        user.custom_role_uuid = role_uuid
        _pat, token = store_personal_token(
            runtime, session, user, description="t", expires_at=None
        )
    person = Person(user.uuid, user.email or "", org_role, token, org.uuid)
    org.people[key] = person
    return person


def custom_membership(runtime: Runtime, project_uuid: str, user_uuid: str, role_uuid: str) -> None:
    with transaction(runtime.sessions) as session:
        session.add(
            ProjectMembership(project_uuid=project_uuid, user_uuid=user_uuid, role_uuid=role_uuid)
        )


def add_space(
    runtime: Runtime,
    project_uuid: str,
    name: str,
    *,
    private: bool = False,
    created_by: str | None = None,
    parent: str | None = None,
    shared_with: dict[str, str] | None = None,
) -> str:
    with transaction(runtime.sessions) as session:
        space = Space(
            project_uuid=project_uuid,
            name=name,
            slug=name.lower().replace(" ", "-"),
            is_private=private,
            created_by_user_uuid=created_by,
            parent_space_uuid=parent,
        )
        session.add(space)
        session.flush()
        for user_uuid, role in (shared_with or {}).items():
            session.add(SpaceShare(space_uuid=space.uuid, user_uuid=user_uuid, role=role))
        return space.uuid


def add_chart(runtime: Runtime, project_uuid: str, space_uuid: str, name: str) -> str:
    with transaction(runtime.sessions) as session:
        chart = SavedChart(
            project_uuid=project_uuid,
            space_uuid=space_uuid,
            name=name,
            slug=name.lower().replace(" ", "-"),
            table_name="orders",
            metric_query={"exploreName": "orders", "dimensions": ["orders_status"]},
        )
        session.add(chart)
        session.flush()
        return chart.uuid


def add_dashboard(
    runtime: Runtime, project_uuid: str, space_uuid: str, name: str, chart_uuids: list[str]
) -> str:
    tiles: list[dict[str, Any]] = [
        {
            "uuid": f"00000000-0000-4000-8000-00000000000{i}",
            "type": "saved_chart",
            "x": 0,
            "y": i,
            "h": 3,
            "w": 6,
            "properties": {"savedChartUuid": chart_uuid, "title": f"tile {i}"},
        }
        for i, chart_uuid in enumerate(chart_uuids)
    ]
    tiles.append(
        {
            "uuid": "00000000-0000-4000-8000-0000000000ff",
            "type": "markdown",
            "x": 6,
            "y": 0,
            "h": 3,
            "w": 6,
            "properties": {"title": "notes", "content": "hello"},
        }
    )
    with transaction(runtime.sessions) as session:
        dashboard = Dashboard(
            project_uuid=project_uuid,
            space_uuid=space_uuid,
            name=name,
            slug=name.lower().replace(" ", "-"),
            tiles=tiles,
        )
        session.add(dashboard)
        session.flush()
        return dashboard.uuid
