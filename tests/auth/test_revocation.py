"""Cached credentials keep the revocation promise: next request here, within a second elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, text, update

from lightkeeper.app import create_app
from lightkeeper.auth.cache import LISTENER_NAME
from lightkeeper.db import transaction
from lightkeeper.kit.clock import clock, utcnow
from lightkeeper.models import AuthChange, PersonalAccessToken, User
from lightkeeper.runtime import Runtime
from tests.support import authenticated, make_org


def _status(client: TestClient, headers: dict[str, str]) -> int:
    return 200 if authenticated(client, headers) else 401


def _wait_until(condition: Callable[[], object], seconds: float) -> float:
    """Seconds until `condition()` held; fails after `seconds`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "did not happen in time"
        time.sleep(0.02)
    return time.monotonic() - started


def _listener_backends(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": LISTENER_NAME},
            )
            or 0
        )


def _cache(client: TestClient, runtime: Runtime, headers: dict[str, str]) -> None:
    """Authenticate until the cache holds the credential (PostgreSQL: once the listener listens)
    and keeps it: a notice of the authentication's own writes (e.g. `lastUsedAt`) may reach the
    listener a moment later and empty the cache once more, so the cache must have held it, with
    no clear in between, for a quarter of a second."""
    cache = runtime.principal_cache

    def settled() -> bool:
        if not (authenticated(client, headers) and cache._entries):
            return False
        epoch = cache.epoch
        time.sleep(0.25)
        return cache.epoch == epoch and bool(cache._entries)

    _wait_until(settled, 10)


def test_deleting_a_token_stops_it_on_the_next_request_of_the_same_process(runtime) -> None:
    org = make_org(runtime, "Acme")
    client = TestClient(create_app(runtime=runtime))
    headers = org.people["admin"].headers
    _cache(client, runtime, headers)
    with transaction(runtime.sessions) as session:
        session.execute(delete(PersonalAccessToken))
    assert _status(client, headers) == 401


def test_another_process_sees_a_revocation_within_one_second(make_runtime) -> None:
    here, there = make_runtime(), make_runtime()
    org = make_org(here, "Acme")
    headers = org.people["admin"].headers
    client_there = TestClient(create_app(runtime=there))
    _cache(client_there, there, headers)
    with transaction(here.sessions) as session:
        session.execute(delete(PersonalAccessToken))
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and _status(client_there, headers) != 401:
        time.sleep(0.05)
    assert _status(client_there, headers) == 401


@pytest.mark.postgresql_only
def test_a_listener_that_lost_its_connection_trusts_nothing_it_cached(
    make_runtime: Callable[..., Runtime], backend: str, engine: Engine
) -> None:
    """Notices sent while the listener is away are lost: losing it empties the cache.

    PostgreSQL only: SQLite processes poll `auth_changes` and have no listener.
    The revocation here is written behind the application's back (no notice
    at all), so only the lost connection can be what drops the cached token.
    """
    runtime = make_runtime()
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    client = TestClient(create_app(runtime=runtime))
    _cache(client, runtime, headers)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM personal_access_tokens"))  # announced to nobody
    assert authenticated(client, headers), "the cache served nothing: this test proves nothing"

    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": LISTENER_NAME},
        )
    latency = _wait_until(lambda: _status(client, headers) == 401, 1.0)
    print(f"cache emptied {latency:.3f}s after the listener lost its connection")
    _wait_until(lambda: runtime.principal_cache.listening, 5)  # and it listens again

    runtime.principal_cache.close()
    # Stopping leaves no connection behind (the server process ends a moment after the close).
    _wait_until(lambda: _listener_backends(engine) == 0, 5)


def test_a_role_change_elsewhere_reaches_cached_principals(make_runtime) -> None:
    here, there = make_runtime(), make_runtime()
    org = make_org(here, "Acme", roles=("admin", "viewer"))
    viewer = org.people["viewer"]
    client_there = TestClient(create_app(runtime=there))
    _cache(client_there, there, viewer.headers)
    cached = next(iter(there.principal_cache._entries.values()))
    assert cached.principal.role == "viewer"
    with transaction(here.sessions) as session:
        session.get(User, viewer.uuid).role = "editor"  # type: ignore[union-attr]
    time.sleep(there.principal_cache.poll_interval + 0.05)
    assert authenticated(client_there, viewer.headers)
    assert {e.principal.role for e in there.principal_cache._entries.values()} == {"editor"}


def test_expiry_is_checked_on_every_cached_hit(runtime) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    with transaction(runtime.sessions) as session:
        session.execute(
            update(PersonalAccessToken).values(expires_at=utcnow() + timedelta(minutes=5))
        )
    client = TestClient(create_app(runtime=runtime))
    assert authenticated(client, headers)
    clock.advance(timedelta(minutes=5))
    assert _status(client, headers) == 401


def test_last_used_is_written_at_most_once_a_minute(runtime) -> None:
    org = make_org(runtime, "Acme")
    headers = org.people["admin"].headers
    client = TestClient(create_app(runtime=runtime))

    def state() -> tuple[object, int]:
        with transaction(runtime.sessions) as session:
            used = session.scalar(select(PersonalAccessToken.last_used_at))
            return used, session.scalar(select(func.count()).select_from(AuthChange)) or 0

    _, changes_before = state()
    assert authenticated(client, headers)
    first, changes = state()
    assert first is not None
    assert changes == changes_before  # bookkeeping writes never invalidate caches
    clock.advance(timedelta(seconds=30))
    for _ in range(5):
        assert authenticated(client, headers)
    assert state()[0] == first
    runtime.principal_cache.clear()  # even a fresh process respects the database's minute
    assert authenticated(client, headers)
    assert state()[0] == first
    clock.advance(timedelta(seconds=31))
    time.sleep(0)  # the in-process throttle uses the monotonic clock; drop the cache instead
    runtime.principal_cache.clear()
    assert authenticated(client, headers)
    assert state()[0] > first  # type: ignore[operator]


def test_malformed_tokens_never_reach_the_database(runtime) -> None:
    client = TestClient(create_app(runtime=runtime))
    queries: list[str] = []
    from sqlalchemy import event

    @event.listens_for(runtime.engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        queries.append(statement)

    try:
        runtime.principal_cache._last_poll = time.monotonic() + 3600  # no cache poll in this window
        for garbage in ("ldsvc_short", "ldsvc_" + "0" * 32 + "zzzzzz", "ldpat_!!!", "nonsense"):
            response = client.get("/api/v1/user", headers={"Authorization": f"Bearer {garbage}"})
            assert response.status_code == 401
        assert not [q for q in queries if "service_accounts" in q or "personal_access_tokens" in q]
    finally:
        event.remove(runtime.engine, "before_cursor_execute", _count)


def test_a_cookie_authenticated_form_post_is_refused(runtime) -> None:
    """Cross-site forms cannot carry JSON: a session-authenticated POST must be JSON (CSRF)."""
    from lightkeeper.auth.credentials import SESSION_COOKIE
    from lightkeeper.identity import sessions

    org = make_org(runtime, "Acme")
    with transaction(runtime.sessions) as session:
        user = session.get(User, org.people["admin"].uuid)
        cookie = sessions.start_session(runtime, session, user).token  # type: ignore[arg-type]
    client = TestClient(create_app(runtime=runtime), cookies={SESSION_COOKIE: cookie})
    url = "/api/v1/user/personal-access-tokens"
    form = client.post(url, data={"description": "csrf", "expiresAt": ""})
    assert form.status_code == 403
    assert "Content-Type: application/json" in form.json()["error"]["message"]
    assert client.post(url, json={"description": "mine", "expiresAt": None}).status_code == 200


def test_pruning_old_changes_keeps_the_newest(runtime) -> None:
    """Old rows go; the newest stays, so the id the caches compare never goes backwards."""
    from lightkeeper.auth.cache import prune_changes

    with transaction(runtime.sessions) as session:
        for _ in range(3):
            session.add(AuthChange(reason="test", occurred_at=utcnow() - timedelta(hours=2)))
    with transaction(runtime.sessions) as session:
        newest = session.scalar(select(func.max(AuthChange.id)))
        assert prune_changes(session) == 2
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(AuthChange.id)).all() == [newest]
