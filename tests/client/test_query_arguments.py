"""`lightkeeper query`'s arguments become Lightdash's MetricQuery; mistakes are usage errors.

Pure functions over the demo project's `orders` explore (the jaffle-shop manifest typed by
the demo warehouse, no server): what the command would send, and what it refuses before
sending anything.
"""

from __future__ import annotations

from typing import Any

import pytest

from lightkeeper.client.output import UsageError
from lightkeeper.client.queries import ExploreFields, cell, metric_query, parse_filter, parse_sort
from lightkeeper.project.demo import demo_explores


@pytest.fixture(scope="module")
def orders() -> ExploreFields:
    return ExploreFields.from_explore(next(e for e in demo_explores() if e["name"] == "orders"))


def query(orders: ExploreFields, **arguments: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "dimensions": [],
        "metrics": [],
        "filters": [],
        "sorts": [],
        "limit": 10,
    }
    return metric_query(orders, **(defaults | arguments))


def test_fields_by_id_or_by_their_name_on_the_base_table(orders: ExploreFields) -> None:
    body = query(
        orders,
        dimensions=["status", "orders_status", "customers_first_name"],
        metrics=["total_order_amount"],
    )
    assert body["exploreName"] == "orders"
    assert body["dimensions"] == ["orders_status", "customers_first_name"]  # duplicates once
    assert body["metrics"] == ["orders_total_order_amount"]
    assert body["filters"] == {"dimensions": {"and": []}}
    assert body["limit"] == 10


def test_a_typo_is_a_usage_error_with_suggestions(orders: ExploreFields) -> None:
    with pytest.raises(UsageError) as refused:
        query(orders, metrics=["orders_total_order_amout"])
    assert refused.value.exit_code == 2
    assert "is not a metric of explore 'orders'" in refused.value.message
    assert "orders_total_order_amount" in (refused.value.hint or "")
    with pytest.raises(UsageError, match="is not a dimension"):
        query(orders, dimensions=["orders_total_order_amount"])  # a metric is not a dimension
    with pytest.raises(UsageError, match="at least one --metric or --dimension"):
        query(orders)


@pytest.mark.parametrize(
    ("text", "operator", "values"),
    [
        ("orders_status=completed", "equals", ["completed"]),
        ("orders_status=completed,shipped", "equals", ["completed", "shipped"]),
        ("orders_status!=returned", "notEquals", ["returned"]),
        ("orders_amount>10", "greaterThan", [10]),
        ("orders_amount>=10.5", "greaterThanOrEqual", [10.5]),
        ("orders_amount<3", "lessThan", [3]),
        ("orders_amount<=3", "lessThanOrEqual", [3]),
        ("orders_status:isNull", "isNull", []),
        ("orders_status:notnull", "notNull", []),
        ("customers_first_name:startsWith:A", "startsWith", ["A"]),
        ("orders_is_completed=true", "equals", [True]),
        (
            "orders_order_date_day:inBetween:2018-01-01,2018-02-01",
            "inBetween",
            ["2018-01-01", "2018-02-01"],
        ),
    ],
)
def test_filters_on_dimensions(
    orders: ExploreFields, text: str, operator: str, values: list[Any]
) -> None:
    kind, rule = parse_filter(text, orders)
    assert kind == "dimension"
    wire = rule.to_wire()
    assert wire["operator"] == operator and wire["values"] == values
    assert "settings" not in wire


def test_relative_dates_carry_their_unit(orders: ExploreFields) -> None:
    _kind, rule = parse_filter("orders_order_date_day:inThePast:14 days", orders)
    assert rule.to_wire()["values"] == [14]
    assert rule.to_wire()["settings"] == {"unitOfTime": "days", "completed": False}
    _kind, rule = parse_filter("orders_order_date_day:inThePast:3 completed months", orders)
    assert rule.to_wire()["settings"] == {"unitOfTime": "months", "completed": True}
    _kind, rule = parse_filter("orders_order_date_day:inTheCurrent:year", orders)
    assert rule.to_wire()["values"] == [] and rule.to_wire()["settings"]["unitOfTime"] == "years"
    with pytest.raises(UsageError, match="needs a period"):
        parse_filter("orders_order_date_day:inThePast:fortnight", orders)


def test_a_metric_filter_applies_after_aggregation(orders: ExploreFields) -> None:
    body = query(
        orders,
        dimensions=["orders_status"],
        metrics=["orders_total_order_amount"],
        filters=["orders_total_order_amount>100", "orders_status!=returned"],
    )
    assert body["filters"]["metrics"]["and"][0]["target"] == {
        "fieldId": "orders_total_order_amount"
    }
    assert body["filters"]["dimensions"]["and"][0]["operator"] == "notEquals"


@pytest.mark.parametrize(
    "text",
    [
        "orders_status",  # no operator
        "orders_status:between:1",  # not an operator
        "orders_amount>ten",  # not a number
        "orders_status:isNull:x",  # takes no value
        "orders_order_date_day:inBetween:2018-01-01",  # two values
        "orders_is_completed=maybe",
        "nope=1",
    ],
)
def test_bad_filters_are_usage_errors(orders: ExploreFields, text: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse_filter(text, orders)
    assert refused.value.exit_code == 2


def test_sorts(orders: ExploreFields) -> None:
    assert parse_sort("orders_total_order_amount:desc", orders) == {
        "fieldId": "orders_total_order_amount",
        "descending": True,
    }
    assert parse_sort("-orders_status", orders)["descending"] is True
    assert parse_sort("status", orders) == {"fieldId": "orders_status", "descending": False}
    with pytest.raises(UsageError, match="asc or desc"):
        parse_sort("orders_status:down", orders)


def test_cells_wrapped_or_bare() -> None:
    assert cell({"value": {"raw": 1672, "formatted": "$1,672.00"}}) == (1672, "$1,672.00")
    assert cell({"value": {"raw": None}}) == (None, "∅")
    assert cell("completed") == ("completed", "completed")
    assert cell(True) == (True, "true")
