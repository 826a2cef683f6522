"""Input times are ISO-8601 text with an offset: a number is a 400, never a Unix timestamp.

`InputTime` (kit/schemas.py) is shared by every body and query time; the
service-account API is where the spec asks for it first, and rotation without
a body is a missing expiry.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from lightkeeper.models import InviteLink, ServiceAccount
from lightkeeper.runtime import Runtime
from tests.identity.helpers import logged_in
from tests.service_account.helpers import URL, bearer, create, created, error
from tests.support import authenticated, count_rows, make_org

NUMBERS = (1900000000, 1900000000.5, "1900000000")
NOT_A_NUMBER = "ISO-8601 time with an offset"
EXPIRE_IN_FUTURE = "Expire time must be in the future"


def test_a_number_is_no_service_account_expiry(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    sa = created(client, headers, scopes=["system:viewer"])
    before = count_rows(runtime, ServiceAccount)

    for number in NUMBERS:
        made = create(client, headers, scopes=["system:viewer"], expiresAt=number)
        rotated = client.patch(
            f"{URL}/{sa['uuid']}/rotate", json={"expiresAt": number}, headers=headers
        )
        for response in (made, rotated):
            status, message = error(response)
            assert status == 400 and NOT_A_NUMBER in message and "expiresAt" in message
            assert response.json()["error"]["data"]["fields"].keys() == {"expiresAt"}

    assert count_rows(runtime, ServiceAccount) == before
    assert authenticated(client, bearer(sa["token"]))


def test_rotating_without_a_body_asks_for_a_future_expiry(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    sa = created(client, headers, scopes=["system:viewer"])

    bare = client.patch(f"{URL}/{sa['uuid']}/rotate", headers=headers)
    empty = client.patch(f"{URL}/{sa['uuid']}/rotate", json={}, headers=headers)

    assert error(bare) == (400, EXPIRE_IN_FUTURE)
    assert error(empty) == (400, EXPIRE_IN_FUTURE)
    assert authenticated(client, bearer(sa["token"]))
    assert client.get(f"{URL}/{sa['uuid']}", headers=headers).json()["results"]["rotatedAt"] is None


def test_every_input_time_refuses_numbers(
    client: TestClient, runtime: Runtime, make_client: Callable[..., TestClient]
) -> None:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    browser = logged_in(make_client, runtime, admin.email)
    tokens = browser.get("/api/v1/user/personal-access-tokens").json()["results"]

    invite = client.post(
        "/api/v1/invite-links",
        json={"email": "new@acme.test", "expiresAt": 1900000000},
        headers=admin.headers,
    )
    token = browser.post(
        "/api/v1/user/personal-access-tokens",
        json={"description": "ci", "expiresAt": 1900000000},
    )
    audit = client.get("/api/v1/org/audit-log?from=1900000000", headers=admin.headers)

    for response in (invite, token, audit):
        status, message = error(response)
        assert status == 400 and NOT_A_NUMBER in message
    assert count_rows(runtime, InviteLink) == 0
    assert browser.get("/api/v1/user/personal-access-tokens").json()["results"] == tokens
