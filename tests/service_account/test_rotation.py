"""Rotation: expiring tokens only, a future expiry, once per hour (decided by the database)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lightkeeper.app import create_app
from lightkeeper.auth.credentials import SESSION_COOKIE
from lightkeeper.db import transaction
from lightkeeper.identity import sessions
from lightkeeper.kit.clock import clock, iso, utcnow
from lightkeeper.models import AuditEvent, ServiceAccount, User
from lightkeeper.runtime import Runtime
from tests.service_account.helpers import REJECTED, URL, bearer, created, error
from tests.support import audit_events, authenticated, in_days, make_org

ONCE_PER_HOUR = "Token can only be rotated once per hour"


def _rotate(
    client: TestClient, headers: dict[str, str], uuid: str, expires_at: str | None
) -> object:
    return client.patch(f"{URL}/{uuid}/rotate", json={"expiresAt": expires_at}, headers=headers)


def test_rotation_rules(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    forever = created(client, headers, scopes=["system:viewer"], expiresAt=None)
    assert error(_rotate(client, headers, forever["uuid"], in_days(5))) == (  # type: ignore[arg-type]
        400,
        "Token with no expiration date cannot be rotated",
    )
    sa = created(client, headers, scopes=["system:viewer"])
    for expiry in (None, iso(utcnow() - timedelta(minutes=1))):
        assert error(_rotate(client, headers, sa["uuid"], expiry)) == (  # type: ignore[arg-type]
            400,
            "Expire time must be in the future",
        )
    r = client.patch(f"{URL}/{sa['uuid']}/rotate", json={}, headers=headers)
    assert error(r) == (400, "Expire time must be in the future")
    # Nothing rotated so far: the original token still works.
    assert authenticated(client, bearer(sa["token"]))
    assert client.get(f"{URL}/{sa['uuid']}", headers=headers).json()["results"]["rotatedAt"] is None


def test_once_per_hour_counted_from_the_last_rotation(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    clock.freeze(utcnow())
    sa = created(client, headers, scopes=["system:viewer"])
    # The first rotation is never limited, even right after creation.
    first = _rotate(client, headers, sa["uuid"], in_days(3))
    assert first.status_code == 200  # type: ignore[attr-defined]
    clock.advance(timedelta(minutes=20))
    limited = _rotate(client, headers, sa["uuid"], in_days(3))
    assert error(limited) == (429, ONCE_PER_HOUR)  # type: ignore[arg-type]
    assert limited.headers["Retry-After"] == str(40 * 60)  # type: ignore[attr-defined]
    clock.advance(timedelta(minutes=39, seconds=59))
    limited = _rotate(client, headers, sa["uuid"], in_days(3))
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"  # type: ignore[attr-defined]
    # The 429s changed nothing: the token from the first rotation still works.
    token = first.json()["results"]["token"]  # type: ignore[attr-defined]
    assert authenticated(client, bearer(token))
    clock.advance(timedelta(seconds=1))
    second = _rotate(client, headers, sa["uuid"], in_days(3))
    assert second.status_code == 200  # type: ignore[attr-defined]
    assert not authenticated(client, bearer(token))
    assert len(audit_events(runtime, "service_account.rotated", organization_uuid=org.uuid)) == 2


def test_rotated_event_has_no_token(client: TestClient, runtime: Runtime) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    sa = created(client, headers, scopes=["system:viewer"], description="Deployer")
    new_expiry = in_days(9)
    r = _rotate(client, headers, sa["uuid"], new_expiry)
    token = r.json()["results"]["token"]  # type: ignore[attr-defined]
    event = audit_events(runtime, "service_account.rotated", organization_uuid=org.uuid)[0]
    assert event.target_label == "Deployer" and event.target_uuid == sa["uuid"]
    assert event.details == {"expiresAt": new_expiry, "tokenHint": "ldsvc_\u2026" + token[-4:]}
    assert token not in str(event.details) and token[6:] not in str(event.details)


@pytest.mark.parametrize("credential", ["session", "pat"])
def test_twenty_concurrent_rotations_yield_exactly_one_token(
    runtime: Runtime, backend: str, credential: str
) -> None:
    """One conditional UPDATE decides: exactly one 200, nineteen 429, one new token.

    The caller uses a browser session and a personal token (whose lastUsedAt
    bookkeeping must never fail a request).
    """
    org = make_org(runtime, "Acme")
    admin = org.people["admin"]
    if credential == "session":
        with transaction(runtime.sessions) as session:
            user = session.get(User, admin.uuid)
            assert user is not None
            cookie = sessions.start_session(runtime, session, user).token
        headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    else:
        headers = admin.headers
    app = create_app(runtime=runtime)
    setup = TestClient(app)
    sa = created(setup, admin.headers, scopes=["system:viewer"])
    assert setup.get(URL, headers=headers).status_code == 200  # warm the caller's cache
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(20)]
    barrier = threading.Barrier(20)
    results: list[tuple[int, str | None, str | None]] = []
    lock = threading.Lock()
    expires_at = in_days(7)

    def rotate(client: TestClient) -> None:
        barrier.wait()
        response = client.patch(
            f"{URL}/{sa['uuid']}/rotate", json={"expiresAt": expires_at}, headers=headers
        )
        token = response.json()["results"]["token"] if response.status_code == 200 else None
        with lock:
            results.append((response.status_code, token, response.headers.get("Retry-After")))

    threads = [threading.Thread(target=rotate, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(status for status, _t, _r in results)
    assert statuses == [200] + [429] * 19, statuses
    retries = [int(retry or 0) for status, _t, retry in results if status == 429]
    assert all(3500 <= r <= 3600 for r in retries), retries
    new_token = next(token for status, token, _r in results if status == 200)
    assert new_token is not None
    check = TestClient(app)
    assert error(check.get(URL, headers=bearer(sa["token"]))) == (401, REJECTED)
    assert authenticated(check, bearer(new_token))
    with transaction(runtime.sessions) as session:
        rotations = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "service_account.rotated")
        ).all()
        assert len(rotations) == 1
        row = session.scalar(select(ServiceAccount))
        assert row is not None and row.token_hint == "ldsvc_\u2026" + new_token[-4:]
        assert row.rotated_by_user_uuid == admin.uuid


def test_a_rotation_racing_another_one_gets_429(runtime: Runtime, backend: str) -> None:
    """The race made deterministic: one rotation is mid-transaction while another arrives.

    PostgreSQL: the late request read the SA before the other committed; its
    conditional UPDATE re-reads the committed row and matches nothing: 429.
    SQLite: a writing transaction holds the write lock from its first statement
    (BEGIN IMMEDIATE), so the HTTP request waits for it, then sees the rotation: 429.
    """
    from lightkeeper.auth.service import principal_for_user
    from lightkeeper.db import begin_writer
    from lightkeeper.kit.errors import TooManyRequestsError
    from lightkeeper.service_account import service

    org = make_org(runtime, "Acme")
    client = TestClient(create_app(runtime=runtime))
    sa = created(client, org.people["admin"].headers, scopes=["system:viewer"])
    url = f"{URL}/{sa['uuid']}/rotate"
    headers = org.people["admin"].headers
    slow = runtime.sessions()
    if backend == "sqlite":
        begin_writer(slow)
    try:
        admin = slow.get(User, org.people["admin"].uuid)
        assert admin is not None
        principal = principal_for_user(runtime, slow, admin, credential="pat")  # reads: snapshot
        assert slow.get(ServiceAccount, sa["uuid"]) is not None
        if backend == "sqlite":
            late: list[object] = []
            waiting = threading.Thread(
                target=lambda: late.append(
                    client.patch(url, json={"expiresAt": in_days(2)}, headers=headers)
                )
            )
            waiting.start()
            waiting.join(timeout=1.0)
            assert waiting.is_alive(), "the second writer should wait for the first one's lock"
            _account, first_token = service.rotate_token(
                runtime, slow, principal, sa["uuid"], expires_at=utcnow() + timedelta(days=3)
            )
            slow.commit()
            waiting.join(timeout=30)
            [response] = late
            assert response.status_code == 429  # type: ignore[attr-defined]
            assert response.json()["error"]["message"] == ONCE_PER_HOUR  # type: ignore[attr-defined]
            assert authenticated(client, bearer(first_token))
            return
        winner = client.patch(url, json={"expiresAt": in_days(2)}, headers=headers)
        assert winner.status_code == 200
        with pytest.raises(TooManyRequestsError) as raised:
            service.rotate_token(
                runtime, slow, principal, sa["uuid"], expires_at=utcnow() + timedelta(days=3)
            )
        assert raised.value.message == ONCE_PER_HOUR
        assert 3590 <= raised.value.retry_after_seconds <= 3600
    finally:
        slow.rollback()
        slow.close()
    new_token = winner.json()["results"]["token"]
    assert authenticated(client, bearer(new_token))
