"""Two real server processes sharing one database: the rules still hold.

20 simultaneous rotations spread over both processes yield exactly one new
token, and a deletion on one process reaches the other within one second,
even when the deleting transaction commits after a later one.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from lightkeeper.db import begin_writer
from lightkeeper.kit.clock import iso, utcnow
from lightkeeper.kit.tokens import TokenKind, generate
from lightkeeper.models import ServiceAccount
from lightkeeper.runtime import Runtime
from tests.servers import running_server, server_env

SA_URL = "/api/v1/service-accounts"


@pytest.fixture
def two_servers(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    url = engine.url.render_as_string(hide_password=False)
    admin_key, setup_token = generate(TokenKind.PERSONAL), generate(TokenKind.SERVICE_ACCOUNT)
    setup = {
        "LD_SETUP_ORGANIZATION_NAME": "Acme",
        "LD_SETUP_ADMIN_EMAIL": "admin@acme.example",
        "LD_SETUP_ADMIN_API_KEY": admin_key,
        "LD_SETUP_SERVICE_ACCOUNT_TOKEN": setup_token,
        "LD_SETUP_SERVICE_ACCOUNT_EXPIRATION": "30",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # The second process starts on an initialized database: setup must not run twice.
    with (
        running_server(server_env(tmp_path / "a", url, **setup)) as first,
        running_server(server_env(tmp_path / "b", url, **setup)) as second,
    ):
        yield first.url, second.url, {"Authorization": f"ApiKey {admin_key}"}, setup_token


def test_twenty_rotations_across_two_processes_yield_one_token(two_servers) -> None:  # type: ignore[no-untyped-def]
    first, second, admin, setup_token = two_servers
    [account] = httpx.get(first + SA_URL, headers=admin).json()["results"]
    assert account["description"] == "Initial setup service account"
    body = {"expiresAt": iso(utcnow() + timedelta(days=7))}

    def rotate(i: int) -> httpx.Response:
        base = first if i % 2 else second
        return httpx.patch(
            f"{base}{SA_URL}/{account['uuid']}/rotate", json=body, headers=admin, timeout=30
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(rotate, range(20)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [429] * 19, codes
    assert all(r.headers.get("retry-after") for r in responses if r.status_code == 429)
    [winner] = [r for r in responses if r.status_code == 200]
    new_token = winner.json()["results"]["token"]
    for base in (first, second):
        assert (
            httpx.get(
                base + "/api/v1/user", headers={"Authorization": f"Bearer {new_token}"}
            ).status_code
            == 200
        )
        old = httpx.get(base + "/api/v1/user", headers={"Authorization": f"Bearer {setup_token}"})
        assert old.status_code == 401


def test_a_deletion_reaches_the_other_process_within_a_second(two_servers) -> None:  # type: ignore[no-untyped-def]
    first, second, admin, setup_token = two_servers
    bearer = {"Authorization": f"Bearer {setup_token}"}
    assert httpx.get(second + "/api/v1/user", headers=bearer).status_code == 200  # cached there
    [account] = httpx.get(first + SA_URL, headers=admin).json()["results"]
    assert httpx.delete(f"{first}{SA_URL}/{account['uuid']}", headers=admin).status_code == 200
    assert (
        httpx.get(first + "/api/v1/user", headers=bearer).status_code == 401
    )  # same process: next request
    deadline = time.monotonic() + 1.0
    while httpx.get(second + "/api/v1/user", headers=bearer).status_code != 401:
        assert time.monotonic() < deadline, (
            "the other process still accepts a deleted service account"
        )
        time.sleep(0.05)


@pytest.mark.postgresql_only
def test_a_deletion_committed_late_still_reaches_the_other_process(  # type: ignore[no-untyped-def]
    two_servers, backend: str, runtime: Runtime
) -> None:
    """A slow deleting transaction commits after a quicker auth change that began later.

    PostgreSQL only: there two transactions commit in any order, so a change
    numbered first can become visible last. SQLite serializes writers (BEGIN
    IMMEDIATE), so the order of commits is the order of changes. The slow
    transaction runs in this test process through the same session machinery
    as a server, as a third process sharing the database.
    """
    first, second, admin, setup_token = two_servers
    bearer = {"Authorization": f"Bearer {setup_token}"}
    for base in (first, second):  # lastUsedAt now written: later lookups take no row lock
        assert httpx.get(base + "/api/v1/user", headers=bearer).status_code == 200

    slow = runtime.sessions()
    begin_writer(slow)
    slow.delete(slow.scalars(select(ServiceAccount)).one())
    slow.flush()  # the deletion is written (and numbered) but not committed
    try:
        created = httpx.post(
            first + SA_URL,
            json={"description": "meanwhile", "scopes": ["org:read"]},
            headers=admin,
        )
        assert created.status_code == 201  # a later auth change, committed first
        time.sleep(0.5)  # every process has taken notice of it
        assert httpx.get(second + "/api/v1/user", headers=bearer).status_code == 200  # cached
        slow.commit()
    finally:
        slow.close()
    committed = time.monotonic()
    while httpx.get(second + "/api/v1/user", headers=bearer).status_code != 401:
        assert time.monotonic() - committed < 1.0, (
            "the other process still accepts a service account deleted by a late commit"
        )
        time.sleep(0.02)
    print(f"late deletion reached the other process in {time.monotonic() - committed:.3f}s")
