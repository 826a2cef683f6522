"""The demo warehouse twice: a DuckDB file and a throwaway PostgreSQL schema, built once per run.

These tests need no application database (the compiler and the warehouses know nothing of the
server), so they run once, whichever backends the suite runs on; the PostgreSQL warehouse is a
schema on the suite's PostgreSQL server, dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lightkeeper.warehouse import (
    Warehouse,
    WarehouseConnection,
    open_warehouse,
    parse_connection,
)
from lightkeeper.warehouse.demo import (
    DEMO_DATABASE_FILENAME,
    build_demo_duckdb,
    drop_demo_postgres,
    load_demo_postgres,
)
from tests.support import demo_explores, postgres_warehouse_document
from tests.throwaway_postgres import PG_URL_ENV, resolve_admin_url


@dataclass
class DemoWarehouse:
    dialect: str
    connection: WarehouseConnection
    explores: dict[str, dict[str, Any]]
    # Where the hand-written SQL finds the demo tables: `{s}.orders`.
    schema: str

    def open(self, timeout_s: float = 60) -> Warehouse:
        return open_warehouse(self.connection, statement_timeout_s=timeout_s)


@pytest.fixture(scope="session")
def duckdb_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoWarehouse:
    path = build_demo_duckdb(tmp_path_factory.mktemp("warehouse") / DEMO_DATABASE_FILENAME)
    connection = parse_connection(
        {"type": "duckdb", "database": str(path), "schema": "jaffle"}, allowed_dirs=[path.parent]
    )
    explores = {e["name"]: e for e in demo_explores()}
    return DemoWarehouse("duckdb", connection, explores, "jaffle_shop.jaffle")


@pytest.fixture(scope="session")
def postgres_demo() -> Iterator[DemoWarehouse]:
    admin_url = os.environ.get(PG_URL_ENV) or resolve_admin_url()[0]
    schema = f"lk_demo_{uuid.uuid4().hex[:10]}"
    load_demo_postgres(admin_url, schema)
    try:
        connection = parse_connection(postgres_warehouse_document(admin_url, schema))
        explores = {e["name"]: e for e in demo_explores(schema=schema)}
        yield DemoWarehouse("postgres", connection, explores, f'"{schema}"')
    finally:
        drop_demo_postgres(admin_url, schema)


@pytest.fixture(params=["duckdb", "postgres"])
def demo(request: pytest.FixtureRequest) -> DemoWarehouse:
    """Each test once on DuckDB and once on PostgreSQL."""
    fixture = "duckdb_demo" if request.param == "duckdb" else "postgres_demo"
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


def path_of(demo: DemoWarehouse) -> Path:
    assert demo.dialect == "duckdb"
    return Path(str(demo.connection.database))  # type: ignore[union-attr]
