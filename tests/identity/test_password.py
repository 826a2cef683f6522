"""`POST /api/v1/user/password`: from a session, with the current password; other sessions end."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lightkeeper.db import transaction
from lightkeeper.models import AuditEvent, AuthFailure
from lightkeeper.runtime import Runtime
from tests.identity.helpers import logged_in
from tests.support import PASSWORD, make_org

CHANGE = "/api/v1/user/password"
NEW_PASSWORD = "a much better passphrase"


def test_changing_the_password_ends_the_other_sessions(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    editor = org.people["editor"]
    laptop = logged_in(make_client, runtime, editor.email)
    phone = logged_in(make_client, runtime, editor.email)
    admins_browser = logged_in(make_client, runtime, org.people["admin"].email)

    response = laptop.post(CHANGE, json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD})

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert laptop.get("/api/v1/user").status_code == 200
    assert phone.get("/api/v1/user").status_code == 401
    assert admins_browser.get("/api/v1/user").status_code == 200  # other people keep theirs
    # Personal tokens are not sessions: they keep working.
    assert phone.get("/api/v1/user", headers=editor.headers).status_code == 200
    fresh = make_client(runtime)
    assert (
        fresh.post("/api/v1/login", json={"email": editor.email, "password": PASSWORD}).status_code
        == 401
    )
    assert (
        fresh.post(
            "/api/v1/login", json={"email": editor.email, "password": NEW_PASSWORD}
        ).status_code
        == 200
    )
    with transaction(runtime.sessions) as session:
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "user.password_changed")
        )
        assert event is not None
        assert event.actor_uuid == event.target_uuid == editor.uuid
        assert NEW_PASSWORD not in repr(event.details)


def test_the_current_password_must_match_and_the_new_one_be_long_enough(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    browser = logged_in(make_client, runtime, org.people["admin"].email)

    wrong = browser.post(
        CHANGE, json={"currentPassword": "not-it-at-all", "newPassword": NEW_PASSWORD}
    )
    short = browser.post(CHANGE, json={"currentPassword": PASSWORD, "newPassword": "short"})

    assert wrong.status_code == 400
    assert wrong.json()["error"]["message"] == "Current password is incorrect"
    assert short.status_code == 400
    assert "at least 8 characters" in short.json()["error"]["message"]
    # A wrong current password counts like a failed login.
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(AuthFailure)) == 1
    assert browser.get("/api/v1/user").status_code == 200


def test_a_token_cannot_change_the_password(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")

    response = client.post(
        CHANGE,
        headers=org.people["admin"].headers,
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
    )

    assert response.status_code == 403
    assert "browser session" in response.json()["error"]["message"]
