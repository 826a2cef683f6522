"""Running SQL on a warehouse through its own driver: DuckDB (`duckdb`) and PostgreSQL (`psycopg`).

- DuckDB is opened **read-only, with external access disabled and the configuration locked**:
  no statement, however written (`read_csv('/etc/passwd')`, `ATTACH`, `COPY … TO`, `INSTALL`,
  `SET enable_external_access = true`), reads or writes a file or the network. A statement
  timeout is enforced by interrupting the connection. One database per file stays open in the
  process; each `Warehouse` is its own connection to it.
- PostgreSQL runs every statement with `statement_timeout` and reads results through a
  server-side cursor, which also means one statement per call (no `select 1; drop …`). The
  connection user's own rights are the limit.
- Rows are fetched in batches (`BATCH_ROWS`) while the caller iterates, so a large result never
  sits in memory twice.
- `cancel()` may be called from any thread while `run()` is iterating in another: DuckDB's
  `interrupt()`, PostgreSQL's cancel request. The iterating thread then raises
  `QueryCancelledError`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import duckdb
import psycopg

from lightkeeper.kit.errors import ParameterError
from lightkeeper.warehouse.connection import (
    DuckdbConnection,
    PostgresConnection,
    WarehouseConnection,
)

Dialect = Literal["duckdb", "postgres"]
BATCH_ROWS = 5000


class WarehouseQueryError(ParameterError):
    """The warehouse refused or failed a statement; the message is the warehouse's."""

    name = "WarehouseQueryError"


class QueryCancelledError(WarehouseQueryError):
    """The statement was stopped by `Warehouse.cancel()`."""

    default_message = "Query was cancelled"


class QueryTimeoutError(WarehouseQueryError):
    """The statement ran longer than the statement timeout."""


class WarehouseUnavailableError(WarehouseQueryError):
    """The warehouse could not be reached or opened."""


@dataclass(frozen=True)
class TableRef:
    database: str
    schema: str
    name: str


@dataclass(frozen=True)
class TableField:
    name: str
    type: str  # Lightdash's: string | number | date | timestamp | boolean
    warehouse_type: str


def lightdash_type(warehouse_type: str) -> str:
    """A warehouse column type as Lightdash's dimension type (unknown types are strings)."""
    base = warehouse_type.strip().lower().split("(", 1)[0].strip()
    if base in ("bool", "boolean"):
        return "boolean"
    if base == "date":
        return "date"
    if base.startswith(("timestamp", "datetime")):
        return "timestamp"
    numeric = (
        "int", "bigint", "smallint", "tinyint", "hugeint", "uhugeint", "ubigint", "uinteger",
        "usmallint", "utinyint", "numeric", "decimal", "float", "double", "real", "oid",
    )  # fmt: skip
    if base.startswith(numeric):
        return "number"
    return "string"


class ResultSet:
    """Column names and types, and the rows as tuples, fetched in batches while iterated."""

    def __init__(
        self, columns: list[str], types: list[str], batches: Iterator[Sequence[tuple[Any, ...]]]
    ) -> None:
        self.columns = columns
        self.types = types
        self._batches = batches

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for batch in self._batches:
            yield from batch

    def batches(self) -> Iterator[Sequence[tuple[Any, ...]]]:
        """The rows a batch at a time (each a list of tuples)."""
        return self._batches

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self)


class Warehouse(Protocol):
    dialect: Dialect

    def run(self, sql: str, params: Sequence[Any] | None = None) -> ResultSet: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...
    def list_tables(self) -> list[TableRef]: ...
    def list_fields(self, schema: str | None, table: str) -> list[TableField]: ...


def open_warehouse(connection: WarehouseConnection, *, statement_timeout_s: float) -> Warehouse:
    """A connection to the warehouse, ready to `run()`; close it when done.

    Rules: DuckDB read-only with external access off (the file must exist); PostgreSQL with
    `statement_timeout`. Raises `WarehouseUnavailableError` when it cannot be opened.
    """
    if isinstance(connection, DuckdbConnection):
        return DuckdbWarehouse(connection, statement_timeout_s=statement_timeout_s)
    return PostgresWarehouse(connection, statement_timeout_s=statement_timeout_s)


# -- DuckDB ---------------------------------------------------------------------------------

# Everything that could reach outside the database file is off, and stays off: with the
# configuration locked no statement can turn it back on.
_DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": "false",
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
    "allow_community_extensions": "false",
    "lock_configuration": "true",
}


# Opening a DuckDB file costs ~100 ms (catalogue, WAL); a connection to an open database costs
# well under one. So each process keeps one read-only database per file, keyed by the file's
# identity (a rebuilt file, renamed into place, is a new inode: opened afresh), and every
# Warehouse gets its own connection to it (`cursor()`), which it alone runs and interrupts.
_DATABASES: dict[tuple[str, int, int, int], duckdb.DuckDBPyConnection] = {}
_DATABASES_LOCK = threading.Lock()
_MAX_DATABASES = 32


def _duckdb_connection(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with _DATABASES_LOCK:
            database = _DATABASES.get(key)
            if database is None:
                for stale in [k for k in _DATABASES if k[0] == key[0]]:
                    del _DATABASES[stale]  # its open connections keep it alive until closed
                if len(_DATABASES) >= _MAX_DATABASES:
                    del _DATABASES[next(iter(_DATABASES))]
                database = duckdb.connect(str(path), read_only=True, config=_DUCKDB_CONFIG)
                _DATABASES[key] = database
            return database.cursor()
    except (duckdb.Error, OSError) as error:
        raise WarehouseUnavailableError(f"DuckDB database cannot be opened: {error}") from error


class DuckdbWarehouse:
    dialect: Dialect = "duckdb"

    def __init__(self, connection: DuckdbConnection, *, statement_timeout_s: float) -> None:
        path = connection.database.expanduser()
        if not path.is_file():
            raise WarehouseUnavailableError(f"DuckDB database file {str(path)!r} does not exist")
        self.timeout_s = statement_timeout_s
        self._lock = threading.Lock()
        self._cancelled = False
        self._timed_out = False
        self._conn = _duckdb_connection(path)
        self._closed = False

    def run(self, sql: str, params: Sequence[Any] | None = None) -> ResultSet:
        """Run one statement; the rows come while the result is iterated."""
        self._cancelled = self._timed_out = False
        timer = threading.Timer(self.timeout_s, self._on_timeout)
        timer.daemon = True
        timer.start()
        try:
            cursor = self._conn.execute(sql, list(params) if params else None)
            description = cursor.description or []
        except duckdb.Error as error:
            timer.cancel()
            raise self._error(error) from error
        columns = [d[0] for d in description]
        types = [lightdash_type(str(d[1])) for d in description]
        return ResultSet(columns, types, self._batches(cursor, timer))

    def _batches(
        self, cursor: duckdb.DuckDBPyConnection, timer: threading.Timer
    ) -> Iterator[list[tuple[Any, ...]]]:
        try:
            while True:
                try:
                    batch = cursor.fetchmany(BATCH_ROWS)
                except duckdb.Error as error:
                    raise self._error(error) from error
                if not batch:
                    return
                yield batch
        finally:
            timer.cancel()

    def _error(self, error: Exception) -> WarehouseQueryError:
        if self._timed_out:
            return QueryTimeoutError(
                f"Query exceeded the statement timeout of {self.timeout_s:g} seconds"
            )
        if self._cancelled:
            return QueryCancelledError()
        return WarehouseQueryError(str(error))

    def _on_timeout(self) -> None:
        self._timed_out = True
        self._interrupt()

    def _interrupt(self) -> None:
        with self._lock:
            if not self._closed:
                self._conn.interrupt()

    def cancel(self) -> None:
        """Stop the running statement (from any thread)."""
        self._cancelled = True
        self._interrupt()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def list_tables(self) -> list[TableRef]:
        rows = self.run(
            "SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog NOT IN ('system', 'temp') "
            "AND table_schema NOT IN ('information_schema', 'pg_catalog') ORDER BY 1, 2, 3"
        )
        return [TableRef(str(d), str(s), str(t)) for d, s, t in rows]

    def list_fields(self, schema: str | None, table: str) -> list[TableField]:
        sql = (
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog NOT IN ('system', 'temp') AND table_name = ?"
        )
        params: list[Any] = [table]
        if schema:
            sql += " AND table_schema = ?"
            params.append(schema)
        rows = self.run(sql + " ORDER BY ordinal_position", params)
        return [TableField(str(n), lightdash_type(str(t)), str(t)) for n, t in rows]


# -- PostgreSQL -----------------------------------------------------------------------------


class PostgresWarehouse:
    dialect: Dialect = "postgres"

    def __init__(self, connection: PostgresConnection, *, statement_timeout_s: float) -> None:
        self.timeout_s = statement_timeout_s
        self._cancelled = False
        self._cursor_count = 0
        timeout_ms = max(1, int(statement_timeout_s * 1000))
        try:
            self._conn = psycopg.connect(
                host=connection.host,
                port=connection.port,
                dbname=connection.dbname,
                user=connection.user,
                password=connection.password or "",
                sslmode=connection.sslmode,
                connect_timeout=10,
                application_name="lightkeeper-query",
                options=f"-c statement_timeout={timeout_ms}",
            )
        except psycopg.Error as error:
            raise WarehouseUnavailableError(
                f"PostgreSQL warehouse cannot be reached: {error}".strip()
            ) from error
        self.schema = connection.schema

    def run(self, sql: str, params: Sequence[Any] | None = None) -> ResultSet:
        """Run one statement in a server-side cursor; rows come while the result is iterated."""
        self._cancelled = False
        if self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self._conn.rollback()
        self._cursor_count += 1
        cursor = self._conn.cursor(name=f"lightkeeper_{self._cursor_count}")
        try:
            cursor.execute(sql, list(params) if params else None)
            description = cursor.description or []
        except psycopg.Error as error:
            self._conn.rollback()
            raise self._error(error) from error
        columns = [d.name for d in description]
        types = [lightdash_type(self._type_name(d.type_code)) for d in description]
        return ResultSet(columns, types, self._batches(cursor))

    def _type_name(self, oid: int) -> str:
        info = self._conn.adapters.types.get(oid)
        return info.name if info is not None else "text"

    def _batches(self, cursor: psycopg.ServerCursor[Any]) -> Iterator[list[tuple[Any, ...]]]:
        try:
            while True:
                try:
                    batch = cursor.fetchmany(BATCH_ROWS)
                except psycopg.Error as error:
                    raise self._error(error) from error
                if not batch:
                    return
                yield batch
        finally:
            try:
                cursor.close()
                self._conn.rollback()
            except psycopg.Error:
                pass

    def _error(self, error: psycopg.Error) -> WarehouseQueryError:
        if isinstance(error, psycopg.errors.QueryCanceled):
            if self._cancelled:
                return QueryCancelledError()
            return QueryTimeoutError(
                f"Query exceeded the statement timeout of {self.timeout_s:g} seconds"
            )
        message = str(error).strip() or type(error).__name__
        return WarehouseQueryError(message)

    def cancel(self) -> None:
        """Ask PostgreSQL to stop the running statement (from any thread)."""
        self._cancelled = True
        with contextlib.suppress(psycopg.Error):
            self._conn.cancel_safe(timeout=10)

    def close(self) -> None:
        self._conn.close()

    def list_tables(self) -> list[TableRef]:
        rows = self.run(
            "SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('information_schema', 'pg_catalog') "
            "AND table_schema NOT LIKE 'pg_toast%' ORDER BY 1, 2, 3"
        )
        return [TableRef(str(d), str(s), str(t)) for d, s, t in rows]

    def list_fields(self, schema: str | None, table: str) -> list[TableField]:
        rows = self.run(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = %s AND table_schema = %s ORDER BY ordinal_position",
            [table, schema or self.schema],
        )
        return [TableField(str(n), lightdash_type(str(t)), str(t)) for n, t in rows]
