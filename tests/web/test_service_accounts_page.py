"""The Service Accounts page over HTTP: what it shows, and its form posts (same services as the API)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.kit.clock import clock
from lightkeeper.models import AuditEvent, ServiceAccount
from lightkeeper.runtime import Runtime
from tests.support import make_org, make_project
from tests.web.helpers import login

PAGE = "/generalSettings/serviceAccounts"
JSON = {"Accept": "application/json"}


def _create(client: TestClient, token: str, **form: object) -> dict[str, object]:
    data: dict[str, object] = {"csrf_token": token, "expiration": "30", "scope": "organization"}
    data.update(form)
    response = client.post(PAGE, data=data, headers=JSON)
    body: dict[str, object] = response.json()
    body["_status"] = response.status_code
    return body


def _rows(html: str) -> list[str]:
    rows = re.findall(r"<tr data-sa-row.*?</tr>", html, flags=re.S)
    return [re.sub(r"\s+<", "<", re.sub(r">\s+", ">", row)) for row in rows]


def _shown(html: str) -> list[str]:
    """Rows the server did not hide (the page's filters from the query string)."""
    return [r for r in _rows(html) if " hidden>" not in r.split(">", 1)[0] + ">"]


def test_empty_state_then_the_table(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    token = login(client, org.people["admin"])

    empty = client.get(PAGE).text
    assert "No service accounts" in empty
    assert "You haven't created any service accounts yet." in empty
    assert ">Create service account</button>" in empty
    assert "Add service account" not in empty

    created = _create(client, token, description="CI deploys", role="editor")
    assert created["_status"] == 200 and created["status"] == "ok"
    assert str(created["token"]).startswith("ldsvc_")

    html = client.get(PAGE).text
    assert str(created["token"]) not in html  # shown once, never again
    assert ">Service accounts</h1>" in html and ">Add service account</button>" in html
    (row,) = _rows(html)
    assert ">CI deploys<" in row
    assert ">Organization<" in row and ">Editor" in row
    assert "Admin Tester" in row  # created by
    assert "No expiration" not in row and ">Never<" in row
    assert 'title="' in row and "UTC" in row  # full time on hover
    assert "Rotate token" in row and "Edit" in row and "Delete" in row
    assert "View custom role" not in row
    for header in (
        "Description",
        "Scope",
        "Access",
        "Created by",
        "Created",
        "Expires at",
        "Last used at",
    ):
        assert f'<th scope="col">{header}</th>' in html
    for option in (
        "No expiration",
        "7 days",
        "30 days",
        "60 days",
        "90 days",
        "6 months",
        "1 year",
    ):
        assert f">{option}</option>" in html
    assert 'placeholder="What\'s this service account for?"' in html


def test_the_form_post_without_javascript_shows_the_token_once(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    token = login(client, org.people["admin"])

    response = client.post(
        PAGE,
        data={
            "csrf_token": token,
            "description": "No JS",
            "expiration": "never",
            "scope": "organization",
            "role": "viewer",
        },
    )

    assert response.status_code == 200
    match = re.search(r'value="(ldsvc_[0-9A-Za-z]{38})"', response.text)
    assert match
    assert "Make sure to copy your access token now. You won't be able to see it again!" in (
        response.text
    )
    assert response.headers["cache-control"] == "no-store"
    assert match.group(1) not in client.get(PAGE).text


def test_the_page_checks_what_the_modal_checks(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    project = make_project(runtime, org, "Jaffle")
    token = login(client, org.people["admin"])

    cases = [
        ({"description": "x"}, "Please select a permission set"),
        ({"description": "x", "scope": "project"}, "Add at least one project"),
        (
            {
                "description": "x",
                "scope": "project",
                "project_uuid": [""],
                "project_role": ["viewer"],
            },
            "Pick a project for each row",
        ),
        (
            {
                "description": "x",
                "scope": "project",
                "project_uuid": [project, project],
                "project_role": ["viewer", "editor"],
            },
            "Each project can only be added once",
        ),
        ({"description": "  ", "role": "viewer"}, "Description is required"),
    ]
    for form, message in cases:
        body = _create(client, token, **form)
        assert body["_status"] == 400, form
        assert body["error"]["message"] == message  # type: ignore[index]
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(ServiceAccount)).all() == []


def test_project_account_shows_its_count_and_the_api_lists_its_grants(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    jaffle = make_project(runtime, org, "Jaffle")
    token = login(client, org.people["admin"])

    created = _create(
        client,
        token,
        description="dbt sync",
        scope="project",
        project_uuid=[jaffle],
        project_role=["editor"],
    )

    assert created["status"] == "ok"
    (row,) = _rows(client.get(PAGE).text)
    assert ">Project<" in row and ">1 project</button>" in row
    grants = client.get(f"/api/v1/service-accounts/{created['uuid']}/projects").json()
    assert grants["results"] == [{"projectUuid": jaffle, "projectName": "Jaffle", "role": "editor"}]


def test_stale_expires_soon_and_expired(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    token = login(client, org.people["admin"])
    _create(client, token, description="Weekly job", role="viewer", expiration="7")
    _create(client, token, description="Forever job", role="viewer", expiration="never")

    clock.advance(timedelta(days=3))
    login(client, org.people["admin"])  # the session (24 h) ended meanwhile
    soon = "".join(_rows(client.get(PAGE).text))
    assert "Expires soon" in soon and "Not used in the last 30 days" not in soon

    clock.advance(timedelta(days=28))
    login(client, org.people["admin"])
    later = client.get(PAGE).text
    weekly, forever = sorted(_rows(later), key=lambda r: "Forever" in r)
    assert ">Expired<" in weekly
    assert "Stale" in forever and "Not used in the last 30 days" in forever
    assert 'data-status="stale"' in forever and 'data-status="expired"' in weekly
    stale = _shown(client.get(PAGE + "?status=stale").text)
    assert len(stale) == 1 and "Forever job" in stale[0]
    expired = _shown(client.get(PAGE + "?status=expired").text)
    assert len(expired) == 1 and "Weekly job" in expired[0]
    assert _shown(client.get(PAGE + "?status=active").text) == []
    assert len(_shown(client.get(PAGE + "?search=week").text)) == 1


def test_rotation_once_an_hour_is_a_readable_message(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    token = login(client, org.people["admin"])
    created = _create(client, token, description="CI", role="viewer")
    url = f"{PAGE}/{created['uuid']}/rotate"

    first = client.post(url, data={"csrf_token": token, "expiration": "60"}, headers=JSON)
    second = client.post(url, data={"csrf_token": token, "expiration": "60"}, headers=JSON)

    assert first.status_code == 200 and first.json()["token"] != created["token"]
    assert second.status_code == 429
    assert second.headers["retry-after"]
    assert second.json()["error"]["message"].startswith("Token can only be rotated once per hour")
    assert "Try again in" in second.json()["error"]["message"]
    assert "Last rotated at" in client.get(PAGE).text
    with transaction(runtime.sessions) as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("service_account.rotated") == 1


def test_edit_and_delete_through_the_page(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    token = login(client, org.people["admin"])
    created = _create(client, token, description="CI", role="viewer")
    uuid = created["uuid"]

    edited = client.post(
        f"{PAGE}/{uuid}/edit",
        data={
            "csrf_token": token,
            "description": "CI (prod)",
            "scope": "organization",
            "role": "developer",
        },
        follow_redirects=False,
    )
    assert edited.status_code == 303
    assert edited.headers["location"] == PAGE + "?notice=sa_updated"
    (row,) = _rows(client.get(edited.headers["location"]).text)
    assert ">CI (prod)<" in row and ">Developer" in row

    deleted = client.post(f"{PAGE}/{uuid}/delete", data={"csrf_token": token})
    assert deleted.status_code == 200 and "Service account deleted" in deleted.text
    assert _rows(deleted.text) == []
    me = client.get("/api/v1/user", headers={"Authorization": f"Bearer {created['token']}"})
    assert me.status_code == 401


def test_the_grant_ceiling_reaches_the_modal(client: TestClient, runtime: Runtime) -> None:
    """Errors of the service come back as the service's sentence (here an admin of another
    organization's project cannot be named)."""
    org = make_org(runtime, "Acme")
    other = make_org(runtime, "Other")
    foreign = make_project(runtime, other, "Theirs")
    token = login(client, org.people["admin"])

    body = _create(
        client,
        token,
        description="x",
        scope="project",
        project_uuid=[foreign],
        project_role=["viewer"],
    )

    assert body["_status"] == 404
    assert body["error"]["message"] == f"Project {foreign} not found"  # type: ignore[index]


def test_disabled_service_accounts_say_what_to_set(
    make_client: Callable[..., TestClient], runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    client = make_client(SERVICE_ACCOUNT_ENABLED=False, LIGHTDASH_LICENSE_KEY="")
    token = login(client, org.people["admin"])

    page = client.get(PAGE)
    post = client.post(PAGE, data={"csrf_token": token, "description": "x", "role": "viewer"})

    assert page.status_code == 200
    assert "SERVICE_ACCOUNT_ENABLED=true" in page.text
    assert "LIGHTDASH_LICENSE_KEY" in page.text
    assert post.status_code == 403
    assert "SERVICE_ACCOUNT_ENABLED=true" in post.text
