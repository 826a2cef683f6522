"""Every test runs on SQLite and on PostgreSQL.

Each backend gets a fresh database for the run (PostgreSQL: a throwaway
database on 127.0.0.1:5432, dropped afterwards), migrated once; every table is
emptied after each test. PostgreSQL being unreachable is a failure, never a
skip: set LIGHTKEEPER_TEST_PG_URL to point elsewhere.
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
from lightkeeper.runtime import Runtime

PG_ADMIN_URL = os.environ.get(
    "LIGHTKEEPER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [
    b for b in os.environ.get("LIGHTKEEPER_TEST_BACKENDS", "sqlite,postgresql").split(",") if b
]
TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"


def _create_pg_database() -> tuple[str, Callable[[], None]]:
    name = f"lightkeeper_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is unreachable at {PG_ADMIN_URL} ({error}). The suite runs on both "
            "databases: start PostgreSQL or set LIGHTKEEPER_TEST_PG_URL.",
            pytrace=False,
        )
    base = PG_ADMIN_URL.rsplit("/", 1)[0]

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
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


def _empty_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")


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
    for runtime in built:  # the shared engine outlives the test; only the listeners go
        runtime.principal_cache.close()


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
