"""Rotation with a grace period: the previous token keeps working until the grace ends, then not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from lightkeeper.kit.clock import clock, iso, utcnow
from lightkeeper.runtime import Runtime
from tests.service_account.helpers import URL, bearer, created, error
from tests.support import audit_events, authenticated, in_days, make_org

PROJECTS = "/api/v1/org/projects"


def _rotate(
    client: TestClient, headers: dict[str, str], uuid: str, **body: object
) -> dict[str, object]:
    response = client.patch(
        f"{URL}/{uuid}/rotate", json={"expiresAt": in_days(30), **body}, headers=headers
    )
    assert response.status_code == 200, response.text
    results: dict[str, object] = response.json()["results"]
    return results


def test_a_stream_with_the_old_token_never_fails_before_the_grace_ends_and_always_after(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    clock.freeze(utcnow())
    sa = created(client, admin, scopes=["system:viewer"], expiresAt=in_days(10))
    old = bearer(sa["token"])
    assert client.get(PROJECTS, headers=old).status_code == 200  # cached by this process

    rotated = _rotate(client, admin, sa["uuid"], gracePeriodMinutes=30)
    grace_end = utcnow() + timedelta(minutes=30)
    assert rotated["previousTokenExpiresAt"] == iso(grace_end)
    listed = client.get(URL, headers=admin).json()["results"]
    assert listed[0]["previousTokenExpiresAt"] == iso(grace_end)
    new = bearer(str(rotated["token"]))

    during = []
    for _ in range(59):  # every 30 seconds until just before the end
        during.append(client.get(PROJECTS, headers=old).status_code)
        assert client.get(PROJECTS, headers=new).status_code == 200
        clock.advance(timedelta(seconds=30))
    assert set(during) == {200}
    clock.advance(timedelta(seconds=29))
    assert client.get(PROJECTS, headers=old).status_code == 200  # the last second of grace

    clock.advance(timedelta(seconds=1))
    after = [client.get(PROJECTS, headers=old).status_code for _ in range(20)]
    assert set(after) == {401}
    assert client.get(PROJECTS, headers=new).status_code == 200
    assert client.get(URL, headers=admin).json()["results"][0]["previousTokenExpiresAt"] is None

    (event,) = audit_events(runtime, "service_account.rotated")
    assert event.details["gracePeriodMinutes"] == 30
    assert event.details["previousTokenExpiresAt"] == iso(grace_end)


def test_without_a_grace_the_old_token_stops_at_once(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    sa = created(client, admin, scopes=["system:viewer"], expiresAt=in_days(10))
    rotated = _rotate(client, admin, sa["uuid"])
    assert rotated["previousTokenExpiresAt"] is None
    assert not authenticated(client, bearer(sa["token"]))


def test_a_second_rotation_ends_the_first_grace_at_once(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    clock.freeze(utcnow())
    sa = created(client, admin, scopes=["system:viewer"], expiresAt=in_days(10))
    first = _rotate(client, admin, sa["uuid"], gracePeriodMinutes=1440)
    clock.advance(timedelta(minutes=61))
    assert authenticated(client, bearer(sa["token"]))
    second = _rotate(client, admin, sa["uuid"], gracePeriodMinutes=60)

    live = [
        authenticated(client, bearer(str(t)))
        for t in (sa["token"], first["token"], second["token"])
    ]
    assert live == [False, True, True]  # at most two live tokens

    assert client.delete(f"{URL}/{sa['uuid']}", headers=admin).status_code == 200
    assert not authenticated(client, bearer(str(first["token"])))
    assert not authenticated(client, bearer(str(second["token"])))


def test_the_grace_never_outlives_the_old_token(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    clock.freeze(utcnow())
    sa = created(
        client, admin, scopes=["system:viewer"], expiresAt=iso(utcnow() + timedelta(minutes=10))
    )
    rotated = _rotate(client, admin, sa["uuid"], gracePeriodMinutes=60)
    assert rotated["previousTokenExpiresAt"] == iso(utcnow() + timedelta(minutes=10))


@pytest.mark.parametrize(
    "grace", [-1, 1441, "soon", 1.5], ids=["negative", "too-long", "text", "fraction"]
)
def test_grace_out_of_range_is_400(client: TestClient, runtime: Runtime, grace: object) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    sa = created(client, admin, scopes=["system:viewer"], expiresAt=in_days(10))
    response = client.patch(
        f"{URL}/{sa['uuid']}/rotate",
        json={"expiresAt": in_days(30), "gracePeriodMinutes": grace},
        headers=admin,
    )
    assert response.status_code == 400
    assert authenticated(client, bearer(sa["token"]))  # nothing rotated
    if isinstance(grace, int):
        assert error(response)[1] == "gracePeriodMinutes must be a whole number from 0 to 1440"
