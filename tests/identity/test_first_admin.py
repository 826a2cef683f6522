"""Every way an organization comes into being records the same two audit events."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.models import AuditEvent, User
from lightkeeper.runtime import Runtime
from lightkeeper.setup.service import run_setup

PASSWORD = "a sturdy first password"


def creation_events(runtime: Runtime) -> list[tuple[str, str, dict[str, Any]]]:
    """(action, actor label, details) of the organization's events, oldest first."""
    with transaction(runtime.sessions) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.actor_label, dict(e.details)) for e in events]


def expected(via: str, actor: str, default_role: str = "viewer") -> list[Any]:
    return [
        (
            "organization.created",
            actor,
            {"name": "Acme", "defaultRole": default_role, "via": via},
        ),
        ("user.created", actor, {"role": "admin", "via": via, "hasPassword": True}),
    ]


def test_the_first_registration_records_both_events_by_the_new_admin(
    client: TestClient, runtime: Runtime
) -> None:
    form = {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@acme.example",
        "password": PASSWORD,
        "organizationName": "Acme",
    }
    assert client.post("/api/v1/user", json=form).status_code == 200

    assert creation_events(runtime)[:2] == expected("first registration", "Ada Lovelace")


def test_setup_records_both_events_by_ld_setup(runtime: Runtime) -> None:
    env = {
        "LD_SETUP_ORGANIZATION_NAME": "Acme",
        "LD_SETUP_ADMIN_EMAIL": "ops@acme.example",
        "LD_SETUP_ADMIN_PASSWORD": PASSWORD,
        "LD_SETUP_ORGANIZATION_DEFAULT_ROLE": "editor",
    }
    assert run_setup(runtime, env) is True

    assert creation_events(runtime) == expected("setup", "LD_SETUP", default_role="editor")
    with transaction(runtime.sessions) as session:
        admin = session.scalars(select(User)).one()
        assert (admin.email, admin.role) == ("ops@acme.example", "admin")
