"""Service accounts through HTTP: every shape, using the token, list, get, edit, rotate, delete."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.app import create_app
from lightkeeper.db import transaction
from lightkeeper.kit.clock import clock, iso, utcnow
from lightkeeper.models import ProjectMembership, ServiceAccount, User
from lightkeeper.runtime import Runtime
from tests.service_account.helpers import REJECTED, URL, bearer, create, created, error
from tests.support import (
    add_custom_role,
    add_person,
    audit_events,
    authenticated,
    bind_org_role,
    in_days,
    make_org,
    make_project,
)

WIRE_FIELDS = {
    "uuid",
    "organizationUuid",
    "description",
    "createdAt",
    "createdByUserUuid",
    "createdBy",
    "expiresAt",
    "lastUsedAt",
    "rotatedAt",
    "rotatedByUserUuid",
    "scopes",
    "roleUuid",
    "userUuid",
    "projectAccessCount",
    "lastUsedIp",
    "lastUsedUserAgent",
    "tokenHint",
    "previousTokenExpiresAt",
    "allowedIpRanges",
}


def test_org_system_role_shape_full_lifecycle(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    expires = in_days(10)
    sa = created(
        client,
        admin.headers,
        description="  CI deploys  ",
        expiresAt=expires,
        scopes=["system:admin"],
    )
    token = sa.pop("token")
    assert set(sa) == WIRE_FIELDS
    assert token.startswith("ldsvc_") and len(token) == 44
    assert sa["description"] == "CI deploys"
    assert sa["organizationUuid"] == org.uuid
    assert sa["scopes"] == ["system:admin"] and sa["roleUuid"] is None
    assert sa["expiresAt"] == expires
    assert sa["createdByUserUuid"] == admin.uuid
    assert sa["createdBy"] == {"userUuid": admin.uuid, "firstName": "Admin", "lastName": "Tester"}
    assert sa["tokenHint"] == "ldsvc_\u2026" + token[-4:]
    assert sa["projectAccessCount"] == 0
    assert sa["lastUsedAt"] is None and sa["rotatedAt"] is None
    assert sa["createdAt"].endswith("Z")

    # The token works with every scheme Lightdash clients send.
    for header in (f"Bearer {token}", f"ApiKey {token}", token, f"bearer {token}"):
        assert authenticated(client, {"Authorization": header}), header
        listed = client.get(URL, headers={"Authorization": header})
        assert listed.status_code == 200, (header, listed.text)
        assert [s["uuid"] for s in listed.json()["results"]] == [sa["uuid"]]

    # lastUsed* are recorded on authentication.
    got = client.get(
        f"{URL}/{sa['uuid']}",
        headers=admin.headers,
    ).json()["results"]
    assert got["lastUsedAt"] is not None and got["lastUsedIp"]
    assert "token" not in got

    # Edit in place: rename; the principal's first name follows.
    edited = client.patch(
        f"{URL}/{sa['uuid']}", json={"description": "Deploy bot"}, headers=admin.headers
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["results"]["description"] == "Deploy bot"
    assert edited.json()["results"]["scopes"] == ["system:admin"]
    with transaction(runtime.sessions) as session:
        principal_row = session.get(User, sa["userUuid"])
        assert principal_row is not None
        assert principal_row.first_name == "Deploy bot" and principal_row.last_name == ""
        assert principal_row.is_service_account and principal_row.email is None
        assert principal_row.password_hash is None and principal_row.role == "admin"
    assert authenticated(client, bearer(token))

    # Rotate: new token works, old dies at once; identity is unchanged.
    new_expiry = in_days(20)
    rotated = client.patch(
        f"{URL}/{sa['uuid']}/rotate", json={"expiresAt": new_expiry}, headers=admin.headers
    )
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()["results"]
    new_token = body["token"]
    assert new_token != token
    assert body["expiresAt"] == new_expiry
    assert body["rotatedByUserUuid"] == admin.uuid and body["rotatedAt"] is not None
    for field in ("uuid", "userUuid", "description", "scopes", "createdByUserUuid", "createdAt"):
        assert body[field] == (sa[field] if field != "description" else "Deploy bot")
    assert body["tokenHint"] == "ldsvc_\u2026" + new_token[-4:]
    old = client.get(URL, headers=bearer(token))
    assert error(old) == (401, REJECTED)
    assert client.get(URL, headers=bearer(new_token)).status_code == 200

    # Delete: the token fails on the very next request.
    deleted = client.delete(f"{URL}/{sa['uuid']}", headers=admin.headers)
    assert deleted.status_code == 200 and deleted.json()["status"] == "ok"
    assert error(client.get(URL, headers=bearer(new_token))) == (401, REJECTED)
    assert not authenticated(client, bearer(new_token))
    assert error(client.get(f"{URL}/{sa['uuid']}", headers=admin.headers))[0] == 404
    assert client.get(URL, headers=admin.headers).json()["results"] == []

    audited = audit_events(runtime, organization_uuid=org.uuid, prefix="service_account.")
    actions = [(e.action, e.target_label) for e in audited]
    assert actions == [
        ("service_account.created", "CI deploys"),
        ("service_account.updated", "Deploy bot"),
        ("service_account.rotated", "Deploy bot"),
        ("service_account.deleted", "Deploy bot"),
    ]


def test_attribution_principal_survives_deletion(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    sa = created(client, admin.headers, description="Nightly export", scopes=["system:editor"])
    got = client.get(f"{URL}/{sa['uuid']}", headers=admin.headers).json()["results"]
    assert got["userUuid"] == sa["userUuid"] != sa["uuid"]
    with transaction(runtime.sessions) as session:
        row = session.get(User, got["userUuid"])
        assert row is not None and row.first_name == "Nightly export" and row.is_service_account
    # What the SA creates is attributed to its principal: an SA created by an SA names it.
    child = created(
        client,
        bearer(
            created(client, admin.headers, description="Bootstrap", scopes=["system:admin"])[
                "token"
            ]
        ),
        description="Child",
        scopes=["system:viewer"],
    )
    bootstrap = next(
        s
        for s in client.get(URL, headers=admin.headers).json()["results"]
        if s["description"] == "Bootstrap"
    )
    assert child["createdByUserUuid"] == bootstrap["userUuid"]
    assert child["createdBy"] == {
        "userUuid": bootstrap["userUuid"],
        "firstName": "Bootstrap",
        "lastName": "",
    }
    events = audit_events(runtime, organization_uuid=org.uuid, prefix="service_account.")
    child_event = next(e for e in events if e.target_label == "Child")
    assert (child_event.actor_type, child_event.actor_uuid, child_event.actor_label) == (
        "service_account",
        bootstrap["uuid"],
        "Bootstrap",
    )

    assert client.delete(f"{URL}/{sa['uuid']}", headers=admin.headers).status_code == 200
    with transaction(runtime.sessions) as session:
        row = session.get(User, got["userUuid"])
        assert row is not None
        assert row.first_name == "Nightly export" and not row.is_active and row.is_service_account
        assert session.get(ServiceAccount, sa["uuid"]) is None


def test_custom_role_shape(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    role_uuid = add_custom_role(
        runtime, org, "Deployer", ["view:Project", "manage:DeployProject", "view:Organization"]
    )
    sa = created(client, admin.headers, description="Deployer bot", roleUuid=role_uuid)
    assert sa["scopes"] == [] and sa["roleUuid"] == role_uuid
    with transaction(runtime.sessions) as session:
        user = session.get(User, sa["userUuid"])
        assert user is not None and user.role == "member" and user.custom_role_uuid == role_uuid
    assert authenticated(client, bearer(sa["token"]))
    # Not an org admin: the SA API is closed to it.
    assert error(client.get(URL, headers=bearer(sa["token"]))) == (
        403,
        "You do not have permission",
    )
    assert client.get(f"{URL}/{sa['uuid']}/projects", headers=admin.headers).json()["results"] == []


def test_project_scope_shape(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    jaffle, shop = make_project(runtime, org, "Jaffle"), make_project(runtime, org, "Shop")
    role_uuid = add_custom_role(runtime, org, "Chart maker", ["view:Project", "manage:SavedChart"])
    sa = created(
        client,
        admin.headers,
        description="dbt CI",
        scopes=["system:member"],
        projectAccess=[
            {"projectUuid": jaffle, "role": "developer"},
            {"projectUuid": shop, "roleUuid": role_uuid},
        ],
    )
    assert sa["scopes"] == ["system:member"] and sa["roleUuid"] is None
    assert sa["projectAccessCount"] == 2
    projects = client.get(f"{URL}/{sa['uuid']}/projects", headers=admin.headers).json()["results"]
    assert sorted(projects, key=lambda p: p["projectName"]) == [
        {"projectUuid": jaffle, "projectName": "Jaffle", "role": "developer"},
        {
            "projectUuid": shop,
            "projectName": "Shop",
            "roleUuid": role_uuid,
            "roleName": "Chart maker",
        },
    ]
    with transaction(runtime.sessions) as session:
        rows = session.scalars(
            select(ProjectMembership).where(ProjectMembership.user_uuid == sa["userUuid"])
        )
        assert {(m.project_uuid, m.role, m.role_uuid) for m in rows} == {
            (jaffle, "developer", None),
            (shop, None, role_uuid),
        }
    listed = client.get(URL, headers=admin.headers).json()["results"]
    assert listed[0]["projectAccessCount"] == 2
    assert authenticated(client, bearer(sa["token"]))


def test_edit_switches_shapes_and_clears_the_old_grants(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    jaffle, shop = make_project(runtime, org, "Jaffle"), make_project(runtime, org, "Shop")
    role_uuid = add_custom_role(runtime, org, "Reader", ["view:Project"])
    sa = created(
        client,
        admin.headers,
        scopes=["system:member"],
        projectAccess=[{"projectUuid": jaffle, "role": "viewer"}],
    )
    path = f"{URL}/{sa['uuid']}"

    def state() -> tuple[str, str | None, set[tuple[str, str | None]]]:
        with transaction(runtime.sessions) as session:
            user = session.get(User, sa["userUuid"])
            assert user is not None
            grants = {
                (m.project_uuid, m.role)
                for m in session.scalars(
                    select(ProjectMembership).where(ProjectMembership.user_uuid == user.uuid)
                )
            }
            return user.role, user.custom_role_uuid, grants

    # project -> project: grants replaced
    r = client.patch(
        path,
        json={"description": "x", "projectAccess": [{"projectUuid": shop, "role": "editor"}]},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"]["scopes"] == ["system:member"]
    assert state() == ("member", None, {(shop, "editor")})
    # project -> custom role: project grants cleared
    r = client.patch(path, json={"description": "x", "roleUuid": role_uuid}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["results"]["scopes"], r.json()["results"]["roleUuid"]) == ([], role_uuid)
    assert r.json()["results"]["projectAccessCount"] == 0
    assert state() == ("member", role_uuid, set())
    # custom role -> org system role: role cleared
    r = client.patch(
        path, json={"description": "x", "scopes": ["system:developer"]}, headers=admin.headers
    )
    assert (r.json()["results"]["scopes"], r.json()["results"]["roleUuid"]) == (
        ["system:developer"],
        None,
    )
    assert state() == ("developer", None, set())
    # org -> legacy scopes (their union; the highest becomes the org role)
    r = client.patch(
        path, json={"description": "x", "scopes": ["org:read", "org:edit"]}, headers=admin.headers
    )
    assert r.json()["results"]["scopes"] == ["org:read", "org:edit"]
    assert state() == ("editor", None, set())
    # org -> project via scopes + projectAccess
    r = client.patch(
        path,
        json={
            "description": "x",
            "scopes": ["system:member"],
            "projectAccess": [{"projectUuid": jaffle, "role": "admin"}],
        },
        headers=admin.headers,
    )
    assert r.json()["results"]["scopes"] == ["system:member"]
    assert state() == ("member", None, {(jaffle, "admin")})
    # rename only keeps everything
    r = client.patch(path, json={"description": "Renamed"}, headers=admin.headers)
    assert r.json()["results"]["projectAccessCount"] == 1
    assert state() == ("member", None, {(jaffle, "admin")})

    updates = audit_events(runtime, "service_account.updated", organization_uuid=org.uuid)
    assert len(updates) == 6
    first = updates[0].details
    assert first["before"]["projectAccess"] == [
        {"projectUuid": jaffle, "role": "viewer", "roleUuid": None}
    ]
    assert first["after"]["projectAccess"] == [
        {"projectUuid": shop, "role": "editor", "roleUuid": None}
    ]
    assert first["before"]["description"] == "CI deploys" and first["after"]["description"] == "x"
    assert updates[1].details["after"]["roleUuid"] == role_uuid
    assert updates[-1].details == {
        "before": {"description": "x"},
        "after": {"description": "Renamed"},
    }


def test_edit_takes_effect_on_the_next_request(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    sa = created(client, admin.headers, scopes=["system:admin"])
    headers = bearer(sa["token"])
    assert client.get(URL, headers=headers).status_code == 200  # cached now
    r = client.patch(
        f"{URL}/{sa['uuid']}",
        json={"description": "x", "scopes": ["system:viewer"]},
        headers=admin.headers,
    )
    assert r.status_code == 200
    assert error(client.get(URL, headers=headers)) == (403, "You do not have permission")


def test_identity_fields_in_bodies_are_ignored(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    other = make_org(runtime, "Other")
    admin = org.people["admin"]
    sa = created(
        client,
        admin.headers,
        scopes=["system:viewer"],
        organizationUuid=other.uuid,
        userUuid=other.people["admin"].uuid,
        createdByUserUuid=other.people["admin"].uuid,
        uuid="00000000-0000-0000-0000-000000000000",
    )
    assert sa["organizationUuid"] == org.uuid
    assert sa["createdByUserUuid"] == admin.uuid
    assert sa["userUuid"] != other.people["admin"].uuid
    assert sa["uuid"] != "00000000-0000-0000-0000-000000000000"
    r = client.patch(
        f"{URL}/{sa['uuid']}",
        json={
            "description": "x",
            "organizationUuid": other.uuid,
            "userUuid": other.people["admin"].uuid,
        },
        headers=admin.headers,
    )
    assert r.json()["results"]["organizationUuid"] == org.uuid
    assert r.json()["results"]["userUuid"] == sa["userUuid"]
    assert client.get(URL, headers=other.people["admin"].headers).json()["results"] == []
    with transaction(runtime.sessions) as session:
        user = session.get(User, sa["userUuid"])
        assert user is not None and user.organization_uuid == org.uuid
        other_admin = session.get(User, other.people["admin"].uuid)
        assert other_admin is not None and not other_admin.is_service_account


def test_another_organizations_service_account_is_404(client: TestClient, runtime: Runtime) -> None:
    org, other = make_org(runtime, "Acme"), make_org(runtime, "Other")
    sa = created(client, org.people["admin"].headers, scopes=["system:viewer"])
    headers = other.people["admin"].headers
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"description": "mine"}),
        ("PATCH", "/rotate", {"expiresAt": in_days(3)}),
        ("DELETE", "", None),
        ("GET", "/projects", None),
    ):
        r = client.request(method, f"{URL}/{sa['uuid']}{suffix}", json=body, headers=headers)
        assert error(r) == (404, "Service account not found"), (method, suffix)
    assert client.get(f"{URL}/{sa['uuid']}", headers=org.people["admin"].headers).status_code == 200
    r = client.get(f"{URL}/not-a-uuid", headers=org.people["admin"].headers)
    assert r.status_code == 400


def test_only_organization_managers_may_use_the_api(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "developer", "viewer"))
    sa = created(client, org.people["admin"].headers, scopes=["system:viewer"])
    assert error(client.get(URL)) == (401, "Unauthorized")
    for role in ("developer", "viewer"):
        headers = org.people[role].headers
        assert error(client.get(URL, headers=headers)) == (403, "You do not have permission")
        assert error(create(client, headers, scopes=["system:viewer"]))[0] == 403
        assert error(client.delete(f"{URL}/{sa['uuid']}", headers=headers))[0] == 403
    # A person whose custom org role holds manage:Organization may.
    person = add_person(runtime, org, "member", key="manager")
    role_uuid = add_custom_role(runtime, org, "Org manager", ["manage:Organization"])
    bind_org_role(runtime, person.uuid, role_uuid)
    assert client.get(URL, headers=person.headers).status_code == 200


def test_legacy_and_setup_style_admin_token_manages(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    sa = created(client, org.people["admin"].headers, scopes=["org:admin"])
    with transaction(runtime.sessions) as session:
        user = session.get(User, sa["userUuid"])
        assert user is not None and user.role == "admin"
    assert client.get(URL, headers=bearer(sa["token"])).status_code == 200
    child = created(client, bearer(sa["token"]), scopes=["system:viewer"], description="child")
    assert child["createdByUserUuid"] == sa["userUuid"]


def test_list_has_no_n_plus_one(client: TestClient, runtime: Runtime) -> None:
    from sqlalchemy import event

    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    project = make_project(runtime, org, "Jaffle")
    for i in range(3):
        created(
            client,
            admin.headers,
            description=f"sa {i}",
            scopes=["system:member"],
            projectAccess=[{"projectUuid": project, "role": "viewer"}],
        )
    assert client.get(URL, headers=admin.headers).status_code == 200  # warm the principal cache

    def count_list_queries() -> int:
        queries: list[str] = []

        def listener(_c, _cur, statement, *_a) -> None:  # type: ignore[no-untyped-def]
            queries.append(statement)

        event.listen(runtime.engine, "before_cursor_execute", listener)
        try:
            r = client.get(URL, headers=admin.headers)
        finally:
            event.remove(runtime.engine, "before_cursor_execute", listener)
        assert r.status_code == 200
        # (authentication may query memberships for the caller; the list itself is one query)
        return len([q for q in queries if "service_accounts" in q])

    few = count_list_queries()
    for i in range(7):
        created(
            client,
            admin.headers,
            description=f"more {i}",
            scopes=["system:member"],
            projectAccess=[{"projectUuid": project, "role": "viewer"}],
        )
    client.get(URL, headers=admin.headers)
    assert count_list_queries() == few == 1
    listed = client.get(URL, headers=admin.headers).json()["results"]
    assert len(listed) == 10 and {s["projectAccessCount"] for s in listed} == {1}


def test_creator_deleted_reads_null(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    person = add_person(runtime, org, "admin", key="second")
    sa = created(client, person.headers, scopes=["system:viewer"])
    with transaction(runtime.sessions) as session:
        user = session.get(User, person.uuid)
        session.delete(user)
    got = client.get(f"{URL}/{sa['uuid']}", headers=org.people["admin"].headers).json()["results"]
    assert got["createdBy"] is None and got["createdByUserUuid"] is None


def test_last_used_is_throttled(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    sa = created(client, org.people["admin"].headers, scopes=["system:viewer"])
    clock.freeze(utcnow())
    assert authenticated(client, {**bearer(sa["token"]), "User-Agent": "first-agent"})
    got = client.get(f"{URL}/{sa['uuid']}", headers=org.people["admin"].headers).json()["results"]
    assert got["lastUsedAt"] == iso(utcnow()) and got["lastUsedUserAgent"] == "first-agent"
    clock.advance(timedelta(seconds=30))
    runtime.principal_cache.clear()
    assert authenticated(client, {**bearer(sa["token"]), "User-Agent": "second-agent"})
    got = client.get(f"{URL}/{sa['uuid']}", headers=org.people["admin"].headers).json()["results"]
    assert got["lastUsedUserAgent"] == "first-agent"


def test_deletion_reaches_another_process_within_a_second(
    make_runtime: Callable[..., Runtime],
) -> None:
    here, there = make_runtime(), make_runtime()
    org = make_org(here, "Acme")
    client_here, client_there = (
        TestClient(create_app(runtime=here)),
        TestClient(create_app(runtime=there)),
    )
    sa = created(client_here, org.people["admin"].headers, scopes=["system:admin"])
    headers = bearer(sa["token"])
    assert client_there.get(URL, headers=headers).status_code == 200  # cached over there
    assert (
        client_here.delete(f"{URL}/{sa['uuid']}", headers=org.people["admin"].headers).status_code
        == 200
    )
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and client_there.get(URL, headers=headers).status_code != 401:
        time.sleep(0.05)
    assert error(client_there.get(URL, headers=headers)) == (401, REJECTED)
