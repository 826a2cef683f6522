"""`formatted` values as Lightdash shows them, and the `fields` a compiled query describes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lightkeeper.compiler import format_value, result_row, rows_encoder
from tests.query_core.conftest import DemoWarehouse
from tests.query_core.oracle import compile_on, fetch


@pytest.mark.parametrize(
    ("field", "raw", "formatted"),
    [
        ({"type": "sum", "format": "usd", "round": 2}, 1672, "$1,672.00"),
        ({"type": "sum", "format": "usd"}, Decimal("-5.5"), "-$5.50"),
        ({"type": "average", "format": "percent", "round": 1}, 0.6767, "67.7%"),
        ({"type": "sum", "format": "eur", "compact": "thousands"}, 12345, "€12.35K"),
        ({"type": "sum", "format": "gbp", "round": 0}, 1234.5, "£1,235"),
        ({"type": "sum", "compact": "millions"}, 2500000, "2.5M"),
        ({"type": "sum", "format": "km"}, 12.25, "12.25 km"),
        ({"type": "sum", "format": "id"}, 1234567, "1234567"),
        ({"type": "sum"}, 1989.37, "1,989.37"),
        ({"type": "average"}, 2 / 3, "0.667"),
        ({"type": "sum", "round": 2}, 3, "3.00"),
        ({"type": "number", "format": "$#,##0.00"}, 1234.5, "$1,234.50"),
        ({"type": "average", "format": "#,##0.0%"}, 0.6767, "67.7%"),
        ({"type": "sum", "format": "[$£]#,##0.00"}, 1234.5, "£1,234.50"),
        ({"type": "sum", "formatOptions": {"type": "currency", "currency": "GBP"}}, 10, "£10.00"),
        (
            {
                "type": "sum",
                "formatOptions": {"type": "number", "separator": "periodComma", "round": 1},
            },
            1234.56,
            "1.234,6",
        ),
        (
            {"type": "sum", "formatOptions": {"type": "number", "prefix": "~", "suffix": " u"}},
            3,
            "~3 u",
        ),
        ({"name": "share", "sql": "x", "format": {"type": "percent", "round": 1}}, 0.1234, "12.3%"),
        ({"type": "date", "timeInterval": "MONTH"}, date(2018, 3, 5), "2018-03"),
        ({"type": "date", "timeInterval": "QUARTER"}, "2018-03-05", "2018-Q1"),
        ({"type": "date", "timeInterval": "YEAR"}, date(2018, 3, 5), "2018"),
        ({"type": "date", "timeInterval": "DAY"}, date(2018, 3, 5), "2018-03-05"),
        ({"type": "date"}, date(2018, 3, 5), "2018-03-05"),
        (
            {"type": "timestamp", "timeInterval": "HOUR"},
            datetime(2020, 7, 2, 9, 33),
            "2020-07-02, 09",
        ),
        (
            {"type": "timestamp"},
            datetime(2020, 7, 2, 9, 33, 1, 250000),
            "2020-07-02, 09:33:01:250 (+00:00)",
        ),
        ({"type": "boolean"}, True, "True"),
        ({"type": "string"}, "completed", "completed"),
        ({"type": "string"}, "12", "12"),
        ({"type": "sum"}, None, "∅"),
        ({"type": "sum", "round": 0}, 1e300, "1" + ",000" * 100),
        ({"type": "sum", "round": 2, "compact": "K"}, 123456, "123.46K"),
        ({"type": "sum", "round": 999}, 1.5, "1." + "5" + "0" * 19),
    ],
)
def test_format_value(field: dict[str, Any], raw: Any, formatted: str) -> None:
    assert format_value(field, raw) == formatted


def test_fields_describe_the_selected_fields_in_order(demo: DemoWarehouse) -> None:
    compiled = compile_on(
        demo,
        "orders",
        {
            "dimensions": ["orders_status", "orders_order_date_month", "orders_status"],
            "metrics": ["orders_total_order_amount", "orders_total_order_amount"],
            "tableCalculations": [
                {
                    "name": "double",
                    "displayName": "Double",
                    "sql": "${orders.total_order_amount} * 2",
                    "format": {"type": "percent"},
                }
            ],
            "metricOverrides": {
                "orders_total_order_amount": {
                    "formatOptions": {"type": "currency", "currency": "EUR"}
                }
            },
            "filters": {
                "dimensions": {
                    "and": [{"target": {"fieldId": "orders_status"}, "operator": "notNull"}]
                }
            },
        },
    )
    assert compiled.columns == [
        "orders_status",
        "orders_order_date_month",
        "orders_total_order_amount",
        "double",
    ]
    assert list(compiled.fields) == compiled.columns
    status = compiled.fields["orders_status"]
    assert (
        status["fieldType"] == "dimension"
        and status["label"] == "Status"
        and status["type"] == "string"
    )
    assert status["table"] == "orders" and status["tableLabel"] == "Orders"
    month = compiled.fields["orders_order_date_month"]
    assert (
        month["timeInterval"] == "MONTH" and month["timeIntervalBaseDimensionName"] == "order_date"
    )
    amount = compiled.fields["orders_total_order_amount"]
    assert amount["fieldType"] == "metric" and amount["label"] == "Total order amount"
    assert amount["formatOptions"] == {"type": "currency", "currency": "EUR"}
    assert "SUM(" in amount["compiledSql"]
    assert compiled.fields["double"] == {
        "name": "double",
        "displayName": "Double",
        "sql": "${orders.total_order_amount} * 2",
        "format": {"type": "percent"},
        "type": "number",
    }
    assert "label" not in compiled.fields["double"]
    # One statement, with the filter in a WHERE (what the SDK's compile test looks for).
    assert compiled.sql.lower().count("select") >= 1 and " where" in compiled.sql.lower().replace(
        "\n", " "
    )
    assert compiled.parameters == []
    rows = fetch(demo, compiled.sql)
    completed = next(r for r in rows if r[0] == "completed" and r[1] == date(2018, 1, 1))
    assert format_value(amount, completed[2]) == "€" + f"{completed[2]:,.2f}"


def test_rows_and_columns_in_lightdash_shape(demo: DemoWarehouse) -> None:
    compiled = compile_on(
        demo,
        "orders",
        {
            "dimensions": ["orders_order_date_month", "orders_is_completed"],
            "metrics": [
                "orders_total_order_amount",
                "orders_unique_order_count",
                "orders_date_of_first_order",
            ],
            "sorts": [{"fieldId": "orders_order_date_month"}, {"fieldId": "orders_is_completed"}],
            "limit": 1,
        },
    )
    warehouse = demo.open()
    try:
        (row,) = [compiled.row(values) for values in warehouse.run(compiled.sql)]
    finally:
        warehouse.close()
    assert list(row) == compiled.columns
    assert row["orders_order_date_month"] == {
        "value": {"raw": "2018-01-01", "formatted": "2018-01"}
    }
    assert row["orders_is_completed"] == {"value": {"raw": False, "formatted": "False"}}
    amount = row["orders_total_order_amount"]["value"]
    assert (
        isinstance(amount["raw"], int | float) and amount["formatted"] == f"${amount['raw']:,.2f}"
    )
    assert row["orders_date_of_first_order"] == {
        "value": {"raw": "2018-01-01", "formatted": "2018-01-01"}
    }
    assert compiled.result_columns() == {
        "orders_order_date_month": {"reference": "orders_order_date_month", "type": "date"},
        "orders_is_completed": {"reference": "orders_is_completed", "type": "boolean"},
        "orders_total_order_amount": {"reference": "orders_total_order_amount", "type": "number"},
        "orders_unique_order_count": {"reference": "orders_unique_order_count", "type": "number"},
        "orders_date_of_first_order": {"reference": "orders_date_of_first_order", "type": "date"},
    }


def test_raw_values_are_json() -> None:
    from lightkeeper.compiler import raw_value

    assert raw_value(datetime(2020, 7, 2, 9, 33)) == "2020-07-02T09:33:00.000Z"
    assert raw_value(Decimal("1103.00")) == 1103
    assert raw_value(Decimal("551.57")) == 551.57
    assert raw_value(float("nan")) is None
    assert raw_value(date(2018, 1, 1)) == "2018-01-01"


# Fields as results carry them: plain, formatted, rounded, compact, typed as text or dates.
ENCODED_FIELDS: dict[str, dict[str, Any]] = {
    "plain": {"fieldType": "dimension", "type": "number"},
    "metric": {"fieldType": "metric", "type": "sum"},
    "money": {"fieldType": "metric", "type": "sum", "format": "usd", "round": 2},
    "compact": {"type": "number", "compact": "thousands"},
    "text": {"type": "string"},
    "month": {"type": "date", "timeInterval": "MONTH"},
    "sql": {},  # a SQL runner column: no field at all
    'odd "name" {x}': {"type": "number"},
}
CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda f: round(f, 4)),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.text(max_size=8),
    st.dates(),
    st.datetimes(),
    # Equal values written differently: none may stand for another.
    st.sampled_from(
        [
            0.0,
            -0.0,
            Decimal("1.0"),
            Decimal("1.00"),
            datetime(2024, 1, 1, 12, tzinfo=UTC),
            datetime(2024, 1, 1, 13, tzinfo=timezone(timedelta(hours=1))),
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(*[CELLS] * len(ENCODED_FIELDS)), min_size=1, max_size=8))
def test_rows_are_written_as_the_json_of_their_wire_objects(rows: list[tuple[Any, ...]]) -> None:
    # Results are stored as each row's JSON text, made column by column: the same rows (read
    # as a client reads them: integers beyond 64 bits stay exact).
    columns = list(ENCODED_FIELDS)
    texts = rows_encoder(ENCODED_FIELDS, columns)(rows)
    assert [json.loads(text) for text in texts] == [
        result_row(ENCODED_FIELDS, columns, row) for row in rows
    ]


def test_a_column_of_integers_is_written_as_one_of_mixed_values() -> None:
    columns = ["plain", "money"]
    rows = [(i * 7919, i) for i in range(-50, 50)]
    encode = rows_encoder(ENCODED_FIELDS, columns)
    expected = [result_row(ENCODED_FIELDS, columns, row) for row in rows]
    assert [json.loads(text) for text in encode(rows)] == expected
    assert [json.loads(text) for text in encode([*rows, (None, 1.5)])][:-1] == expected
