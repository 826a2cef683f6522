"""Leak reports in GitHub's secret-scanning partner format: live tokens die, nothing else is said."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event as sql_event

from lightkeeper.app import create_app
from lightkeeper.kit.clock import clock, utcnow
from lightkeeper.kit.tokens import TokenKind, generate
from lightkeeper.models import PersonalAccessToken
from lightkeeper.runtime import Runtime
from tests.support import (
    add_personal_token,
    add_service_account,
    audit_events,
    auth,
    authenticated,
    count_rows,
    make_org,
    service_account_row,
)

URL = "/api/v1/service-accounts/revoke-leaked"
LEAK = "token.leak_reported"


def _report(*tokens: str) -> list[dict[str, str]]:
    return [
        {
            "token": t,
            "type": "lightkeeper_token",
            "url": f"https://github.com/octo/app/blob/main/leak{i}.txt",
            "source": "content",
        }
        for i, t in enumerate(tokens)
    ]


def _prefix(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def test_live_sa_token_and_pat_are_revoked_and_audited(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    account = add_service_account(runtime, org, "CI deploys")
    pat = org.people["editor"].token

    response = client.post(URL, json=_report(account.token, pat))

    assert response.status_code == 200, response.text
    assert response.json() == [
        {"token_hash_prefix": _prefix(account.token), "label": "true_positive"},
        {"token_hash_prefix": _prefix(pat), "label": "true_positive"},
    ]
    assert not authenticated(client, auth(account.token))
    assert not authenticated(client, auth(pat))
    row = service_account_row(runtime, account.uuid)
    assert row is not None  # the SA keeps existing; only its token died
    assert count_rows(runtime, PersonalAccessToken, user_uuid=org.people["editor"].uuid) == 0

    sa_event, pat_event = audit_events(runtime, LEAK, organization_uuid=org.uuid)
    assert sa_event.target_type == "service_account" and sa_event.target_uuid == account.uuid
    assert sa_event.details["url"] == "https://github.com/octo/app/blob/main/leak0.txt"
    assert sa_event.details["revoked"] == "service_account_token"
    assert sa_event.actor_type == "secret_scanner"
    assert pat_event.target_type == "personal_access_token"
    assert pat_event.details["revoked"] == "personal_access_token"
    for event in (sa_event, pat_event):
        assert account.token not in str(event.details) and pat not in str(event.details)


def test_revoked_unknown_and_garbage_are_false_positives_alike(
    client: TestClient, runtime: Runtime
) -> None:
    org = make_org(runtime, "Acme")
    account = add_service_account(runtime, org, "CI deploys")
    assert client.post(URL, json=_report(account.token)).json()[0]["label"] == "true_positive"
    before = len(audit_events(runtime, LEAK))

    never_issued = generate(TokenKind.SERVICE_ACCOUNT)
    bad_checksum = account.token[:-1] + ("A" if account.token[-1] != "A" else "B")
    reported = [account.token, never_issued, bad_checksum, "hello world", "ldpat_short"]
    response = client.post(URL, json=_report(*reported))

    assert response.status_code == 200
    assert response.json() == [
        {"token_hash_prefix": _prefix(t), "label": "false_positive"} for t in reported
    ]
    assert len(audit_events(runtime, LEAK)) == before


def test_a_leaked_exchanged_or_grace_token_is_deleted(client: TestClient, runtime: Runtime) -> None:
    from datetime import timedelta

    from lightkeeper.kit.clock import iso, utcnow

    org = make_org(runtime, "Acme")
    admin = org.people["admin"].headers
    created = client.post(
        "/api/v1/service-accounts",
        headers=admin,
        json={
            "description": "ci",
            "scopes": ["system:viewer"],
            "expiresAt": iso(utcnow() + timedelta(days=5)),
        },
    ).json()["results"]
    rotated = client.patch(
        f"/api/v1/service-accounts/{created['uuid']}/rotate",
        headers=admin,
        json={"expiresAt": iso(utcnow() + timedelta(days=5)), "gracePeriodMinutes": 60},
    ).json()["results"]
    assert authenticated(client, auth(created["token"]))  # in its grace

    verdict = client.post(URL, json=_report(created["token"])).json()
    assert verdict[0]["label"] == "true_positive"
    assert not authenticated(client, auth(created["token"]))
    assert authenticated(client, auth(rotated["token"]))  # the current token is not the leaked one
    (event,) = audit_events(runtime, LEAK, organization_uuid=org.uuid)
    assert event.target_uuid == created["uuid"] and event.details["revoked"] == "previous_token"
    assert event.details["url"] == "https://github.com/octo/app/blob/main/leak0.txt"
    listed = client.get("/api/v1/service-accounts", headers=admin).json()["results"]
    assert listed[0]["previousTokenExpiresAt"] is None  # the grace ended with it


def test_bounds_and_rate_limit(client: TestClient, runtime: Runtime) -> None:
    assert client.post(URL, json=[]).status_code == 400
    assert client.post(URL, json=_report(*["x"] * 101)).status_code == 400
    assert client.post(URL, json={"token": "x"}).status_code == 400
    limit = runtime.leak_reports.limit
    codes = [client.post(URL, json=_report("ldsvc_nothing")).status_code for _ in range(limit)]
    assert codes.count(429) >= 1  # the requests above counted too
    refused = client.post(URL, json=_report("ldsvc_nothing"))
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1


@contextmanager
def _statements(runtime: Runtime) -> Iterator[list[str]]:
    """The SQL statements the database receives meanwhile."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sql_event.listen(runtime.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sql_event.remove(runtime.engine, "before_cursor_execute", listen)


def test_expired_revoked_and_unknown_tokens_cost_the_same_and_read_the_same(
    client: TestClient, runtime: Runtime
) -> None:
    """Nothing in the answer or the work done tells a once-valid token from one never issued."""
    org = make_org(runtime, "Acme", roles=("admin", "editor"))
    editor = org.people["editor"]
    expiring = add_service_account(
        runtime, org, "soon gone", expires_at=utcnow() + timedelta(seconds=5)
    )
    _uuid, expiring_pat = add_personal_token(
        runtime, editor.uuid, expires_at=utcnow() + timedelta(seconds=5)
    )
    revoked_sa = add_service_account(runtime, org, "leaked before").token
    revoked_pat = editor.token
    first = client.post(URL, json=_report(revoked_sa, revoked_pat)).json()
    assert [v["label"] for v in first] == ["true_positive", "true_positive"]
    clock.advance(timedelta(seconds=10))
    before = len(audit_events(runtime, LEAK))

    cases = {
        "expired sa": expiring.token,
        "revoked sa": revoked_sa,
        "unknown sa": generate(TokenKind.SERVICE_ACCOUNT),
        "expired pat": expiring_pat,
        "revoked pat": revoked_pat,
        "unknown pat": generate(TokenKind.PERSONAL),
    }
    work: dict[str, list[str]] = {}
    for name, token in cases.items():
        with _statements(runtime) as seen:
            response = client.post(URL, json=_report(token))
        assert response.status_code == 200
        assert response.json() == [{"token_hash_prefix": _prefix(token), "label": "false_positive"}]
        work[name] = seen
    assert work["expired sa"] == work["revoked sa"] == work["unknown sa"]
    assert work["expired pat"] == work["revoked pat"] == work["unknown pat"]
    assert len(audit_events(runtime, LEAK)) == before


def test_the_rate_limit_is_per_client_address(runtime: Runtime) -> None:
    def from_address(ip: str) -> TestClient:
        return TestClient(create_app(runtime=runtime), client=(ip, 50000))

    noisy, other = from_address("198.51.100.7"), from_address("203.0.113.8")
    for _ in range(runtime.leak_reports.limit):
        assert noisy.post(URL, json=_report("ldsvc_nothing")).status_code == 200
    refused = noisy.post(URL, json=_report("ldsvc_nothing"))
    assert refused.status_code == 429
    assert refused.json()["error"]["message"] == "Too many leaked-token reports from this address"
    assert other.post(URL, json=_report("ldsvc_nothing")).status_code == 200
