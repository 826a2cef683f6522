"""The throwaway PostgreSQL a machine without one gets (tests/throwaway_postgres.py).

CI has PostgreSQL running, so without this test the fallback would never run there.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.servers import free_port
from tests.throwaway_postgres import PG_URL_ENV, PROBE_ENV, resolve_admin_url


def test_nothing_answering_starts_a_server_that_is_removed_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PG_URL_ENV, raising=False)
    monkeypatch.setenv(PROBE_ENV, f"127.0.0.1:{free_port()}")  # nothing listens there

    url, server = resolve_admin_url()

    assert server is not None
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute('CREATE DATABASE "lightkeeper_fallback"')
            assert conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    finally:
        server.stop()
    assert not server.folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_an_explicit_url_is_used_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PG_URL_ENV, "postgresql://someone@db.example:6543/postgres")
    assert resolve_admin_url() == ("postgresql://someone@db.example:6543/postgres", None)
