"""Every test runs on SQLite and on PostgreSQL.

Each backend gets a fresh database for the run (PostgreSQL: a throwaway
database, dropped afterwards), migrated once; every table is emptied after each
test. The PostgreSQL server is the one on 127.0.0.1:5432, or one the run starts
itself when none answers (tests/throwaway_postgres.py); set
LIGHTKEEPER_TEST_PG_URL to point elsewhere. A PostgreSQL that can be neither
reached nor started is a failure, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from lightkeeper import migrate
from lightkeeper.app import create_app
from lightkeeper.config import Settings
from lightkeeper.db import make_engine
from lightkeeper.kit.clock import clock
from lightkeeper.models import Base
from lightkeeper.queries.runner import close_runner
from lightkeeper.runtime import Runtime
from tests.throwaway_postgres import (
    PG_URL_ENV,
    ThrowawayPostgres,
    ThrowawayPostgresError,
    resolve_admin_url,
)

BACKENDS = [
    b for b in os.environ.get("LIGHTKEEPER_TEST_BACKENDS", "sqlite,postgresql").split(",") if b
]
TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
_STARTED_POSTGRES = pytest.StashKey[ThrowawayPostgres]()


def pytest_configure(config: pytest.Config) -> None:
    # Settled once, before xdist starts its workers: they inherit the URL in the environment
    # and so share the one server (each still creates its own databases).
    if "postgresql" not in BACKENDS:
        return
    try:
        url, started = resolve_admin_url()
    except ThrowawayPostgresError as error:
        raise pytest.UsageError(
            f"No PostgreSQL answers and none could be started ({error}). The suite runs on "
            "both databases: start PostgreSQL or set LIGHTKEEPER_TEST_PG_URL."
        ) from error
    os.environ[PG_URL_ENV] = url
    if started is not None:
        config.stash[_STARTED_POSTGRES] = started


def pytest_unconfigure(config: pytest.Config) -> None:
    if started := config.stash.get(_STARTED_POSTGRES, None):
        started.stop()


def _backend_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("database_url") if callspec is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A test about one database's mechanism (`sqlite_only`, `postgresql_only`) is not run on
    # the other at all: deselected, so nothing is skipped and nothing starts for it.
    kept, dropped = [], []
    for item in items:
        backend = _backend_of(item)
        wrong = (item.get_closest_marker("sqlite_only") and backend == "postgresql") or (
            item.get_closest_marker("postgresql_only") and backend == "sqlite"
        )
        (dropped if wrong else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    # The browser tests share one server and one first-run registration: one xdist worker
    # runs them all, in order (`make test` uses --dist loadgroup).
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


def pg_admin_url() -> str:
    """The URL of the `postgres` database on the server the suite runs on (pytest_configure)."""
    return os.environ[PG_URL_ENV]


def _create_pg_database() -> tuple[str, Callable[[], None]]:
    name = f"lightkeeper_test_{uuid.uuid4().hex[:10]}"
    admin_url = pg_admin_url()
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
            # A commit need not wait for the disk: the database is dropped after the run.
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is unreachable at {admin_url} ({error}). The suite runs on both "
            "databases: start PostgreSQL or set LIGHTKEEPER_TEST_PG_URL.",
            pytrace=False,
        )
    base = admin_url.rsplit("/", 1)[0]

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "lightkeeper.db"
        yield f"sqlite:///{path}"
        return
    url, drop = _create_pg_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    resolved = Settings(DATABASE_URL=database_url).resolved_database_url
    engine = make_engine(resolved)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


# Children before parents, so that deleting with foreign keys on never trips over them.
_TABLES = [table.name for table in reversed(Base.metadata.sorted_tables)]
# One round trip names the tables a test wrote to; most tests touch a few of them.
_NON_EMPTY = text(
    " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in _TABLES)
)
_SEQUENCES = [
    (table.name, table.autoincrement_column.name)
    for table in Base.metadata.sorted_tables
    if table.autoincrement_column is not None
]


def _empty_tables(engine: Engine) -> None:
    """Delete the rows the test left, and restart the id sequences, as a fresh database has.

    DELETE of the few written tables, not TRUNCATE of all: on PostgreSQL a TRUNCATE
    replaces every table's files and cost most of a second per test.
    """
    with engine.begin() as conn:
        written = set(conn.execute(_NON_EMPTY).scalars())
        for table in _TABLES:
            if table in written:
                conn.execute(text(f"DELETE FROM {table}"))
        # SQLite's rowids start again by themselves once a table is empty.
        if engine.dialect.name == "postgresql":
            for table, column in _SEQUENCES:
                conn.execute(
                    text("SELECT setval(pg_get_serial_sequence(:table, :column), 1, false)"),
                    {"table": table, "column": column},
                )


@pytest.fixture
def backend(engine: Engine) -> str:
    return engine.dialect.name


@pytest.fixture
def make_settings(engine: Engine, tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "LIGHTDASH_SECRET": TEST_SECRET,
            "LIGHTKEEPER_DATA_DIR": str(tmp_path / "data"),
            "LIGHTKEEPER_CHEAP_PASSWORD_HASH": True,
            "SERVICE_ACCOUNT_ENABLED": True,
            "CUSTOM_ROLES_ENABLED": True,
            "LIGHTDASH_LICENSE_KEY": "test-license",
            "LOG_LEVEL": "warning",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return build


@pytest.fixture
def make_runtime(
    engine: Engine, make_settings: Callable[..., Settings]
) -> Iterator[Callable[..., Runtime]]:
    built: list[Runtime] = []

    def build(**overrides: Any) -> Runtime:
        runtime = Runtime.build(make_settings(**overrides))
        runtime.engine.dispose()
        runtime.engine = engine  # share the migrated engine (and its pool) across the test
        runtime.sessions.configure(bind=engine)
        built.append(runtime)
        return runtime

    yield build
    for runtime in built:  # the shared engine outlives the test; listeners and runners go
        close_runner(runtime)  # queries still running are stopped before the tables are emptied
        runtime.principal_cache.close()
        runtime.close_reads()


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime()


@pytest.fixture
def make_client(make_runtime: Callable[..., Runtime]) -> Callable[..., TestClient]:
    def build(runtime: Runtime | None = None, **overrides: Any) -> TestClient:
        app = create_app(runtime=runtime or make_runtime(**overrides))
        return TestClient(app, raise_server_exceptions=False)

    return build


@pytest.fixture
def client(make_client: Callable[..., TestClient], runtime: Runtime) -> TestClient:
    return make_client(runtime)


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    clock.reset()
    if "engine" in request.fixturenames:
        _empty_tables(request.getfixturevalue("engine"))
