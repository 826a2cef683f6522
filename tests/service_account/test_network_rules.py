"""allowedIpRanges: an SA's token works only from its ranges (IPv4 and IPv6), on every request,
cached or not, directly and behind a trusted proxy; denials are audited with the address."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from lightkeeper.app import create_app
from lightkeeper.runtime import Runtime
from tests.service_account.helpers import REJECTED, URL, bearer, created, error
from tests.support import audit_events, make_org

RANGES = ["203.0.113.0/24", "2001:db8::/32"]
DENIED = "service_account.network_denied"


def _from(runtime: Runtime, ip: str) -> TestClient:
    return TestClient(
        create_app(runtime=runtime), raise_server_exceptions=False, client=(ip, 50000)
    )


@pytest.fixture
def restricted(runtime: Runtime) -> tuple[dict[str, object], dict[str, str]]:
    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    sa = created(
        _from(runtime, "192.0.2.1"),
        admin,
        scopes=["system:viewer"],
        allowedIpRanges=[*RANGES, "203.0.113.9"],
    )
    return sa, admin


def test_ranges_are_stored_normalised(restricted: tuple[dict[str, object], dict[str, str]]) -> None:
    sa, _admin = restricted
    assert sa["allowedIpRanges"] == [*RANGES, "203.0.113.9/32"]


@pytest.mark.parametrize(
    ("ip", "status"),
    [
        pytest.param("203.0.113.7", 200, id="v4-inside"),
        pytest.param("198.51.100.1", 401, id="v4-outside"),
        pytest.param("2001:db8::5", 200, id="v6-inside"),
        pytest.param("2001:db9::1", 401, id="v6-outside"),
        pytest.param("::ffff:203.0.113.7", 200, id="v4-mapped"),
    ],
)
def test_direct_requests(
    runtime: Runtime, restricted: tuple[dict[str, object], dict[str, str]], ip: str, status: int
) -> None:
    sa, _admin = restricted
    response = _from(runtime, ip).get("/api/v1/user", headers=bearer(str(sa["token"])))
    assert response.status_code == status
    denied = audit_events(runtime, DENIED)
    if status == 401:
        assert error(response) == (401, REJECTED)
        (event,) = denied
        assert event.details["ip"] == ip and event.ip == ip
        assert event.actor_uuid == sa["uuid"] and event.target_uuid == sa["uuid"]
        assert str(sa["token"]) not in str(event.details)
    else:
        assert denied == []


def test_a_cached_token_is_checked_on_every_request(
    runtime: Runtime, restricted: tuple[dict[str, object], dict[str, str]]
) -> None:
    sa, _admin = restricted
    inside, outside = _from(runtime, "203.0.113.7"), _from(runtime, "198.51.100.1")
    token = bearer(str(sa["token"]))
    for _ in range(3):
        assert inside.get("/api/v1/user", headers=token).status_code == 200
        assert outside.get("/api/v1/user", headers=token).status_code == 401
    assert len(audit_events(runtime, DENIED)) == 3


def test_behind_a_trusted_proxy_the_proxys_entry_counts(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(TRUST_PROXY=True, TRUST_PROXY_HOPS=1)
    org = make_org(runtime, "Acme")
    proxy = _from(runtime, "10.0.0.1")
    sa = created(
        proxy, org.people["admin"].headers, scopes=["system:viewer"], allowedIpRanges=RANGES
    )
    token = bearer(str(sa["token"]))

    allowed = proxy.get(
        "/api/v1/user", headers={**token, "X-Forwarded-For": "198.51.100.66, 203.0.113.7"}
    )
    assert allowed.status_code == 200
    # A client-written entry on the left never counts, even when it is inside the ranges.
    forged = proxy.get(
        "/api/v1/user", headers={**token, "X-Forwarded-For": "203.0.113.7, 198.51.100.66"}
    )
    assert forged.status_code == 401
    (event,) = audit_events(runtime, DENIED)
    assert event.details["ip"] == "198.51.100.66"


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(
    runtime: Runtime, restricted: tuple[dict[str, object], dict[str, str]]
) -> None:
    sa, _admin = restricted
    outside = _from(runtime, "198.51.100.1")
    response = outside.get(
        "/api/v1/user", headers={**bearer(str(sa["token"])), "X-Forwarded-For": "203.0.113.7"}
    )
    assert response.status_code == 401


def test_edit_replaces_or_clears_the_ranges(
    runtime: Runtime, restricted: tuple[dict[str, object], dict[str, str]]
) -> None:
    sa, admin = restricted
    outside = _from(runtime, "198.51.100.1")
    token = bearer(str(sa["token"]))
    assert outside.get("/api/v1/user", headers=token).status_code == 401

    url = f"{URL}/{sa['uuid']}"
    renamed = outside.patch(url, headers=admin, json={"description": "renamed"})
    assert renamed.json()["results"]["allowedIpRanges"] == [*RANGES, "203.0.113.9/32"]  # untouched
    widened = outside.patch(
        url, headers=admin, json={"description": "renamed", "allowedIpRanges": ["198.51.100.0/24"]}
    )
    assert widened.status_code == 200
    assert outside.get("/api/v1/user", headers=token).status_code == 200
    cleared = outside.patch(
        url, headers=admin, json={"description": "renamed", "allowedIpRanges": []}
    )
    assert cleared.json()["results"]["allowedIpRanges"] == []
    assert _from(runtime, "192.0.2.200").get("/api/v1/user", headers=token).status_code == 200
    (event, *_rest) = audit_events(runtime, "service_account.updated")
    assert event.details == {
        "before": {"description": "CI deploys"},
        "after": {"description": "renamed"},
    }


@pytest.mark.parametrize(
    "bad", ["300.1.1.1", "10.0.0.0/33", "anywhere", ""], ids=["octet", "prefix", "word", "empty"]
)
def test_bad_ranges_are_400(runtime: Runtime, bad: str) -> None:
    org = make_org(runtime, "Acme")
    client = _from(runtime, "192.0.2.1")
    response = client.post(
        URL,
        headers=org.people["admin"].headers,
        json={
            "description": "ci",
            "scopes": ["system:viewer"],
            "allowedIpRanges": ["203.0.113.0/24", bad],
        },
    )
    status, message = error(response)
    assert status == 400 and "allowedIpRanges" in message
    assert response.json()["error"]["data"]["fields"] == {"allowedIpRanges.1": "not a CIDR range"}
