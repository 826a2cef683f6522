"""Client addresses behind a proxy: only what the trusted proxies appended counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.config import ConfigError
from lightkeeper.db import transaction
from lightkeeper.models import AuthFailure
from lightkeeper.runtime import Runtime
from tests.support import PASSWORD, make_org

FORGED = "198.51.100.66"
REAL = "203.0.113.7"
SA_URL = "/api/v1/service-accounts"


def _audit_ips(client: TestClient, headers: dict[str, str], action: str) -> list[str]:
    response = client.get("/api/v1/org/audit-log", params={"action": action}, headers=headers)
    assert response.status_code == 200, response.text
    return [event["ip"] for event in response.json()["results"]["data"]]


def _create_service_account(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(
        SA_URL,
        json={"description": "CI", "expiresAt": None, "scopes": ["system:admin"]},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    results: dict[str, Any] = response.json()["results"]
    return results


def test_a_forged_leftmost_entry_reaches_neither_last_used_ip_nor_the_audit_log(
    make_client: Callable[..., TestClient], make_runtime: Callable[..., Runtime]
) -> None:
    runtime = make_runtime(TRUST_PROXY=True)
    client = make_client(runtime)
    admin = make_org(runtime, "Acme").people["admin"]
    # The client wrote FORGED itself; the proxy appended the address it saw.
    via_proxy = {**admin.headers, "X-Forwarded-For": f"{FORGED}, {REAL}"}

    sa = _create_service_account(client, via_proxy)
    used = client.get(
        "/api/v1/user",
        headers={"Authorization": f"Bearer {sa['token']}", "X-Forwarded-For": f"{FORGED},{REAL}"},
    )
    assert used.status_code == 200, used.text

    got = client.get(f"{SA_URL}/{sa['uuid']}", headers=admin.headers).json()["results"]
    assert got["lastUsedIp"] == REAL
    assert _audit_ips(client, admin.headers, "service_account.created") == [REAL]


def test_the_login_limit_counts_the_proxy_seen_address_not_the_forged_one(
    make_client: Callable[..., TestClient], make_runtime: Callable[..., Runtime]
) -> None:
    runtime = make_runtime(TRUST_PROXY=True)
    client = make_client(runtime)
    make_org(runtime, "Acme")
    for n in range(3):
        response = client.post(
            "/api/v1/login",
            json={"email": f"guess{n}@acme.example", "password": "x"},
            headers={"X-Forwarded-For": f"10.9.9.{n}, {REAL}"},
        )
        assert response.status_code == 401

    with transaction(runtime.sessions) as session:
        ips = set(session.scalars(select(AuthFailure.ip)))
    # Rotating the forged entry does not give an attacker a fresh address each time.
    assert ips == {REAL}


def test_hops_pick_the_entry_the_outermost_trusted_proxy_wrote(
    make_client: Callable[..., TestClient], make_runtime: Callable[..., Runtime]
) -> None:
    runtime = make_runtime(TRUST_PROXY=True, TRUST_PROXY_HOPS="2")
    client = make_client(runtime)
    admin = make_org(runtime, "Acme").people["admin"]
    # client -> CDN (appends REAL) -> load balancer (appends the CDN's address) -> us
    _create_service_account(
        client, {**admin.headers, "X-Forwarded-For": f"{FORGED}, {REAL}, 192.0.2.10"}
    )
    # Repeated headers are one list, in order.
    client.post(
        "/api/v1/login",
        json={"email": "nobody@acme.example", "password": PASSWORD},
        headers=[
            ("X-Forwarded-For", FORGED),
            ("X-Forwarded-For", REAL),
            ("X-Forwarded-For", "192.0.2.10"),
        ],  # type: ignore[arg-type]
    )

    assert _audit_ips(client, admin.headers, "service_account.created") == [REAL]
    with transaction(runtime.sessions) as session:
        assert list(session.scalars(select(AuthFailure.ip))) == [REAL]


def test_fewer_entries_than_hops_take_the_leftmost_and_junk_keeps_the_peer(
    make_client: Callable[..., TestClient], make_runtime: Callable[..., Runtime]
) -> None:
    runtime = make_runtime(TRUST_PROXY=True, TRUST_PROXY_HOPS="3")
    client = make_client(runtime)
    admin = make_org(runtime, "Acme").people["admin"]
    _create_service_account(client, {**admin.headers, "X-Forwarded-For": f"{REAL}, 192.0.2.10"})
    _create_service_account(client, {**admin.headers, "X-Forwarded-For": "unknown" + "x" * 300})

    # The TestClient's own address is "testclient".
    assert _audit_ips(client, admin.headers, "service_account.created") == ["testclient", REAL]


def test_without_trust_proxy_the_headers_are_ignored(client: TestClient, runtime: Runtime) -> None:
    admin = make_org(runtime, "Acme").people["admin"]
    _create_service_account(
        client, {**admin.headers, "X-Forwarded-For": REAL, "X-Forwarded-Proto": "https"}
    )
    assert _audit_ips(client, admin.headers, "service_account.created") == ["testclient"]


@pytest.mark.parametrize(
    ("forwarded_proto", "secure"),
    [("https", True), ("https, http", False), ("http, https", True), ("", False)],
)
def test_the_cookie_is_secure_when_the_trusted_proxy_says_https(
    make_client: Callable[..., TestClient],
    make_runtime: Callable[..., Runtime],
    forwarded_proto: str,
    secure: bool,
) -> None:
    runtime = make_runtime(TRUST_PROXY=True)
    client = make_client(runtime)
    admin = make_org(runtime, "Acme").people["admin"]
    response = client.post(
        "/api/v1/login",
        json={"email": admin.email, "password": PASSWORD},
        headers={"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {},
    )
    assert response.status_code == 200, response.text
    assert ("secure" in response.headers["set-cookie"].lower()) is secure


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5", "17"])
def test_a_bad_hop_count_stops_start_up_naming_the_variable(
    make_runtime: Callable[..., Runtime], value: str
) -> None:
    with pytest.raises(ConfigError, match="TRUST_PROXY_HOPS"):
        make_runtime(TRUST_PROXY=True, TRUST_PROXY_HOPS=value)
