"""A project's warehouse connection: Lightdash's JSON shapes, parsed and checked.

Two types (Lightdash's `CreateWarehouseCredentials`, reduced to what Lightkeeper runs):

- ``{"type": "duckdb", "database": "<path of a database file>", "schema": "<default schema>"}``
  — the path must lie inside one of the allowed folders (``LIGHTKEEPER_WAREHOUSE_DIRS``), after
  symbolic links are followed, so a project admin cannot make the server open any file it can
  read.
- ``{"type": "postgres", "host", "port", "dbname", "user", "password", "schema", "sslmode"}``
  — ``port`` defaults to 5432, ``sslmode`` to ``prefer``; ``password`` is the one secret.

Anything malformed is a `WarehouseConnectionError` (400) that names the field to fix. Keys this
module does not use (Lightdash sends ``threads``, ``startOfWeek``, ``requireUserCredentials``…)
are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightkeeper.kit.errors import ParameterError

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
WAREHOUSE_TYPES = ("duckdb", "postgres")
# What a project's `warehouseType` says where Lightdash's type fixes it to its own
# `WarehouseTypes` (bigquery, databricks, postgres, redshift, snowflake, trino), e.g. in
# `OrganizationProject`: DuckDB is not one of them and Lightdash has no project without a
# warehouse, so every project answers "postgres", the SQL dialect DuckDB follows
# (docs/decisions.md, "The two lists' shapes"). The real type is the project detail's to tell.
LIGHTDASH_WAREHOUSE_TYPE = "postgres"


class WarehouseConnectionError(ParameterError):
    """A connection document that cannot be used (400, the message names the field)."""


@dataclass(frozen=True)
class DuckdbConnection:
    database: Path
    schema: str
    type: str = "duckdb"


@dataclass(frozen=True)
class PostgresConnection:
    host: str
    dbname: str
    user: str
    schema: str
    port: int = 5432
    password: str | None = None
    sslmode: str = "prefer"
    type: str = "postgres"


WarehouseConnection = DuckdbConnection | PostgresConnection


def _fail(field: str, message: str) -> WarehouseConnectionError:
    return WarehouseConnectionError(message, {"fields": {f"warehouseConnection.{field}": message}})


def _text(document: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = document.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _fail(key, f"Warehouse connection needs a non-empty `{key}`")
        return None
    if not isinstance(value, str):
        raise _fail(key, f"Warehouse connection `{key}` must be a string")
    if "\x00" in value:
        raise _fail(key, f"Warehouse connection `{key}` contains a NUL character")
    return value.strip()


def parse_connection(
    document: Any, *, allowed_dirs: Iterable[Path] | None = None
) -> WarehouseConnection:
    """Read Lightdash's connection JSON.

    Rules: ``type`` is ``duckdb`` or ``postgres``; a DuckDB ``database`` must be inside one of
    ``allowed_dirs`` when they are given (see `check_allowed_path`); a PostgreSQL ``port`` is an
    integer 1..65535 and ``sslmode`` one of libpq's. Raises `WarehouseConnectionError`.
    """
    if not isinstance(document, Mapping):
        raise _fail("type", "Warehouse connection must be an object with a `type`")
    kind = document.get("type")
    if kind not in WAREHOUSE_TYPES:
        raise _fail(
            "type",
            f"Warehouse type {kind!r} is not supported: use one of {', '.join(WAREHOUSE_TYPES)}",
        )
    if kind == "duckdb":
        path_text = _text(document, "database")
        assert path_text is not None
        schema = _text(document, "schema", required=False) or "main"
        connection = DuckdbConnection(database=Path(path_text), schema=schema)
        if allowed_dirs is not None:
            check_allowed_path(connection, allowed_dirs)
        return connection
    port = document.get("port", 5432)
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise _fail("port", "Warehouse connection `port` must be a number from 1 to 65535")
    sslmode = _text(document, "sslmode", required=False) or "prefer"
    if sslmode not in SSL_MODES:
        raise _fail(
            "sslmode", f"Warehouse connection `sslmode` must be one of {', '.join(SSL_MODES)}"
        )
    password = document.get("password")
    if password is not None and not isinstance(password, str):
        raise _fail("password", "Warehouse connection `password` must be a string")
    host, dbname, user, schema = (
        _text(document, key) or "" for key in ("host", "dbname", "user", "schema")
    )
    return PostgresConnection(
        host=host,
        port=port,
        dbname=dbname,
        user=user,
        password=password or None,
        schema=schema,
        sslmode=sslmode,
    )


def check_allowed_path(connection: DuckdbConnection, allowed_dirs: Iterable[Path]) -> Path:
    """The DuckDB file's real path, if it lies inside one of ``allowed_dirs``.

    Rules: both sides are resolved (``..`` and symbolic links followed) before comparing, so
    neither ``allowed/../etc/x`` nor a link inside an allowed folder escapes; the file need not
    exist yet. Raises `WarehouseConnectionError` naming the allowed folders.
    """
    dirs = [Path(d).expanduser().resolve() for d in allowed_dirs]
    path = connection.database.expanduser().resolve()
    if not any(path.is_relative_to(d) for d in dirs):
        allowed = ", ".join(str(d) for d in dirs) or "(none configured)"
        raise _fail(
            "database",
            f"DuckDB database {str(connection.database)!r} is outside the folders this server "
            f"allows (LIGHTKEEPER_WAREHOUSE_DIRS: {allowed})",
        )
    return path


def public_view(connection: WarehouseConnection) -> dict[str, Any]:
    """The connection as clients may read it: Lightdash's shape without the password."""
    if isinstance(connection, DuckdbConnection):
        return {"type": "duckdb", "database": str(connection.database), "schema": connection.schema}
    return {
        "type": "postgres",
        "host": connection.host,
        "port": connection.port,
        "dbname": connection.dbname,
        "user": connection.user,
        "schema": connection.schema,
        "sslmode": connection.sslmode,
    }


def to_document(connection: WarehouseConnection) -> dict[str, Any]:
    """The full document to store (sealed at rest by the caller): the public view + secrets."""
    document = public_view(connection)
    if isinstance(connection, PostgresConnection) and connection.password is not None:
        document["password"] = connection.password
    return document
