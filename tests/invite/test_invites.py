"""Invite links: created by those who may invite, consumed by registration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.kit.clock import clock
from lightkeeper.models import AuditEvent, CustomRole, InviteLink, User
from lightkeeper.runtime import Runtime
from tests.support import in_days, make_org

INVITES = "/api/v1/invite-links"


def _register(client: TestClient, code: str, **extra: str) -> httpx.Response:
    body = {
        "inviteCode": code,
        "firstName": "Grace",
        "lastName": "Hopper",
        "password": "compiler-1952",
    }
    response: httpx.Response = client.post("/api/v1/user", json={**body, **extra})
    return response


def test_an_invite_lets_a_person_register_with_its_email_and_role(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]

    created = client.post(
        INVITES,
        headers=admin.headers,
        json={"email": "Grace@Acme.example", "role": "editor", "expiresAt": in_days(3)},
    )

    assert created.status_code == 200
    invite = created.json()["results"]
    code = invite["inviteCode"]
    assert invite["inviteUrl"] == f"http://localhost:8080/invite/{code}"
    assert invite["email"] == "grace@acme.example"
    assert invite["role"] == "editor"
    assert invite["expiresAt"].endswith("Z")
    listed = client.get(INVITES, headers=admin.headers).json()["results"]
    assert [i["inviteCode"] for i in listed] == [code]

    # The invite fixes the email: one in the body is ignored.
    registered = _register(client, code, email="someone-else@evil.example")

    assert registered.status_code == 200
    person = registered.json()["results"]
    assert person["email"] == "grace@acme.example"
    assert person["role"] == "editor"
    assert person["organizationUuid"] == org.uuid
    assert client.get("/api/v1/user").json()["results"]["userUuid"] == person["userUuid"]
    # Consumed: it is gone from the list and cannot be used twice.
    assert client.get(INVITES, headers=admin.headers).json()["results"] == []
    client.cookies.clear()
    assert _register(client, code).status_code == 404
    with transaction(runtime.sessions) as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["invite_link.created", "user.created"]


def test_the_invite_url_follows_site_url(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    client = make_client(SITE_URL="https://lightkeeper.acme.example/")

    invite = client.post(
        INVITES, headers=org.people["admin"].headers, json={"email": "x@acme.example"}
    )

    results = invite.json()["results"]
    assert (
        results["inviteUrl"] == f"https://lightkeeper.acme.example/invite/{results['inviteCode']}"
    )
    assert results["role"] == "viewer"  # the organization's default role


def test_unknown_and_expired_invites_are_refused(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    code = client.post(
        INVITES,
        headers=org.people["admin"].headers,
        json={"email": "late@acme.example", "expiresAt": in_days(1)},
    ).json()["results"]["inviteCode"]

    unknown = _register(client, "no-such-code")
    clock.advance(timedelta(days=2))
    expired = _register(client, code)

    assert unknown.status_code == 404
    assert "Invite link not found" in unknown.json()["error"]["message"]
    assert expired.status_code == 400
    assert "expired" in expired.json()["error"]["message"]
    assert client.get(INVITES, headers=org.people["admin"].headers).json()["results"] == []


def test_invites_need_manage_invite_link_and_a_new_email(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor"))

    by_editor = client.post(
        INVITES, headers=org.people["editor"].headers, json={"email": "x@acme.example"}
    )
    listed_by_editor = client.get(INVITES, headers=org.people["editor"].headers)
    taken = client.post(
        INVITES, headers=org.people["admin"].headers, json={"email": org.people["editor"].email}
    )
    past = client.post(
        INVITES,
        headers=org.people["admin"].headers,
        json={"email": "x@acme.example", "expiresAt": in_days(-1)},
    )
    bad_role = client.post(
        INVITES,
        headers=org.people["admin"].headers,
        json={"email": "x@acme.example", "role": "owner"},
    )

    assert by_editor.status_code == listed_by_editor.status_code == 403
    assert taken.status_code == 409
    assert past.status_code == 400
    assert past.json()["error"]["message"] == "Expire time must be in the future"
    assert bad_role.status_code == 400


def test_an_invite_cannot_grant_more_than_the_inviter_holds(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    with transaction(runtime.sessions) as session:
        role = CustomRole(organization_uuid=org.uuid, name="Inviter", scopes=["manage:InviteLink"])
        session.add(role)
        session.flush()
        viewer = session.get(User, org.people["viewer"].uuid)
        assert viewer is not None
        viewer.custom_role_uuid = role.uuid
    headers = org.people["viewer"].headers

    as_viewer = client.post(
        INVITES, headers=headers, json={"email": "v@acme.example", "role": "viewer"}
    )
    as_editor = client.post(
        INVITES, headers=headers, json={"email": "e@acme.example", "role": "editor"}
    )

    assert as_viewer.status_code == 200
    assert as_editor.status_code == 403
    assert as_editor.json()["error"]["message"] == "Cannot grant permissions exceeding your own"


def test_deleting_an_invite_withdraws_it(client: TestClient, runtime: Runtime) -> None:
    acme = make_org(runtime, "Acme")
    other = make_org(runtime, "Other")
    code = client.post(
        INVITES, headers=acme.people["admin"].headers, json={"email": "x@acme.example"}
    ).json()["results"]["inviteCode"]

    from_other_org = client.delete(f"{INVITES}/{code}", headers=other.people["admin"].headers)
    deleted = client.delete(f"{INVITES}/{code}", headers=acme.people["admin"].headers)

    assert from_other_org.status_code == 404
    assert deleted.status_code == 200
    assert _register(client, code).status_code == 404
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(InviteLink)).all() == []
        assert "invite_link.deleted" in session.scalars(select(AuditEvent.action)).all()


def test_a_new_invite_replaces_the_open_one_for_that_email(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    first = client.post(INVITES, headers=headers, json={"email": "x@acme.example"}).json()[
        "results"
    ]
    second = client.post(
        INVITES, headers=headers, json={"email": "x@acme.example", "role": "editor"}
    ).json()["results"]

    listed = client.get(INVITES, headers=headers).json()["results"]

    assert [i["inviteCode"] for i in listed] == [second["inviteCode"]]
    assert _register(client, first["inviteCode"]).status_code == 404
