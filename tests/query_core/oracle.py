"""Running a compiled metric query and a hand-written one on the same warehouse, and comparing."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from lightkeeper.compiler import CompiledQuery, compile_metric_query
from tests.query_core.conftest import DemoWarehouse

# "Now" for relative-date filters: a week after the last demo order.
NOW = datetime(2018, 4, 15, 10, 30, tzinfo=UTC)
MAX_LIMIT = 5000


def normalize(value: Any) -> Any:
    """Values both warehouses agree on: numbers as floats to 6 places, datetimes/dates as is."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal | float | int):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        return round(number, 6) + 0.0
    if isinstance(value, datetime | date | str):
        return value
    return str(value)


def fetch(demo: DemoWarehouse, sql: str) -> list[tuple[Any, ...]]:
    warehouse = demo.open()
    try:
        return [tuple(normalize(v) for v in row) for row in warehouse.run(sql)]
    finally:
        warehouse.close()


def compile_on(
    demo: DemoWarehouse, explore: str | dict[str, Any], query: dict[str, Any]
) -> CompiledQuery:
    body = demo.explores[explore] if isinstance(explore, str) else explore
    return compile_metric_query(
        body,
        {"exploreName": body["name"], "limit": MAX_LIMIT, **query},
        dialect=demo.dialect,  # type: ignore[arg-type]
        max_limit=MAX_LIMIT,
        now=NOW,
    )


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, str(type(v)), str(v)) for v in row)


def assert_same_rows(
    demo: DemoWarehouse,
    explore: str | dict[str, Any],
    query: dict[str, Any],
    expected_sql: str | dict[str, str],
    *,
    ordered: bool = False,
) -> list[tuple[Any, ...]]:
    """The compiled query's rows equal the hand-written SQL's (as lists when ``ordered``)."""
    compiled = compile_on(demo, explore, query)
    text = expected_sql if isinstance(expected_sql, str) else expected_sql[demo.dialect]
    actual = fetch(demo, compiled.sql)
    expected = fetch(demo, text.format(s=demo.schema))
    if not ordered:
        actual, expected = sorted(actual, key=_key), sorted(expected, key=_key)
    assert actual == expected, f"\ncompiled:\n{compiled.sql}\nexpected:\n{text}"
    return actual
