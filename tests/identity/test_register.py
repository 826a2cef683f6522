"""`POST /api/v1/user`: the first organization, then registration by invite only."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lightkeeper.db import transaction
from lightkeeper.models import Organization, User
from lightkeeper.runtime import Runtime
from tests.support import audit_events

FIRST = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ada@acme.example",
    "password": "analytical-engine",
    "organizationName": "Acme",
}


def _organizations(runtime: Runtime) -> list[str]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(Organization.name)))


def test_the_first_registration_creates_the_organization_and_its_admin(
    client: TestClient, runtime: Runtime
) -> None:
    assert client.get("/api/v1/health").json()["results"]["requiresOrgRegistration"] is True

    response = client.post("/api/v1/user", json=FIRST)

    assert response.status_code == 200
    results = response.json()["results"]
    assert results["email"] == "ada@acme.example"
    assert results["role"] == "admin"
    assert results["organizationName"] == "Acme"
    assert "HttpOnly" in response.headers["set-cookie"]
    # The session cookie is set: the new admin is logged in.
    assert client.get("/api/v1/user").json()["results"]["userUuid"] == results["userUuid"]
    assert client.get("/api/v1/health").json()["results"]["requiresOrgRegistration"] is False
    assert _organizations(runtime) == ["Acme"]
    assert [e.action for e in audit_events(runtime)] == ["organization.created", "user.created"]


def test_afterwards_registration_requires_an_invite(client: TestClient, runtime: Runtime) -> None:
    assert client.post("/api/v1/user", json=FIRST).status_code == 200

    response = client.post(
        "/api/v1/user", json={**FIRST, "email": "eve@evil.example", "organizationName": "Evil"}
    )

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Registration requires an invite"
    assert _organizations(runtime) == ["Acme"]


def test_the_first_registration_names_what_is_missing(client: TestClient, runtime: Runtime) -> None:
    missing = client.post(
        "/api/v1/user", json={k: v for k, v in FIRST.items() if k != "organizationName"}
    )
    short = client.post("/api/v1/user", json={**FIRST, "password": "short"})

    assert missing.status_code == 400
    assert missing.json()["error"]["data"]["fields"] == {"organizationName": "required"}
    assert short.status_code == 400
    assert "at least 8 characters" in short.json()["error"]["message"]
    assert _organizations(runtime) == []


def test_concurrent_first_registrations_create_one_organization(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    clients = [make_client(runtime) for _ in range(4)]

    def register(n: int) -> int:
        body = {**FIRST, "email": f"admin{n}@example.com", "organizationName": f"Org {n}"}
        return int(clients[n].post("/api/v1/user", json=body).status_code)

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(register, range(4)))

    assert sorted(statuses) == [200, 403, 403, 403]
    assert len(_organizations(runtime)) == 1
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
