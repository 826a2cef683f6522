"""Login, logout, the session cookie, and the login rate limit counted in the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lightkeeper.db import transaction
from lightkeeper.kit.clock import clock
from lightkeeper.models import AuthFailure, User, UserSession
from lightkeeper.runtime import Runtime
from tests.support import PASSWORD, audit_events, count_rows, database_text, make_org

LOGIN = "/api/v1/login"


def test_login_sets_an_http_only_lax_cookie_and_answers_the_principal(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]

    response = client.post(LOGIN, json={"email": admin.email.upper(), "password": PASSWORD})

    assert response.status_code == 200
    cookie_header = response.headers["set-cookie"]
    assert cookie_header.startswith("lightkeeper_session=")
    assert "HttpOnly" in cookie_header
    assert "samesite=lax" in cookie_header.lower()
    assert "Max-Age=86400" in cookie_header
    assert "Secure" not in cookie_header
    results = response.json()["results"]
    assert results["userUuid"] == admin.uuid
    assert results["email"] == admin.email
    assert results["organizationName"] == "Acme"
    assert results["isServiceAccount"] is False
    assert results["isActive"] is True
    # The cookie authenticates, and only its hash is stored.
    cookie = client.cookies["lightkeeper_session"]
    assert client.get("/api/v1/user").json()["results"]["userUuid"] == admin.uuid
    assert cookie not in database_text(runtime)
    assert "user.logged_in" in [e.action for e in audit_events(runtime)]


def test_secure_cookie_and_lifetime_follow_the_settings(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    client = make_client(SECURE_COOKIES=True, COOKIES_MAX_AGE_HOURS=2)

    response = client.post(LOGIN, json={"email": org.people["admin"].email, "password": PASSWORD})

    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]
    assert "Max-Age=7200" in response.headers["set-cookie"]


def test_logout_ends_the_session_and_clears_the_cookie(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    client.post(LOGIN, json={"email": org.people["admin"].email, "password": PASSWORD})
    cookie = client.cookies["lightkeeper_session"]
    assert count_rows(runtime, UserSession) == 1

    response = client.get("/api/v1/logout")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert 'lightkeeper_session=""' in response.headers["set-cookie"]
    assert count_rows(runtime, UserSession) == 0
    client.cookies.clear()
    replay = client.get("/api/v1/user", cookies={"lightkeeper_session": cookie})
    assert replay.status_code == 401
    assert client.get("/api/v1/logout").status_code == 401


def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")

    wrong_password = client.post(
        LOGIN, json={"email": org.people["admin"].email, "password": "nope-nope"}
    )
    unknown_email = client.post(LOGIN, json={"email": "nobody@acme.example", "password": PASSWORD})

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    error = wrong_password.json()["error"]
    assert error["name"] == "AuthorizationError"
    assert error["message"] == "Email and password do not match"
    assert "set-cookie" not in wrong_password.headers
    # Failures are logged, not audited.
    assert [e.action for e in audit_events(runtime)] == []


def test_a_deactivated_person_cannot_log_in(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    with transaction(runtime.sessions) as session:
        user = session.get(User, org.people["editor"].uuid)
        assert user is not None
        user.is_active = False

    response = client.post(LOGIN, json={"email": org.people["editor"].email, "password": PASSWORD})

    assert response.status_code == 401
    assert count_rows(runtime, UserSession) == 0


def test_more_than_ten_failures_for_one_email_are_refused_across_processes(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    email = org.people["admin"].email
    # Two apps with their own runtimes stand for two server processes: nothing is shared in memory.
    first, second = make_client(), make_client()
    for attempt in range(10):
        server = first if attempt % 2 else second
        assert (
            server.post(LOGIN, json={"email": email, "password": "wrong-password"}).status_code
            == 401
        )

    refused = first.post(LOGIN, json={"email": email, "password": PASSWORD})

    assert refused.status_code == 429
    assert refused.json()["error"]["name"] == "TooManyRequestsError"
    assert 1 <= int(refused.headers["retry-after"]) <= 15 * 60
    assert second.post(LOGIN, json={"email": email, "password": PASSWORD}).status_code == 429
    with transaction(runtime.sessions) as session:
        kinds = list(session.scalars(select(AuthFailure.kind).where(AuthFailure.email == email)))
    assert kinds == ["login"] * 10  # refused attempts are not counted: waiting lifts the limit

    clock.advance(timedelta(minutes=15, seconds=1))
    assert first.post(LOGIN, json={"email": email, "password": PASSWORD}).status_code == 200
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(AuthFailure)) == 0


def test_fifty_failures_from_one_address_block_it_for_every_email(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    for n in range(50):
        response = client.post(LOGIN, json={"email": f"guess{n}@acme.example", "password": "x"})
        assert response.status_code == 401

    refused = client.post(LOGIN, json={"email": org.people["admin"].email, "password": PASSWORD})

    assert refused.status_code == 429
    assert "retry-after" in refused.headers


def test_a_new_login_replaces_the_browsers_previous_session(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    email = org.people["admin"].email
    assert client.post(LOGIN, json={"email": email, "password": PASSWORD}).status_code == 200
    first_cookie = client.cookies["lightkeeper_session"]

    # A failed attempt leaves the session alone (and is answered at once, not after a lock wait).
    assert (
        client.post(LOGIN, json={"email": email, "password": "wrong-password"}).status_code == 401
    )
    assert count_rows(runtime, UserSession) == 1
    assert client.post(LOGIN, json={"email": email, "password": PASSWORD}).status_code == 200

    assert client.cookies["lightkeeper_session"] != first_cookie
    assert count_rows(runtime, UserSession) == 1
    client.cookies.clear()
    assert (
        client.get("/api/v1/user", cookies={"lightkeeper_session": first_cookie}).status_code == 401
    )
