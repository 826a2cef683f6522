"""Every validation message of service-accounts.md, with its status."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lightkeeper.db import transaction
from lightkeeper.kit.clock import iso, utcnow
from lightkeeper.models import AuditEvent, ProjectMembership, ServiceAccount, User
from lightkeeper.runtime import Runtime
from tests.service_account.helpers import URL, create, created, error
from tests.support import Org, add_custom_role, audit_events, make_org, make_project

ACCEPTED = (
    "system:viewer, system:interactive_viewer, system:editor, system:developer, system:admin, "
    "system:member, org:admin, org:edit, org:read, org:view"
)
NEW_UUID = "6f1f8a64-5a53-4a36-9d0e-3d4a4cde0001"


@pytest.fixture
def org(runtime: Runtime) -> Org:
    org = make_org(runtime, "Acme")
    make_project(runtime, org, "Jaffle")
    make_project(runtime, org, "Shop")
    return org


def _create(client: TestClient, org: Org, **body: Any) -> tuple[int, str]:
    return error(create(client, org.people["admin"].headers, **body))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"description": None}, "Description is required"),
        ({"description": ""}, "Description is required"),
        ({"description": "   "}, "Description is required"),
        ({"description": "x" * 256}, "Description must be at most 255 characters"),
        (
            {"scopes": ["system:admin"], "roleUuid": NEW_UUID},
            "Specify either scopes or roleUuid, not both",
        ),
        ({}, "A service account must have either scopes or a roleUuid"),
        ({"scopes": []}, "A service account must have either scopes or a roleUuid"),
        (
            {
                "scopes": ["system:admin"],
                "projectAccess": [{"projectUuid": NEW_UUID, "role": "viewer"}],
            },
            "projectAccess can only be set when scopes = [system:member]",
        ),
        (
            {"scopes": ["org:read"], "projectAccess": []},
            "projectAccess can only be set when scopes = [system:member]",
        ),
        (
            {"roleUuid": NEW_UUID, "projectAccess": [{"projectUuid": NEW_UUID, "role": "viewer"}]},
            "projectAccess can only be set when scopes = [system:member]",
        ),
        (
            {"scopes": ["system:member"], "projectAccess": [{"projectUuid": NEW_UUID}]},
            "Each projectAccess grant must specify exactly one of role or roleUuid",
        ),
        (
            {
                "scopes": ["system:member"],
                "projectAccess": [
                    {"projectUuid": NEW_UUID, "role": "viewer", "roleUuid": NEW_UUID}
                ],
            },
            "Each projectAccess grant must specify exactly one of role or roleUuid",
        ),
        (
            {
                "scopes": ["system:member"],
                "projectAccess": [
                    {"projectUuid": NEW_UUID, "role": "viewer"},
                    {"projectUuid": NEW_UUID, "role": "editor"},
                ],
            },
            "Each project can only be added once",
        ),
        (
            {"scopes": ["system:admin", "org:read"]},
            "A system:<role> scope must be the only scope: remove the other scopes",
        ),
        (
            {"scopes": ["system:member", "system:viewer"]},
            "A system:<role> scope must be the only scope: remove the other scopes",
        ),
        (
            {"scopes": ["system:member"]},
            "A project-scoped service account (scopes = [system:member]) must have at least one "
            "project: add a projectAccess grant",
        ),
        (
            {"scopes": ["system:member"], "projectAccess": []},
            "A project-scoped service account (scopes = [system:member]) must have at least one "
            "project: add a projectAccess grant",
        ),
        (
            {"expiresAt": iso(utcnow() - timedelta(seconds=1)), "scopes": ["system:viewer"]},
            "Expire time must be in the future",
        ),
        (
            {
                "scopes": ["system:member"],
                "projectAccess": [{"projectUuid": NEW_UUID, "role": "owner"}],
            },
            "Unknown project role 'owner': use one of viewer, interactive_viewer, editor, "
            "developer, admin",
        ),
    ],
)
def test_create_errors(client: TestClient, org: Org, body: dict[str, Any], expected: str) -> None:
    body = {"description": "CI", **body}
    if body["description"] is None:
        del body["description"]
        response = client.post(
            URL, json={"scopes": ["system:viewer"]}, headers=org.people["admin"].headers
        )
        assert error(response) == (400, expected)
        return
    assert _create(client, org, **body) == (400, expected)


@pytest.mark.parametrize("scope", ["system:owner", "org:write", "manage:Organization", "admin", ""])
def test_unknown_scope_lists_the_accepted_values(client: TestClient, org: Org, scope: str) -> None:
    status, message = _create(client, org, scopes=[scope])
    assert status == 400
    assert message == f"Unknown scope: {scope}. Accepted values: {ACCEPTED}"


def test_expiry_needs_an_offset(client: TestClient, org: Org) -> None:
    status, message = _create(
        client, org, scopes=["system:viewer"], expiresAt="2099-01-01T00:00:00"
    )
    assert status == 400 and "expiresAt" in message
    response = create(
        client,
        org.people["admin"].headers,
        scopes=["system:viewer"],
        expiresAt="2099-01-01T00:00:00+02:00",
    )
    assert response.status_code == 201
    assert response.json()["results"]["expiresAt"] == "2098-12-31T22:00:00.000Z"


def test_no_expiry_means_never(client: TestClient, org: Org) -> None:
    response = client.post(
        URL,
        json={"description": "forever", "scopes": ["system:viewer"]},
        headers=org.people["admin"].headers,
    )
    assert response.status_code == 201 and response.json()["results"]["expiresAt"] is None
    response = create(client, org.people["admin"].headers, scopes=["system:viewer"], expiresAt=None)
    assert response.status_code == 201 and response.json()["results"]["expiresAt"] is None


def test_unknown_or_foreign_project_and_role_are_404_naming_them(
    client: TestClient, runtime: Runtime, org: Org
) -> None:
    other = make_org(runtime, "Other")
    foreign_project = make_project(runtime, other, "Theirs")
    foreign_role = add_custom_role(runtime, other, "Theirs", ["view:Project"])
    jaffle = org.projects["Jaffle"]
    for project in (NEW_UUID, foreign_project):
        status, message = _create(
            client,
            org,
            scopes=["system:member"],
            projectAccess=[{"projectUuid": project, "role": "viewer"}],
        )
        assert (status, message) == (404, f"Project {project} not found")
    for role in (NEW_UUID, foreign_role):
        assert _create(client, org, roleUuid=role) == (404, f"Role {role} not found")
        status, message = _create(
            client,
            org,
            scopes=["system:member"],
            projectAccess=[{"projectUuid": jaffle, "roleUuid": role}],
        )
        assert (status, message) == (404, f"Role {role} not found")
    status, _message = _create(
        client,
        org,
        scopes=["system:member"],
        projectAccess=[{"projectUuid": "not-a-uuid", "role": "viewer"}],
    )
    assert status == 400


def test_a_failed_create_leaves_nothing_behind(
    client: TestClient, runtime: Runtime, org: Org
) -> None:
    def counts() -> tuple[int, int, int, int]:
        with transaction(runtime.sessions) as session:
            return (
                session.scalar(select(func.count()).select_from(User)) or 0,
                session.scalar(select(func.count()).select_from(ServiceAccount)) or 0,
                session.scalar(select(func.count()).select_from(ProjectMembership)) or 0,
                session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            )

    before = counts()
    # The first grant is valid and written; the second fails (unknown project, unknown role).
    status, _ = _create(
        client,
        org,
        scopes=["system:member"],
        projectAccess=[
            {"projectUuid": org.projects["Jaffle"], "role": "viewer"},
            {"projectUuid": NEW_UUID, "role": "viewer"},
        ],
    )
    assert status == 404
    assert counts() == before
    status, _ = _create(
        client,
        org,
        scopes=["system:member"],
        projectAccess=[
            {"projectUuid": org.projects["Jaffle"], "role": "viewer"},
            {
                "projectUuid": org.projects["Shop"],
                "roleUuid": "00000000-0000-0000-0000-000000000000",
            },
        ],
    )
    assert status == 404
    assert counts() == before


def test_edit_errors(client: TestClient, runtime: Runtime, org: Org) -> None:
    headers = org.people["admin"].headers
    sa = created(
        client,
        headers,
        scopes=["system:member"],
        projectAccess=[{"projectUuid": org.projects["Jaffle"], "role": "viewer"}],
    )
    path = f"{URL}/{sa['uuid']}"
    keep_one = (
        "A project-scoped service account must have at least one project. "
        "Delete it instead to remove all access."
    )
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "Description is required"),
        ({"description": " "}, "Description is required"),
        ({"description": "x", "projectAccess": []}, keep_one),
        ({"description": "x", "scopes": ["system:member"]}, keep_one),
        ({"description": "x", "scopes": ["system:member"], "projectAccess": []}, keep_one),
        (
            {"description": "x", "scopes": ["system:admin"], "roleUuid": NEW_UUID},
            "Specify either scopes or roleUuid, not both",
        ),
        (
            {
                "description": "x",
                "scopes": ["system:admin"],
                "projectAccess": [{"projectUuid": NEW_UUID, "role": "viewer"}],
            },
            "projectAccess can only be set when scopes = [system:member]",
        ),
        (
            {
                "description": "x",
                "projectAccess": [
                    {"projectUuid": NEW_UUID, "role": "viewer"},
                    {"projectUuid": NEW_UUID, "role": "viewer"},
                ],
            },
            "Each project can only be added once",
        ),
        (
            {"description": "x", "projectAccess": [{"projectUuid": NEW_UUID}]},
            "Each projectAccess grant must specify exactly one of role or roleUuid",
        ),
        (
            {"description": "x", "scopes": ["nope"]},
            f"Unknown scope: nope. Accepted values: {ACCEPTED}",
        ),
    ]
    for body, message in cases:
        assert error(client.patch(path, json=body, headers=headers)) == (400, message), body
    assert error(
        client.patch(path, json={"description": "x", "roleUuid": NEW_UUID}, headers=headers)
    ) == (404, f"Role {NEW_UUID} not found")
    # A failed edit changed nothing.
    got = client.get(f"{URL}/{sa['uuid']}/projects", headers=headers).json()["results"]
    assert got == [
        {"projectUuid": org.projects["Jaffle"], "projectName": "Jaffle", "role": "viewer"}
    ]
    assert client.get(path, headers=headers).json()["results"]["description"] == "CI deploys"
    edits = audit_events(runtime, "service_account.updated", organization_uuid=org.uuid)
    assert edits == []


def test_edit_keeps_token_and_expiry(client: TestClient, org: Org) -> None:
    headers = org.people["admin"].headers
    sa = created(client, headers, scopes=["system:viewer"])
    r = client.patch(
        f"{URL}/{sa['uuid']}",
        json={"description": "x", "expiresAt": None, "token": "ldsvc_" + "a" * 32},
        headers=headers,
    )
    assert r.status_code == 200
    assert r.json()["results"]["expiresAt"] == sa["expiresAt"]
    assert r.json()["results"]["tokenHint"] == sa["tokenHint"]
    assert "token" not in r.json()["results"]
    assert client.get("/api/v1/health", headers={"Authorization": f"Bearer {sa['token']}"}).json()[
        "results"
    ]["isAuthenticated"]
