"""Shared helpers of the service-account tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.kit.clock import iso, utcnow
from lightkeeper.models import AuditEvent, CustomRole, User
from lightkeeper.runtime import Runtime

URL = "/api/v1/service-accounts"
REJECTED = "Invalid service account token. Authentication failed."
DISABLED = "Service accounts require an Enterprise License Key and SERVICE_ACCOUNT_ENABLED=true"
CEILING = "Cannot grant permissions exceeding your own"


def in_days(days: float = 30) -> str:
    return iso(utcnow() + timedelta(days=days))  # type: ignore[return-value]


def create(client: TestClient, headers: dict[str, str], **body: Any) -> Response:
    body.setdefault("description", "CI deploys")
    body.setdefault("expiresAt", in_days())
    response: Response = client.post(URL, json=body, headers=headers)
    return response


def created(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = create(client, headers, **body)
    assert response.status_code == 201, response.text
    results: dict[str, Any] = response.json()["results"]
    return results


def error(response: Response) -> tuple[int, str]:
    body = response.json()
    assert body["status"] == "error", body
    return response.status_code, body["error"]["message"]


def authenticated(client: TestClient, headers: dict[str, str]) -> bool:
    return bool(client.get("/api/v1/health", headers=headers).json()["results"]["isAuthenticated"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_custom_role(runtime: Runtime, org_uuid: str, name: str, scopes: list[str]) -> str:
    with transaction(runtime.sessions) as session:
        role = CustomRole(organization_uuid=org_uuid, name=name, scopes=scopes)
        session.add(role)
        session.flush()
        return role.uuid


def bind_custom_role(
    runtime: Runtime, user_uuid: str, role_uuid: str, role: str = "member"
) -> None:
    """Make a person's org-level grant a custom role (on top of system org role `role`)."""
    with transaction(runtime.sessions) as session:
        user = session.get(User, user_uuid)
        assert user is not None
        user.role, user.custom_role_uuid = role, role_uuid


def audit_actions(runtime: Runtime, org_uuid: str) -> list[AuditEvent]:
    with transaction(runtime.sessions) as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.organization_uuid == org_uuid)
                .where(AuditEvent.action.like("service_account.%"))
                .order_by(AuditEvent.id)
            )
        )
