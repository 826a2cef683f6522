"""How a query meets its warehouse: the project's connection, the compiler, the run itself.

The compiler (`lightkeeper.compiler`) turns a metric query into one statement with bound
parameters; the warehouse (`lightkeeper.warehouse`) runs it through its own driver. This module
joins them for the runner: a *body* opens the warehouse, lets the runner's watcher reach its
cancel, and hands back the warehouse's rows with the function that writes one in Lightdash's
wire shape (`{fieldId: {value: {raw, formatted}}}`) as JSON text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp

from lightkeeper import compiler, warehouse
from lightkeeper.kit.errors import ParameterError
from lightkeeper.models import Project
from lightkeeper.queries.runner import CancelScope, Outcome, QueryFailed
from lightkeeper.runtime import Runtime

WarehouseQueryError = warehouse.WarehouseQueryError
NO_CONNECTION = (
    "This project has no warehouse connection: set `warehouseConnection` with "
    "PATCH /api/v1/projects/{projectUuid}"
)


@dataclass(frozen=True)
class Compiled:
    sql: str
    parameters: Sequence[Any]
    fields: dict[str, Any]
    metric_query: dict[str, Any]
    dialect: warehouse.Dialect
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def display_sql(self) -> str:
        """The statement with its values inline, for people to read (compileQuery only: it is
        parsed and written again, which a run does not need)."""
        return inline_parameters(self.sql, self.parameters, self.dialect)


def project_connection(
    runtime: Runtime, project: Project, *, required: bool = True
) -> warehouse.WarehouseConnection | None:
    """The project's warehouse connection, opened from its sealed form and checked again.

    Rules: none stored is a 400 saying how to set one (unless not `required`: compiling needs
    only the dialect); a DuckDB file outside LIGHTKEEPER_WAREHOUSE_DIRS is refused even if it
    was stored before the setting changed.
    """
    if not project.warehouse_connection:
        if required:
            raise ParameterError(NO_CONNECTION.replace("{projectUuid}", project.uuid))
        return None
    try:
        document = runtime.secret_box.open(project.warehouse_connection)
    except ValueError as error:
        raise ParameterError(
            "The project's warehouse connection cannot be read with this server's secret: "
            "set it again"
        ) from error
    return warehouse.parse_connection(document, allowed_dirs=runtime.settings.warehouse_dir_list)


def dialect_of(connection: warehouse.WarehouseConnection | None) -> warehouse.Dialect:
    return "postgres" if isinstance(connection, warehouse.PostgresConnection) else "duckdb"


def compile_metric_query(
    runtime: Runtime,
    explore: dict[str, Any],
    query: dict[str, Any],
    connection: warehouse.WarehouseConnection | None,
) -> Compiled:
    """The metric query as one statement for the connection's dialect (400 on a bad query)."""
    dialect = dialect_of(connection)
    compiled = compiler.compile_metric_query(
        explore,
        query,
        dialect=dialect,
        max_limit=runtime.settings.query_max_limit,
        default_limit=runtime.settings.query_default_limit,
    )
    return Compiled(
        sql=compiled.sql,
        parameters=list(compiled.parameters),
        fields=dict(compiled.fields),
        metric_query=dict(compiled.metric_query),
        dialect=dialect,
        warnings=list(compiled.warnings),
    )


def inline_parameters(sql: str, parameters: Sequence[Any], dialect: str) -> str:
    """The SQL with its bound values written as literals, for people to read (compileQuery)."""
    if not parameters:
        return sql
    values = iter(parameters)
    tree = sqlglot.parse_one(sql, read=dialect)

    def literal(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder):
            return _literal(next(values))
        return node

    return tree.transform(literal).sql(dialect=dialect)


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | Decimal):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def _open(
    runtime: Runtime, connection: warehouse.WarehouseConnection, scope: CancelScope
) -> warehouse.Warehouse:
    opened = warehouse.open_warehouse(
        connection, statement_timeout_s=runtime.settings.query_timeout_seconds
    )
    scope.on_cancel(opened.cancel)
    return opened


def _run(
    runtime: Runtime,
    connection: warehouse.WarehouseConnection,
    sql: str,
    parameters: Sequence[Any],
    scope: CancelScope,
    shape: Callable[
        [list[str], list[str]],
        tuple[Callable[[Sequence[Sequence[Any]]], list[str]], dict[str, Any]],
    ],
) -> Outcome:
    """Run one statement: stopped before it starts if already cancelled, and between two
    batches of rows."""
    started = time.monotonic()
    try:
        opened = _open(runtime, connection, scope)
        try:
            scope.raise_if_stopped()
            result = opened.run(sql, parameters)
            rows: list[tuple[Any, ...]] = []
            for batch in result.batches():
                scope.raise_if_stopped()
                rows.extend(batch)
            columns, types = result.columns, result.types
        finally:
            opened.close()
    except warehouse.WarehouseQueryError as error:
        raise QueryFailed(error.message) from error
    elapsed = int((time.monotonic() - started) * 1000)
    encode, column_meta = shape(columns, types)
    return Outcome(rows, encode, column_meta, elapsed)


def _column_types(columns: list[str], types: list[str]) -> dict[str, Any]:
    """Lightdash's `columns`: each result column with its type as the warehouse reported it."""
    return {
        name: {"reference": name, "type": kind} for name, kind in zip(columns, types, strict=True)
    }


def metric_query_body(
    runtime: Runtime, connection: warehouse.WarehouseConnection | None, compiled: Compiled
) -> Callable[[CancelScope], Outcome]:
    """The runner's work for a compiled metric query: rows keyed by field id, formatted."""
    assert connection is not None

    def shape(
        columns: list[str], types: list[str]
    ) -> tuple[Callable[[Sequence[Sequence[Any]]], list[str]], dict[str, Any]]:
        encode = compiler.rows_encoder(compiled.fields, columns)
        # Typed from the fields, as Lightdash does; the warehouse's type for anything else.
        typed = compiler.result_columns(compiled.fields, columns)
        measured = _column_types(columns, types)
        return encode, {
            name: (typed if name in compiled.fields else measured)[name] for name in columns
        }

    def body(scope: CancelScope) -> Outcome:
        return _run(runtime, connection, compiled.sql, compiled.parameters, scope, shape)

    return body


def sql_body(
    runtime: Runtime, connection: warehouse.WarehouseConnection | None, sql: str
) -> Callable[[CancelScope], Outcome]:
    """The runner's work for SQL: rows keyed by column name, columns typed from the result."""
    assert connection is not None

    def shape(
        columns: list[str], types: list[str]
    ) -> tuple[Callable[[Sequence[Sequence[Any]]], list[str]], dict[str, Any]]:
        return compiler.rows_encoder({}, columns), _column_types(columns, types)

    def body(scope: CancelScope) -> Outcome:
        return _run(runtime, connection, sql, (), scope, shape)

    return body


def limited_sql(sql: str, limit: int, connection: warehouse.WarehouseConnection | None) -> str:
    """One read statement, its rows capped at `limit`, written with a SQL library.

    Rules: exactly one statement, and a query (400 otherwise, naming the problem); a SELECT
    without a LIMIT gets one, anything else is wrapped as `SELECT * FROM (<sql>) AS sql_query
    LIMIT n`. The warehouse is read-only anyway: this is about clear answers, not safety.
    """
    dialect = dialect_of(connection)
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise ParameterError(
            "SQL is empty: give one SELECT statement", {"fields": {"sql": "required"}}
        )
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as error:
        raise ParameterError(
            f"SQL could not be read: {str(error).splitlines()[0]}", {"fields": {"sql": "invalid"}}
        ) from error
    if len(statements) != 1:
        raise ParameterError(
            "SQL must be exactly one statement (no `;` between statements)",
            {"fields": {"sql": "more than one statement"}},
        )
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise ParameterError(
            "Only queries (SELECT, WITH …, VALUES) can run in the SQL runner",
            {"fields": {"sql": "not a query"}},
        )
    if isinstance(statement, exp.Select) and statement.args.get("limit") is None:
        limited: exp.Expression = statement.limit(limit)  # keeps its ORDER BY in force
    else:
        limited = exp.select("*").from_(statement.subquery("sql_query")).limit(limit)
    return limited.sql(dialect=dialect)


def list_tables(
    runtime: Runtime, connection: warehouse.WarehouseConnection | None
) -> dict[str, Any]:
    """Lightdash's catalog: database → schema → table → {} (the leaves carry no detail)."""
    assert connection is not None
    scope = CancelScope("catalog")
    opened = _open(runtime, connection, scope)
    try:
        tables = opened.list_tables()
    finally:
        opened.close()
    catalog: dict[str, Any] = {}
    for table in tables:
        catalog.setdefault(table.database, {}).setdefault(table.schema, {})[table.name] = {}
    return catalog


def list_fields(
    runtime: Runtime,
    connection: warehouse.WarehouseConnection | None,
    table: str | None,
    schema: str | None,
) -> dict[str, str]:
    """A table's columns and their Lightdash types (400 without a table name)."""
    assert connection is not None
    if not table:
        raise ParameterError(
            "Name the table: `tableName` (or `table`), optionally `schemaName` (or `schema`)",
            {"fields": {"tableName": "required"}},
        )
    scope = CancelScope("fields")
    opened = _open(runtime, connection, scope)
    try:
        fields = opened.list_fields(schema, table)
    finally:
        opened.close()
    if not fields:
        raise ParameterError(f"Table {table!r} not found in the warehouse")
    return {f.name: f.type for f in fields}
