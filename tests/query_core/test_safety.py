"""Input that tries to break out of its place is refused (400) or inert; no file is ever read.

Table calculations, custom SQL dimensions, filter values, field ids, sorts, the timezone and
the limit each get quotes, comments, `; drop …`, subqueries and DuckDB file functions. Each
refused one is a 400 that says what is wrong; each accepted one runs as plain data, and the
warehouse still holds every order afterwards.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lightkeeper.compiler import CompileError, FieldReferenceError, TableCalculationError
from lightkeeper.kit.errors import ForbiddenError, ParameterError
from lightkeeper.warehouse import WarehouseQueryError, open_warehouse, parse_connection
from tests.query_core.conftest import DemoWarehouse, path_of
from tests.query_core.oracle import compile_on, fetch

BASE: dict[str, Any] = {"dimensions": ["orders_status"], "metrics": ["orders_total_order_amount"]}

BREAKOUTS = [
    "${orders.total_order_amount}; DROP TABLE jaffle.orders",
    "1; SELECT 1",
    "DROP TABLE jaffle.orders",
    "(SELECT 1)",
    "(SELECT COUNT(*) FROM jaffle.orders)",
    "EXISTS (SELECT 1)",
    "${orders.total_order_amount} IN (SELECT amount FROM jaffle.orders)",
    "read_csv('/etc/passwd')",
    "(SELECT * FROM read_csv('/etc/passwd'))",
    "pg_sleep(5)",
    "current_setting('server_version')",
    "amount",
    '"orders".amount',
    "orders_total_order_amount",
    "${orders.amount}",
    "${orders.status}) FROM x --",
    "${lightdash.user.email}",
    "${orders.total_order_amount",
    "'x'' OR 1=1 --",
    "${orders.total_order_amount} /* */ ) UNION SELECT 1 --",
]


def refused_message(error: pytest.ExceptionInfo[ParameterError]) -> str:
    assert error.value.status_code == 400
    return error.value.message


@pytest.mark.parametrize("sql", BREAKOUTS, ids=[f"calc-{i}" for i in range(len(BREAKOUTS))])
def test_table_calculations_that_are_not_expressions_over_fields_are_refused(
    duckdb_demo: DemoWarehouse, sql: str
) -> None:
    query = {**BASE, "tableCalculations": [{"name": "evil", "sql": sql}]}
    with pytest.raises(TableCalculationError) as error:
        compile_on(duckdb_demo, "orders", query)
    assert refused_message(error).startswith("Table calculation 'evil': ")


# A custom dimension may refer to any dimension, selected or not.
CUSTOM_BREAKOUTS = [sql for sql in BREAKOUTS if sql != "${orders.amount}"]


@pytest.mark.parametrize(
    "sql", CUSTOM_BREAKOUTS, ids=[f"custom-{i}" for i in range(len(CUSTOM_BREAKOUTS))]
)
def test_custom_sql_dimensions_are_expressions_over_dimensions_only(
    duckdb_demo: DemoWarehouse, sql: str
) -> None:
    custom = {"id": "evil", "name": "Evil", "type": "sql", "table": "orders", "sql": sql}
    query = {
        "dimensions": ["evil"],
        "metrics": ["orders_unique_order_count"],
        "customDimensions": [custom],
    }
    with pytest.raises(ParameterError) as error:
        compile_on(duckdb_demo, "orders", query)
    assert refused_message(error)


def test_comments_in_a_table_calculation_are_inert(demo: DemoWarehouse) -> None:
    query = {
        **BASE,
        "tableCalculations": [
            {"name": "plus_one", "sql": "1 /* ; drop */ + ${orders.total_order_amount} -- trailing"}
        ],
        "sorts": [{"fieldId": "orders_status"}],
    }
    rows = fetch(demo, compile_on(demo, "orders", query).sql)
    assert [round(r[2] - r[1], 6) for r in rows] == [1.0] * len(rows)


@pytest.mark.parametrize(
    "value",
    [
        "x' OR '1'='1",
        "'; DROP TABLE jaffle.orders; --",
        "completed' --",
        "\\'; SELECT 1; --",
        "read_csv('/etc/passwd')",
        '" OR 1=1 --',
    ],
    ids=["quote-or", "drop", "comment", "backslash", "file-function", "double-quote"],
)
def test_filter_values_are_data(demo: DemoWarehouse, value: str) -> None:
    for operator in ("equals", "include", "startsWith", "endsWith"):
        query = {
            **BASE,
            "filters": {
                "dimensions": {
                    "and": [
                        {
                            "target": {"fieldId": "orders_status"},
                            "operator": operator,
                            "values": [value],
                        }
                    ]
                }
            },
        }
        assert fetch(demo, compile_on(demo, "orders", query).sql) == []
    # The table is untouched.
    assert fetch(demo, f"SELECT COUNT(*) FROM {demo.schema}.orders") == [(99.0,)]


def test_a_quote_in_a_value_matches_that_value(demo: DemoWarehouse) -> None:
    query = {
        "dimensions": ["customers_first_name"],
        "metrics": [],
        "filters": {
            "dimensions": {
                "and": [
                    {
                        "target": {"fieldId": "customers_first_name"},
                        "operator": "equals",
                        "values": ["Quo'te"],
                    }
                ]
            }
        },
    }
    assert fetch(demo, compile_on(demo, "customers", query).sql) == [("Quo'te",)]


def test_like_wildcards_in_values_are_literal(demo: DemoWarehouse) -> None:
    def matching(value: str) -> list[str]:
        rule = {"target": {"fieldId": "orders_status"}, "operator": "include", "values": [value]}
        query = {
            **BASE,
            "filters": {"dimensions": {"and": [rule]}},
            "sorts": [{"fieldId": "orders_status"}],
        }
        return [row[0] for row in fetch(demo, compile_on(demo, "orders", query).sql)]

    assert matching("%") == matching("%%") == matching("\\") == []
    assert matching("_") == ["return_pending"]


@pytest.mark.parametrize(
    "change",
    [
        {"dimensions": ["orders_status; DROP TABLE jaffle.orders"]},
        {"dimensions": ['orders_status" FROM x --']},
        {"metrics": ["SUM(amount)"]},
        {"sorts": [{"fieldId": "1; DROP TABLE jaffle.orders"}]},
        {"sorts": [{"fieldId": "orders_amount"}]},  # not selected
        {
            "filters": {
                "dimensions": {
                    "and": [{"target": {"fieldId": "orders_status) OR (1=1"}, "operator": "isNull"}]
                }
            }
        },
        {
            "filters": {
                "metrics": {"and": [{"target": {"fieldId": "orders_status"}, "operator": "isNull"}]}
            }
        },
    ],
    ids=[
        "dimension",
        "dimension-quote",
        "metric",
        "sort",
        "sort-unselected",
        "filter-target",
        "metric-filter-on-dimension",
    ],
)
def test_unknown_field_ids_are_refused(duckdb_demo: DemoWarehouse, change: dict[str, Any]) -> None:
    with pytest.raises(FieldReferenceError) as error:
        compile_on(duckdb_demo, "orders", {**BASE, **change})
    assert refused_message(error)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timezone": "UTC'; DROP TABLE x; --"}, "Unknown timezone"),
        ({"limit": "10; DROP TABLE x"}, "Limit must be a whole number from 1 to 5000"),
        ({"limit": 0}, "Limit must be"),
        ({"limit": 5001}, "Limit must be"),
        (
            {
                "filters": {
                    "dimensions": {
                        "and": [
                            {
                                "target": {"fieldId": "orders_amount"},
                                "operator": "greaterThan",
                                "values": ["1 OR 1=1"],
                            }
                        ]
                    }
                }
            },
            "is not a number",
        ),
        (
            {
                "filters": {
                    "dimensions": {
                        "and": [
                            {
                                "target": {"fieldId": "orders_order_date"},
                                "operator": "equals",
                                "values": ["2018-01-01' OR '1'='1"],
                            }
                        ]
                    }
                }
            },
            "is not a date",
        ),
        (
            {
                "filters": {
                    "dimensions": {
                        "and": [
                            {
                                "target": {"fieldId": "orders_status"},
                                "operator": "drop",
                                "values": [],
                            }
                        ]
                    }
                }
            },
            "operator 'drop'",
        ),
        (
            {
                "additionalMetrics": [
                    {"name": "x", "table": "orders", "type": "sum", "sql": "(SELECT 1)"}
                ],
                "metrics": ["orders_x"],
            },
            "must name one dimension",
        ),
        (
            {
                "additionalMetrics": [
                    {
                        "name": "x",
                        "table": "orders",
                        "type": "sum",
                        "sql": "${TABLE}.amount); DROP TABLE x; --",
                    }
                ],
                "metrics": ["orders_x"],
            },
            "must name one dimension",
        ),
        (
            {
                "customDimensions": [
                    {
                        "id": "b",
                        "name": "B",
                        "type": "bin",
                        "dimensionId": "orders_amount",
                        "binType": "fixed_number",
                        "binNumber": 3,
                    }
                ],
                "dimensions": ["b"],
            },
            "fixed_number is not supported",
        ),
        (
            {
                "customDimensions": [
                    {
                        "id": "b",
                        "name": "B",
                        "type": "bin",
                        "dimensionId": "orders_amount",
                        "binType": "fixed_width",
                        "binWidth": "10; drop",
                    }
                ],
                "dimensions": ["b"],
            },
            "`binWidth` must be a whole number",
        ),
    ],
    ids=[
        "timezone",
        "limit-text",
        "limit-zero",
        "limit-too-big",
        "number-value",
        "date-value",
        "operator",
        "additional-subquery",
        "additional-breakout",
        "bin-fixed-number",
        "bin-width-text",
    ],
)
def test_other_bad_input_is_a_400_that_says_what_to_fix(
    duckdb_demo: DemoWarehouse, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(CompileError) as error:
        compile_on(duckdb_demo, "orders", {**BASE, **change})
    assert message in refused_message(error)


def test_a_model_sql_with_a_statement_never_reaches_the_warehouse(
    duckdb_demo: DemoWarehouse,
) -> None:
    explore = {**duckdb_demo.explores["orders"]}
    explore["tables"] = {**explore["tables"]}
    orders = {
        **explore["tables"]["orders"],
        "dimensions": {**explore["tables"]["orders"]["dimensions"]},
    }
    orders["dimensions"]["status"] = {
        **orders["dimensions"]["status"],
        "sql": "${TABLE}.status; DROP TABLE jaffle.orders",
    }
    explore["tables"]["orders"] = orders
    with pytest.raises(CompileError, match="must be one expression"):
        compile_on(duckdb_demo, explore, BASE)


# -- DuckDB reads no file, whatever the SQL ---------------------------------------------------


def test_duckdb_external_access_is_off_and_locked(
    duckdb_demo: DemoWarehouse, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    written = tmp_path / "out.csv"
    warehouse = duckdb_demo.open()
    try:
        # It could read the file if access were on: the file is real and readable.
        assert secret.read_text().startswith("password")
        for sql in [
            f"SELECT * FROM read_csv('{secret}')",
            f"SELECT * FROM '{secret}'",
            "SELECT * FROM read_text('/etc/passwd')",
            f"COPY (SELECT 1) TO '{written}'",
            f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
            "INSTALL httpfs",
            "LOAD httpfs",
            "SELECT * FROM read_csv('https://example.com/data.csv')",
            "SET enable_external_access = true",
            "RESET enable_external_access",
            "CREATE TABLE jaffle.stolen AS SELECT 1",
            "DROP TABLE jaffle.orders",
        ]:
            with pytest.raises(WarehouseQueryError):
                warehouse.run(sql).fetchall()
        assert not written.exists()
        assert not (tmp_path / "other.duckdb").exists()
        # Still usable, still read-only, still 99 orders.
        assert warehouse.run("SELECT COUNT(*) FROM jaffle.orders").fetchall() == [(99,)]
        assert warehouse.run(
            "SELECT value FROM duckdb_settings() WHERE name = 'enable_external_access'"
        ).fetchall() == [("false",)]
    finally:
        warehouse.close()


def test_a_file_function_in_a_custom_dimension_is_refused_before_the_warehouse(
    duckdb_demo: DemoWarehouse,
) -> None:
    custom = {
        "id": "f",
        "name": "F",
        "type": "sql",
        "table": "orders",
        "sql": "read_text('/etc/passwd')",
    }
    with pytest.raises(TableCalculationError, match=r"ReadText|read_text|not allowed"):
        compile_on(
            duckdb_demo,
            "orders",
            {"dimensions": ["f"], "metrics": [], "customDimensions": [custom]},
        )


def test_postgres_runs_one_statement_only(postgres_demo: DemoWarehouse) -> None:
    warehouse = postgres_demo.open()
    try:
        with pytest.raises(WarehouseQueryError):
            warehouse.run(f"SELECT 1; DROP TABLE {postgres_demo.schema}.orders").fetchall()
        assert warehouse.run(f"SELECT COUNT(*) FROM {postgres_demo.schema}.orders").fetchall() == [
            (99,)
        ]
    finally:
        warehouse.close()


def test_the_demo_file_opens_read_only(duckdb_demo: DemoWarehouse) -> None:
    connection = parse_connection({"type": "duckdb", "database": str(path_of(duckdb_demo))})
    warehouse = open_warehouse(connection, statement_timeout_s=10)
    try:
        with pytest.raises(WarehouseQueryError, match=r"read-only|read only"):
            warehouse.run("DELETE FROM jaffle.orders").fetchall()
    finally:
        warehouse.close()


def test_fields_restricted_by_user_attributes_are_refused(duckdb_demo: DemoWarehouse) -> None:
    explore = copy.deepcopy(duckdb_demo.explores["orders"])
    explore["tables"]["orders"]["dimensions"]["status"]["requiredAttributes"] = {"is_admin": "true"}
    with pytest.raises(ForbiddenError, match="restricted by user attributes"):
        compile_on(duckdb_demo, explore, BASE)
    # A table filtered by a user attribute is refused too, never run unfiltered.
    with pytest.raises(CompileError, match="user attribute"):
        compile_on(duckdb_demo, "users", {"dimensions": ["users_first_name"], "metrics": []})


def test_an_expression_nested_too_deeply_is_a_400(duckdb_demo: DemoWarehouse) -> None:
    deep = "(" * 3000 + "1" + ")" * 3000
    with pytest.raises(CompileError, match="nested too deeply"):
        compile_on(
            duckdb_demo, "orders", {**BASE, "tableCalculations": [{"name": "deep", "sql": deep}]}
        )


TOKENS = [
    "${orders.total_order_amount}",
    "${orders.status}",
    "${orders.amount}",
    "${x}",
    "${",
    "}",
    "(",
    ")",
    "'",
    '"',
    ";",
    "--",
    "/*",
    "*/",
    " ",
    "+",
    "*",
    "/",
    "1",
    "0.5",
    "SELECT",
    "FROM",
    "DROP",
    "TABLE",
    "read_csv",
    "pg_sleep",
    "CASE",
    "WHEN",
    "THEN",
    "END",
    "OVER",
    "SUM",
    ",",
    "NULL",
    "AND",
    "=",
    "||",
    "\\",
    "%",
    "CAST",
    "AS",
    "INTEGER",
    "jaffle.orders",
    "\x00",
    "é",
]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pieces=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12),
    values=st.lists(st.text(max_size=8), max_size=3),
)
def test_any_input_is_a_400_or_one_safe_statement(
    duckdb_demo: DemoWarehouse, pieces: list[str], values: list[str]
) -> None:
    text = "".join(pieces)
    query = {
        **BASE,
        "tableCalculations": [{"name": text[:40] or "t", "sql": text}],
        "filters": {
            "dimensions": {
                "and": [
                    {
                        "target": {"fieldId": "orders_status"},
                        "operator": "include",
                        "values": values,
                    }
                ]
            }
        },
    }
    for dialect in ("duckdb", "postgres"):
        demo = DemoWarehouse(dialect, duckdb_demo.connection, duckdb_demo.explores, "")
        try:
            compiled = compile_on(demo, "orders", query)
        except ParameterError as error:
            assert error.status_code == 400 and error.message
            continue
        statements = [s for s in sqlglot.parse(compiled.sql, read=dialect) if s is not None]
        assert len(statements) == 1
        assert not any(
            isinstance(n, sqlglot.exp.Anonymous | sqlglot.exp.ReadCSV) for n in statements[0].walk()
        )
