"""Migrations build the schema from empty on both databases, and the models match them."""

from __future__ import annotations

import uuid

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from lightkeeper import migrate
from lightkeeper.db import make_engine
from lightkeeper.models import Base
from tests.conftest import pg_admin_url


def _check(url: str) -> None:
    engine = make_engine(url)
    try:
        assert migrate.current(engine) is None
        migrate.upgrade(engine)
        assert migrate.current(engine) is not None
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        migrate.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)  # and back up again
        assert migrate.current(engine) is not None
    finally:
        engine.dispose()


def test_migrations_from_empty_on_sqlite(tmp_path) -> None:
    _check(f"sqlite:///{tmp_path / 'fresh.db'}")


def test_migrations_from_empty_on_postgresql() -> None:
    name = f"lightkeeper_migrations_{uuid.uuid4().hex[:8]}"
    admin_url = pg_admin_url()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        _check(f"{base}/{name}")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
