"""Warehouse connections: Lightdash's shapes checked, DuckDB paths kept inside the allowed folders,
secrets never in the public view; the demo data shipped; catalogue listing; batched rows."""

from __future__ import annotations

import filecmp
from pathlib import Path
from typing import Any

import pytest

from lightkeeper.warehouse import (
    BATCH_ROWS,
    DuckdbConnection,
    PostgresConnection,
    WarehouseConnectionError,
    WarehouseUnavailableError,
    open_warehouse,
    parse_connection,
    public_view,
    to_document,
)
from lightkeeper.warehouse.demo import DEMO_DIR, DEMO_MANIFEST, build_demo_duckdb, demo_tables
from tests.query_core.conftest import DemoWarehouse
from tests.support import FIXTURES, JAFFLE_MANIFEST

PG = {
    "type": "postgres",
    "host": "db.internal",
    "port": 5432,
    "dbname": "analytics",
    "user": "reader",
    "password": "s3cret-pw",
    "schema": "public",
    "sslmode": "require",
}


def test_duckdb_connection_inside_an_allowed_folder(tmp_path: Path) -> None:
    connection = parse_connection(
        {"type": "duckdb", "database": str(tmp_path / "w.duckdb"), "schema": "main", "threads": 4},
        allowed_dirs=[tmp_path],
    )
    assert connection == DuckdbConnection(database=tmp_path / "w.duckdb", schema="main")
    assert public_view(connection) == {
        "type": "duckdb",
        "database": str(tmp_path / "w.duckdb"),
        "schema": "main",
    }


@pytest.mark.parametrize("escape", ["outside", "dotdot", "symlink"])
def test_duckdb_paths_outside_the_allowed_folders_are_400(tmp_path: Path, escape: str) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    outside = tmp_path / "outside.duckdb"
    outside.touch()
    path = {
        "outside": outside,
        "dotdot": allowed / ".." / "outside.duckdb",
        "symlink": allowed / "link.duckdb",
    }[escape]
    if escape == "symlink":
        path.symlink_to(outside)
    with pytest.raises(WarehouseConnectionError) as error:
        parse_connection({"type": "duckdb", "database": str(path)}, allowed_dirs=[allowed])
    assert error.value.status_code == 400
    assert "outside the folders this server allows" in error.value.message
    assert str(allowed) in error.value.message


def test_postgres_connection_and_its_public_view() -> None:
    connection = parse_connection(PG)
    assert isinstance(connection, PostgresConnection)
    view = public_view(connection)
    assert "password" not in view and "s3cret-pw" not in str(view)
    assert view == {k: v for k, v in PG.items() if k != "password"}
    assert to_document(connection) == PG
    assert parse_connection(
        {k: v for k, v in PG.items() if k not in ("port", "sslmode")}
    ) == PostgresConnection(
        host="db.internal", dbname="analytics", user="reader", schema="public", password="s3cret-pw"
    )


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"type": "snowflake"}, "type"),
        ("duckdb", "type"),
        ({"type": "duckdb"}, "database"),
        ({"type": "duckdb", "database": 5}, "database"),
        ({**PG, "host": ""}, "host"),
        ({**PG, "port": 70000}, "port"),
        ({**PG, "port": True}, "port"),
        ({**PG, "sslmode": "sometimes"}, "sslmode"),
        ({**PG, "password": 12}, "password"),
        ({k: v for k, v in PG.items() if k != "schema"}, "schema"),
    ],
    ids=[
        "type",
        "not-object",
        "no-database",
        "database-number",
        "host",
        "port",
        "port-bool",
        "sslmode",
        "password",
        "schema",
    ],
)
def test_bad_connections_are_400_naming_the_field(document: Any, field: str) -> None:
    with pytest.raises(WarehouseConnectionError) as error:
        parse_connection(document)
    assert error.value.status_code == 400
    assert f"warehouseConnection.{field}" in error.value.data["fields"]


def test_a_missing_duckdb_file_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(WarehouseUnavailableError, match="does not exist"):
        open_warehouse(
            parse_connection({"type": "duckdb", "database": str(tmp_path / "none.duckdb")}),
            statement_timeout_s=5,
        )
    assert not (tmp_path / "none.duckdb").exists()


def test_an_unreachable_postgres_is_a_clear_error() -> None:
    document = {**PG, "host": "127.0.0.1", "port": 1, "sslmode": "disable"}
    with pytest.raises(WarehouseUnavailableError, match="cannot be reached"):
        open_warehouse(parse_connection(document), statement_timeout_s=5)


def test_the_demo_data_ships_with_the_package() -> None:
    warehouse_fixture = FIXTURES / "warehouse/jaffle-shop-demo"
    for table in demo_tables():
        assert filecmp.cmp(
            DEMO_DIR / table["file"], warehouse_fixture / table["file"], shallow=False
        )
    assert filecmp.cmp(DEMO_DIR / "schema.json", warehouse_fixture / "schema.json", shallow=False)
    assert filecmp.cmp(DEMO_MANIFEST, JAFFLE_MANIFEST, shallow=False)


def test_the_demo_duckdb_is_typed_and_complete(duckdb_demo: DemoWarehouse) -> None:
    warehouse = duckdb_demo.open()
    try:
        for table in demo_tables():
            fields = warehouse.list_fields("jaffle", table["name"])
            assert [(f.name, f.warehouse_type) for f in fields] == [
                (c["name"], c["type"]) for c in table["columns"]
            ]
            count = warehouse.run(f'SELECT COUNT(*) FROM jaffle."{table["name"]}"').fetchall()
            assert count == [(table["row_count"],)]
    finally:
        warehouse.close()


def test_the_demo_duckdb_file_must_be_named_after_its_database(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"jaffle_shop\.duckdb"):
        build_demo_duckdb(tmp_path / "demo.duckdb")


def test_catalogue_and_fields_on_both_warehouses(demo: DemoWarehouse) -> None:
    warehouse = demo.open()
    try:
        tables = {
            t.name
            for t in warehouse.list_tables()
            if t.schema == demo.schema.strip('"').split(".")[-1]
        }
        assert {t["name"] for t in demo_tables()} <= tables
        fields = {
            f.name: f.type
            for f in warehouse.list_fields(demo.schema.strip('"').split(".")[-1], "orders")
        }
        assert fields["order_id"] == "number"
        assert fields["order_date"] == "date"
        assert fields["is_completed"] == "boolean"
        assert fields["status"] == "string"
    finally:
        warehouse.close()


def test_rows_come_in_batches(demo: DemoWarehouse) -> None:
    warehouse = demo.open()
    try:
        result = warehouse.run(f"SELECT * FROM {demo.schema}.fanouts_users")
        assert result.columns[0] == "user_id"
        batches = [len(batch) for batch in result.batches()]
        assert (
            batches[0] == BATCH_ROWS
            and sum(batches) == 6006
            and len(batches) == -(-6006 // BATCH_ROWS) > 1
        )
    finally:
        warehouse.close()
