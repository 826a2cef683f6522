"""Identity test helpers: logging in through the API, service accounts, scanning the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.kit.clock import iso, utcnow
from lightkeeper.kit.tokens import TokenKind, generate, hint
from lightkeeper.models import Base, ServiceAccount, User
from lightkeeper.runtime import Runtime
from tests.support import PASSWORD, Org


def logged_in(make_client: Callable[..., TestClient], runtime: Runtime, email: str) -> TestClient:
    """A client of its own (its own cookie jar) holding a fresh browser session for `email`."""
    client = make_client(runtime)
    response = client.post("/api/v1/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client


def in_days(days: float) -> str:
    return iso(utcnow() + timedelta(days=days)) or ""


def add_service_account(runtime: Runtime, org: Org, role: str = "admin") -> tuple[str, str, str]:
    """A service account with `system:<role>`, in the database: (uuid, principal uuid, token)."""
    token = generate(TokenKind.SERVICE_ACCOUNT)
    key_id, digest = runtime.keyring.hash(token)
    with transaction(runtime.sessions) as session:
        principal = User(
            organization_uuid=org.uuid, first_name="CI deploys", role=role, is_service_account=True
        )
        session.add(principal)
        session.flush()
        account = ServiceAccount(
            organization_uuid=org.uuid,
            user_uuid=principal.uuid,
            description="CI deploys",
            token_hash=digest,
            token_key_id=key_id,
            token_hint=hint(token),
            scopes=[f"system:{role}"],
            created_by_user_uuid=org.people["admin"].uuid,
        )
        session.add(account)
        session.flush()
        return account.uuid, principal.uuid, token


def database_text(runtime: Runtime) -> str:
    """Every row of every table as text, to prove a secret is stored nowhere."""
    parts: list[str] = []
    with transaction(runtime.sessions) as session:
        for table in Base.metadata.sorted_tables:
            parts.extend(repr(tuple(row)) for row in session.execute(select(table)))
    return "\n".join(parts)


def audit_actions(runtime: Runtime) -> list[str]:
    from lightkeeper.models import AuditEvent

    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
