"""Personal access tokens: minted from a session, shown once, rotated by the rules, revoked."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.identity import people
from lightkeeper.kit.clock import clock
from lightkeeper.models import PersonalAccessToken, User, UserSession
from lightkeeper.runtime import Runtime
from tests.identity.helpers import logged_in
from tests.support import add_service_account, audit_events, auth, database_text, in_days, make_org

TOKENS = "/api/v1/user/personal-access-tokens"
TOKEN_SHAPE = re.compile(r"ldpat_[0-9A-Za-z]{38}")
FIELDS = {"uuid", "description", "expiresAt", "createdAt", "lastUsedAt", "rotatedAt", "tokenHint"}


def _create(client: TestClient, **body: object) -> dict[str, object]:
    response = client.post(TOKENS, json={"description": "laptop", "expiresAt": None, **body})
    assert response.status_code == 200, response.text
    results: dict[str, object] = response.json()["results"]
    return results


def test_lifecycle_create_use_list_delete(
    make_client: Callable[..., TestClient], runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    editor = org.people["editor"]
    browser = logged_in(make_client, runtime, editor.email)
    api = make_client(runtime, LOG_LEVEL="debug")

    created = _create(browser, description="  dbt deploys  ", expiresAt=in_days(30))

    token = str(created["token"])
    assert TOKEN_SHAPE.fullmatch(token)
    assert set(created) == FIELDS | {"token"}
    assert created["description"] == "dbt deploys"
    assert created["tokenHint"] == f"ldpat_\u2026{token[-4:]}"
    assert created["rotatedAt"] is None and created["lastUsedAt"] is None
    for scheme in ("ApiKey", "Bearer", "apikey"):
        me = api.get("/api/v1/user", headers={"Authorization": f"{scheme} {token}"})
        assert me.status_code == 200
        assert me.json()["results"]["userUuid"] == editor.uuid
    # Listing works from the session and with a token, and never shows a value.
    for listing in (browser.get(TOKENS), api.get(TOKENS, headers=auth(token))):
        assert listing.status_code == 200
        rows = listing.json()["results"]
        assert {r["uuid"] for r in rows} == {created["uuid"], _uuid_of(runtime, editor.token)}
        assert all(set(r) == FIELDS for r in rows)
    assert next(r for r in rows if r["uuid"] == created["uuid"])["lastUsedAt"] is not None

    deleted = api.delete(f"{TOKENS}/{created['uuid']}", headers=auth(token))

    assert deleted.status_code == 200
    assert api.get("/api/v1/user", headers=auth(token)).status_code == 401
    assert [e.action for e in audit_events(runtime)][-2:] == [
        "personal_access_token.created",
        "personal_access_token.deleted",
    ]
    assert token not in database_text(runtime)
    assert token not in capsys.readouterr().err


def _uuid_of(runtime: Runtime, token: str) -> str:
    _key, digest = runtime.keyring.hash(token)
    with transaction(runtime.sessions) as session:
        pat = session.scalar(
            select(PersonalAccessToken).where(PersonalAccessToken.token_hash == digest)
        )
        assert pat is not None
        return pat.uuid


def test_tokens_are_minted_only_from_a_session(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    _sa, _principal, sa_token = add_service_account(runtime, org)

    with_token = client.post(
        TOKENS, headers=org.people["admin"].headers, json={"description": "more"}
    )
    as_service_account = client.post(TOKENS, headers=auth(sa_token), json={"description": "more"})
    sa_listing = client.get(TOKENS, headers=auth(sa_token))
    anonymous = client.post(TOKENS, json={"description": "more"})

    assert with_token.status_code == 403
    assert "browser session" in with_token.json()["error"]["message"]
    assert as_service_account.status_code == sa_listing.status_code == 403
    assert (
        as_service_account.json()["error"]["message"]
        == "Service accounts cannot have personal access tokens"
    )
    assert (
        sa_listing.json()["error"]["message"]
        == "Service accounts cannot have personal access tokens"
    )
    assert anonymous.status_code == 401


def test_bad_bodies_are_refused(make_client: Callable[..., TestClient], runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    browser = logged_in(make_client, runtime, org.people["admin"].email)

    past = browser.post(TOKENS, json={"description": "x", "expiresAt": in_days(-1)})
    no_offset = browser.post(TOKENS, json={"description": "x", "expiresAt": "2099-01-01T00:00:00"})
    no_description = browser.post(TOKENS, json={"description": "   "})

    assert past.status_code == 400
    assert past.json()["error"]["message"] == "Expire time must be in the future"
    assert no_offset.status_code == 400
    assert no_description.status_code == 400
    assert no_description.json()["error"]["message"] == "Description is required"


def test_people_manage_only_their_own_tokens(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    other_org = make_org(runtime, "Other")
    admins_token = _uuid_of(runtime, org.people["admin"].token)
    editor = org.people["editor"]

    for headers in (editor.headers, other_org.people["admin"].headers):
        assert (
            make_client(runtime).delete(f"{TOKENS}/{admins_token}", headers=headers).status_code
            == 404
        )
    browser = logged_in(make_client, runtime, editor.email)
    rotate = browser.patch(f"{TOKENS}/{admins_token}/rotate", json={"expiresAt": in_days(5)})

    assert rotate.status_code == 404
    assert (
        make_client(runtime).get("/api/v1/user", headers=org.people["admin"].headers).status_code
        == 200
    )


def test_rotation_rules(make_client: Callable[..., TestClient], runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    browser = logged_in(make_client, runtime, org.people["admin"].email)
    api = make_client(runtime)
    forever = _create(browser, expiresAt=None)
    expiring = _create(browser, expiresAt=in_days(10))
    old_token = str(expiring["token"])

    no_expiry = browser.patch(f"{TOKENS}/{forever['uuid']}/rotate", json={"expiresAt": in_days(5)})
    missing_expiry = browser.patch(f"{TOKENS}/{expiring['uuid']}/rotate", json={"expiresAt": None})
    past_expiry = browser.patch(
        f"{TOKENS}/{expiring['uuid']}/rotate", json={"expiresAt": in_days(-1)}
    )
    rotated = browser.patch(f"{TOKENS}/{expiring['uuid']}/rotate", json={"expiresAt": in_days(20)})

    assert no_expiry.status_code == 400
    assert no_expiry.json()["error"]["message"] == "Token with no expiration date cannot be rotated"
    assert missing_expiry.status_code == past_expiry.status_code == 400
    assert past_expiry.json()["error"]["message"] == "Expire time must be in the future"
    assert rotated.status_code == 200
    new = rotated.json()["results"]
    assert new["uuid"] == expiring["uuid"]
    assert new["token"] != old_token and TOKEN_SHAPE.fullmatch(new["token"])
    assert new["rotatedAt"] is not None
    assert new["expiresAt"] != expiring["expiresAt"]
    assert new["tokenHint"] == f"ldpat_\u2026{new['token'][-4:]}"
    assert api.get("/api/v1/user", headers=auth(old_token)).status_code == 401
    assert api.get("/api/v1/user", headers=auth(new["token"])).status_code == 200

    again = browser.patch(f"{TOKENS}/{expiring['uuid']}/rotate", json={"expiresAt": in_days(20)})

    assert again.status_code == 429
    assert again.json()["error"]["message"] == "Token can only be rotated once per hour"
    assert 3590 <= int(again.headers["retry-after"]) <= 3600
    assert api.get("/api/v1/user", headers=auth(new["token"])).status_code == 200

    clock.advance(timedelta(hours=1))
    later = browser.patch(f"{TOKENS}/{expiring['uuid']}/rotate", json={"expiresAt": in_days(20)})

    assert later.status_code == 200
    assert api.get("/api/v1/user", headers=auth(new["token"])).status_code == 401
    assert [e.action for e in audit_events(runtime)].count("personal_access_token.rotated") == 2
    text = database_text(runtime)
    assert all(t not in text for t in (old_token, new["token"], later.json()["results"]["token"]))


def test_a_token_may_rotate_itself_but_not_another(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    browser = logged_in(make_client, runtime, org.people["admin"].email)
    first, second = _create(browser, expiresAt=in_days(3)), _create(browser, expiresAt=in_days(3))
    api = make_client(runtime)

    other = api.patch(
        f"{TOKENS}/{second['uuid']}/rotate",
        headers=auth(str(first["token"])),
        json={"expiresAt": in_days(9)},
    )
    itself = api.patch(
        f"{TOKENS}/{first['uuid']}/rotate",
        headers=auth(str(first["token"])),
        json={"expiresAt": in_days(9)},
    )

    assert other.status_code == 403
    assert itself.status_code == 200
    assert (
        api.get("/api/v1/user", headers=auth(itself.json()["results"]["token"])).status_code == 200
    )


def test_simultaneous_rotations_yield_one_new_token(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    browser = logged_in(make_client, runtime, org.people["admin"].email)
    pat = _create(browser, expiresAt=in_days(3))
    cookie = browser.cookies["lightkeeper_session"]
    clients = [make_client(runtime) for _ in range(6)]

    def rotate(n: int) -> int:
        response = clients[n].patch(
            f"{TOKENS}/{pat['uuid']}/rotate",
            cookies={"lightkeeper_session": cookie},
            json={"expiresAt": in_days(9)},
        )
        return int(response.status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(rotate, range(6)))

    assert sorted(statuses) == [200, 429, 429, 429, 429, 429]


def test_settings_gate_personal_tokens(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor"))

    disabled = make_client(PAT_ENABLED=False)
    disabled.post(
        "/api/v1/login",
        json={"email": org.people["admin"].email, "password": "correct horse battery"},
    )
    refused = disabled.post(TOKENS, json={"description": "x"})
    assert refused.status_code == 403
    assert "disabled" in refused.json()["error"]["message"]
    assert disabled.get("/api/v1/user", headers=org.people["admin"].headers).status_code == 401

    admins_only = make_client(PAT_ALLOWED_ORG_ROLES="admin")
    admins_only.post(
        "/api/v1/login",
        json={"email": org.people["editor"].email, "password": "correct horse battery"},
    )
    by_editor = admins_only.post(TOKENS, json={"description": "x"})
    assert by_editor.status_code == 403
    assert (
        "editor role may not create personal access tokens" in by_editor.json()["error"]["message"]
    )

    capped = make_client(PAT_MAX_EXPIRATION_TIME_IN_DAYS=30)
    capped.post(
        "/api/v1/login",
        json={"email": org.people["admin"].email, "password": "correct horse battery"},
    )
    never = capped.post(TOKENS, json={"description": "x", "expiresAt": None})
    too_late = capped.post(TOKENS, json={"description": "x", "expiresAt": in_days(31)})
    fine = capped.post(TOKENS, json={"description": "x", "expiresAt": in_days(30)})
    assert never.status_code == too_late.status_code == 400
    assert "30 days" in never.json()["error"]["message"]
    assert "30 days" in too_late.json()["error"]["message"]
    assert fine.status_code == 200


def test_an_admin_sees_and_revokes_a_members_tokens(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor", "viewer"))
    other = make_org(runtime, "Other")
    editor = org.people["editor"]
    path = f"/api/v1/org/users/{editor.uuid}/personal-access-tokens"
    token_uuid = _uuid_of(runtime, editor.token)

    listed = client.get(path, headers=org.people["admin"].headers)
    by_viewer = client.get(path, headers=org.people["viewer"].headers)
    from_other_org = client.get(path, headers=other.people["admin"].headers)
    malformed = client.get(
        "/api/v1/org/users/not-a-uuid/personal-access-tokens", headers=org.people["admin"].headers
    )

    assert listed.status_code == 200
    assert [t["uuid"] for t in listed.json()["results"]] == [token_uuid]
    assert set(listed.json()["results"][0]) == FIELDS
    assert by_viewer.status_code == 403
    assert from_other_org.status_code == 404
    assert malformed.status_code == 400
    assert (
        client.delete(f"{path}/{token_uuid}", headers=org.people["viewer"].headers).status_code
        == 403
    )

    revoked = client.delete(f"{path}/{token_uuid}", headers=org.people["admin"].headers)

    assert revoked.status_code == 200
    assert client.get("/api/v1/user", headers=editor.headers).status_code == 401
    assert (
        client.delete(f"{path}/{token_uuid}", headers=org.people["admin"].headers).status_code
        == 404
    )
    assert [e.action for e in audit_events(runtime)][-1] == "personal_access_token.deleted"


def test_offboarding_ends_sessions_and_revokes_tokens(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    editor = org.people["editor"]
    browser = logged_in(make_client, runtime, editor.email)

    with transaction(runtime.sessions) as session:
        user = session.get(User, editor.uuid)
        assert user is not None
        people.offboard_user(session, user)

    assert browser.get("/api/v1/user").status_code == 401
    assert make_client(runtime).get("/api/v1/user", headers=editor.headers).status_code == 401
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(UserSession)).all() == []
        assert session.scalars(select(PersonalAccessToken.user_uuid)).all() == [
            org.people["admin"].uuid
        ]


def test_lightdash_paths_under_me_rotate_and_delete(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    """Lightdash's `/api/v1/user/me/personal-access-tokens/…`: the same rules as the older paths."""
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    browser = logged_in(make_client, runtime, org.people["editor"].email)
    me = "/api/v1/user/me/personal-access-tokens"
    created = browser.post(me, json={"description": "CLI", "expiresAt": in_days(30)})
    assert created.status_code == 200, created.text  # 200, as the CLI's email login expects
    uuid = created.json()["results"]["uuid"]

    rotated = browser.patch(f"{me}/{uuid}/rotate", json={"expiresAt": in_days(10)})
    assert rotated.status_code == 200, rotated.text
    new_token = rotated.json()["results"]["token"]
    assert new_token != created.json()["results"]["token"]
    assert browser.get("/api/v1/user", headers=auth(new_token)).status_code == 200

    deleted = browser.delete(f"{me}/{uuid}")
    assert deleted.status_code == 200
    assert browser.get("/api/v1/user", headers=auth(new_token)).status_code == 401
    assert browser.delete(f"{me}/{uuid}").status_code == 404
    assert [e.action for e in audit_events(runtime, prefix="personal_access_token.")] == [
        "personal_access_token.created",
        "personal_access_token.rotated",
        "personal_access_token.deleted",
    ]
