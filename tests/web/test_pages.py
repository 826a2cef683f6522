"""The web UI over HTTP (both databases): login, registration, CSRF, access, readable errors."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from lightkeeper.models import Organization, ServiceAccount
from lightkeeper.runtime import Runtime
from tests.support import PASSWORD, count_rows, make_org
from tests.web.helpers import csrf_of, login, unlabelled_fields

SA_PAGE = "/generalSettings/serviceAccounts"


def test_login_page_renders_with_labels(client: TestClient, runtime: Runtime) -> None:
    make_org(runtime, "Acme")

    response = client.get("/login")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<label for="field-email"' in html and ">Email address</label>" in html
    assert '<label for="field-password"' in html and ">Password</label>" in html
    assert unlabelled_fields(html) == []
    assert '<button type="submit"' in html
    assert "Content-Security-Policy" in response.headers
    assert response.headers["x-frame-options"] == "DENY"


def test_login_form_sets_the_session_cookie(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    page = client.get("/login?next=/generalSettings/users")

    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_of(page.text),
            "email": org.people["admin"].email,
            "password": PASSWORD,
            "next": "/generalSettings/users",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/generalSettings/users"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("lightkeeper_session=")
    )
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert client.get("/generalSettings/users").status_code == 200
    # The same cookie authenticates the JSON API as the person.
    assert client.get("/api/v1/user").json()["results"]["email"] == org.people["admin"].email


def test_login_failure_is_a_readable_page_without_a_cookie(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    page = client.get("/login")

    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_of(page.text),
            "email": org.people["admin"].email,
            "password": "nope",
        },
        follow_redirects=False,
    )

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "Email and password do not match" in response.text
    assert "lightkeeper_session=" not in response.headers.get("set-cookie", "")


def test_next_never_leaves_the_site(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_of(page.text),
            "email": org.people["admin"].email,
            "password": PASSWORD,
            "next": "//evil.example/steal",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/generalSettings"


def test_signed_out_pages_send_to_login(client: TestClient, runtime: Runtime) -> None:
    make_org(runtime, "Acme")

    root = client.get("/", follow_redirects=False)
    page = client.get(SA_PAGE, follow_redirects=False)

    assert root.status_code == 302 and root.headers["location"] == "/login"
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/generalSettings/serviceAccounts"


def test_a_service_account_token_is_never_a_session(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    created = client.post(
        "/api/v1/service-accounts",
        json={"description": "bot", "scopes": ["system:admin"]},
        headers=org.people["admin"].headers,
    )
    token = created.json()["results"]["token"]
    client.cookies.set("lightkeeper_session", token)

    response = client.get(SA_PAGE, follow_redirects=False)
    header = client.get(
        SA_PAGE, headers={"Authorization": f"Bearer {token}"}, follow_redirects=False
    )

    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    # Pages authenticate by the session cookie only, never by a token header.
    assert header.status_code == 303


def test_form_post_without_csrf_token_is_refused(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    login(client, org.people["admin"])
    form = {"description": "Forged", "scope": "organization", "role": "admin"}

    missing = client.post(SA_PAGE, data=form)
    wrong = client.post(SA_PAGE, data={**form, "csrf_token": "f" * 64})
    logout = client.post("/logout", data={}, follow_redirects=False)

    for response in (missing, wrong, logout):
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "Request refused" in response.text
    assert count_rows(runtime, ServiceAccount) == 0
    assert client.get(SA_PAGE).status_code == 200  # still signed in


def test_csrf_token_belongs_to_its_session(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    alice, mallory = make_client(runtime), make_client(runtime)
    login(alice, org.people["admin"])
    mallory_token = login(mallory, org.people["admin"])

    response = alice.post(
        SA_PAGE,
        data={"description": "x", "role": "viewer", "csrf_token": mallory_token},
    )

    assert response.status_code == 403
    assert count_rows(runtime, ServiceAccount) == 0


def test_anonymous_forms_need_their_token_too(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")

    response = client.post(
        "/login", data={"email": org.people["admin"].email, "password": PASSWORD}
    )

    assert response.status_code == 403
    assert "lightkeeper_session=" not in response.headers.get("set-cookie", "")


def test_viewer_gets_no_access_on_the_service_accounts_page(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    token = login(client, org.people["viewer"])

    page = client.get(SA_PAGE)
    post = client.post(
        SA_PAGE,
        data={"csrf_token": token, "description": "sneaky", "role": "viewer"},
        headers={"Accept": "application/json"},
    )
    settings = client.get("/generalSettings/password")

    assert page.status_code == 403
    assert "You don&#39;t have access" in page.text or "You don't have access" in page.text
    assert "<h1" in page.text
    assert post.status_code == 403
    assert post.json()["status"] == "error"
    assert count_rows(runtime, ServiceAccount) == 0
    assert 'href="/generalSettings/serviceAccounts"' not in settings.text
    for path in ("/generalSettings/auditLog", "/generalSettings/customRoles"):
        assert client.get(path).status_code == 403


def test_register_only_while_no_organization_exists(client: TestClient, runtime: Runtime) -> None:
    page = client.get("/register")
    assert page.status_code == 200
    assert unlabelled_fields(page.text) == []
    assert client.get("/login", follow_redirects=False).headers["location"] == "/register"

    response = client.post(
        "/register",
        data={
            "csrf_token": csrf_of(page.text),
            "firstName": "Ada",
            "lastName": "Admin",
            "email": "ada@acme.example",
            "organizationName": "Acme",
            "password": "long enough password",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert "lightkeeper_session=" in response.headers["set-cookie"]
    assert count_rows(runtime, Organization) == 1
    again = client.get("/register", follow_redirects=False)
    assert again.status_code == 302 and again.headers["location"] == "/login"
    second = client.post(
        "/register",
        data={
            "csrf_token": csrf_of(page.text),
            "firstName": "Eve",
            "email": "eve@evil.example",
            "organizationName": "Evil",
            "password": "long enough password",
        },
        follow_redirects=False,
    )
    assert second.status_code == 303 and second.headers["location"] == "/login"
    assert count_rows(runtime, Organization) == 1


def test_registration_errors_are_shown_in_the_form(client: TestClient, runtime: Runtime) -> None:
    page = client.get("/register")

    response = client.post(
        "/register",
        data={
            "csrf_token": csrf_of(page.text),
            "firstName": "Ada",
            "email": "ada@acme.example",
            "organizationName": "Acme",
            "password": "short",
        },
    )

    assert response.status_code == 400
    assert "Password must be at least 8 characters long" in response.text
    assert 'value="ada@acme.example"' in response.text
    assert count_rows(runtime, Organization) == 0


def test_unknown_settings_pages_and_rows_are_readable_404_pages(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    login(client, org.people["admin"])

    for path in (
        "/generalSettings/nothing-here",
        "/generalSettings/customRoles/not-a-uuid",
        "/generalSettings/projects/00000000-0000-0000-0000-000000000000",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "<h1" in response.text and '"status"' not in response.text


def test_every_settings_page_labels_its_fields(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "viewer"))
    login(client, org.people["admin"])
    for path in (
        SA_PAGE,
        "/generalSettings/personalAccessTokens",
        "/generalSettings/users",
        "/generalSettings/projects",
        "/generalSettings/customRoles",
        "/generalSettings/customRoles/new",
        "/generalSettings/auditLog",
        "/generalSettings/password",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert unlabelled_fields(response.text) == [], path
