"""Expiry to the millisecond, and the feature switch (SERVICE_ACCOUNT_ENABLED + license)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.db import transaction
from lightkeeper.kit.clock import clock, iso
from lightkeeper.models import AuditEvent
from lightkeeper.runtime import Runtime
from tests.service_account.helpers import DISABLED, REJECTED, URL, bearer, created, error
from tests.support import authenticated, make_org

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_token_dies_exactly_at_expires_at(client: TestClient, runtime: Runtime) -> None:
    clock.freeze(T0)
    org = make_org(runtime, "Acme")
    expires_at = T0 + timedelta(hours=1)
    sa = created(
        client, org.people["admin"].headers, scopes=["system:admin"], expiresAt=iso(expires_at)
    )
    headers = bearer(sa["token"])
    assert client.get(URL, headers=headers).status_code == 200  # cached from here on
    clock.freeze(expires_at - timedelta(milliseconds=1))
    assert client.get(URL, headers=headers).status_code == 200
    clock.freeze(expires_at)
    assert error(client.get(URL, headers=headers)) == (401, REJECTED)
    assert not authenticated(client, headers)
    runtime.principal_cache.clear()  # a fresh process decides the same from the database
    assert error(client.get(URL, headers=headers)) == (401, REJECTED)
    # The expired attempt is in the organization's audit log, without the token.
    with transaction(runtime.sessions) as session:
        failed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "service_account.authentication_failed")
        ).all()
    assert failed and failed[0].target_uuid == sa["uuid"]
    assert all(sa["token"] not in str(e.details) for e in failed)


def test_create_with_an_expiry_now_is_refused(client: TestClient, runtime: Runtime) -> None:
    clock.freeze(T0)
    org = make_org(runtime, "Acme")
    response = client.post(
        URL,
        json={"description": "x", "scopes": ["system:viewer"], "expiresAt": iso(T0)},
        headers=org.people["admin"].headers,
    )
    assert error(response) == (400, "Expire time must be in the future")


@pytest.mark.parametrize(
    "overrides",
    [
        {"SERVICE_ACCOUNT_ENABLED": False},
        {"LIGHTDASH_LICENSE_KEY": ""},
        {"SERVICE_ACCOUNT_ENABLED": False, "LIGHTDASH_LICENSE_KEY": ""},
    ],
)
def test_disabled_feature(
    make_client: Callable[..., TestClient],
    client: TestClient,
    runtime: Runtime,
    overrides: dict[str, object],
) -> None:
    org = make_org(runtime, "Acme")
    sa = created(client, org.people["admin"].headers, scopes=["system:admin"])  # while enabled
    off = make_client(**overrides)
    admin = org.people["admin"].headers
    # Authentication first: no credential is still 401.
    assert error(off.get(URL)) == (401, "Unauthorized")
    for method, path, body in (
        ("GET", URL, None),
        ("POST", URL, {"description": "x", "scopes": ["system:viewer"]}),
        ("GET", f"{URL}/{sa['uuid']}", None),
        ("PATCH", f"{URL}/{sa['uuid']}", {"description": "y"}),
        ("PATCH", f"{URL}/{sa['uuid']}/rotate", {"expiresAt": "2099-01-01T00:00:00Z"}),
        ("DELETE", f"{URL}/{sa['uuid']}", None),
        ("GET", f"{URL}/{sa['uuid']}/projects", None),
    ):
        assert error(off.request(method, path, json=body, headers=admin)) == (403, DISABLED), (
            method,
            path,
        )
    # SA tokens do not authenticate; health says so.
    assert error(off.get(URL, headers=bearer(sa["token"]))) == (401, REJECTED)
    health = off.get("/api/v1/health", headers=bearer(sa["token"])).json()["results"]
    assert health["isAuthenticated"] is False and health["isServiceAccountEnabled"] is False
    # Nothing was changed by the refused calls; switched back on, the SA works again.
    assert client.get(URL, headers=bearer(sa["token"])).status_code == 200
    assert (
        client.get(f"{URL}/{sa['uuid']}", headers=admin).json()["results"]["description"]
        == "CI deploys"
    )
