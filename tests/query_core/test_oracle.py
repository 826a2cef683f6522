"""The oracle: compiled metric queries return what hand-written SQL returns, on DuckDB and PostgreSQL.

Every metric type, every filter operator (dimensions, metrics, table calculations, nested
groups, relative dates with a timezone), joins that would fan out, table calculations, time
intervals, sorts and limits, over the demo warehouse. `{s}` in the hand-written SQL is the
schema that holds the demo tables.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest
import sqlglot

from lightkeeper.compiler import compile_metric_query
from tests.query_core.conftest import DemoWarehouse
from tests.query_core.oracle import assert_same_rows, compile_on, fetch


class Case(NamedTuple):
    id: str
    explore: str
    query: dict[str, Any]
    sql: str | dict[str, str]
    ordered: bool = False


def rule(field: str, operator: str, *values: Any, **settings: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "target": {"fieldId": field},
        "operator": operator,
        "values": list(values),
    }
    if settings:
        found["settings"] = settings
    return found


def where(*rules: dict[str, Any], group: str = "and") -> dict[str, Any]:
    return {"dimensions": {group: list(rules)}}


ORDERS_BY_STATUS = "SELECT status, {agg} FROM {{s}}.orders GROUP BY 1"

METRIC_CASES = [
    Case(
        "sum-count_distinct-average",
        "orders",
        {
            "dimensions": ["orders_status"],
            "metrics": [
                "orders_total_order_amount",
                "orders_unique_order_count",
                "orders_average_order_size",
            ],
        },
        "SELECT status, SUM(amount), COUNT(DISTINCT order_id), AVG(amount) FROM {s}.orders GROUP BY 1",
    ),
    Case(
        "min-max-dates",
        "orders",
        {
            "dimensions": ["orders_status"],
            "metrics": ["orders_date_of_first_order", "orders_date_of_most_recent_order"],
        },
        "SELECT status, MIN(order_date), MAX(order_date) FROM {s}.orders GROUP BY 1",
    ),
    Case(
        "count",
        "events",
        {"dimensions": ["events_event"], "metrics": ["events_count"]},
        "SELECT event, COUNT(event) FROM {s}.events GROUP BY 1",
    ),
    Case(
        "median-percentile",
        "events",
        {
            "dimensions": ["events_event"],
            "metrics": ["events_median", "events_percentile_25", "events_percentile_75"],
        },
        {
            "duckdb": "SELECT event, quantile_cont(event_id, 0.5), quantile_cont(event_id, 0.25), "
            "quantile_cont(event_id, 0.75) FROM {s}.events GROUP BY 1",
            "postgres": "SELECT event, percentile_cont(0.5) WITHIN GROUP (ORDER BY event_id), "
            "percentile_cont(0.25) WITHIN GROUP (ORDER BY event_id), "
            "percentile_cont(0.75) WITHIN GROUP (ORDER BY event_id) FROM {s}.events GROUP BY 1",
        },
    ),
    Case(
        "metric-with-own-filters",
        "orders",
        {
            "dimensions": [],
            "metrics": [
                "orders_completed_order_count",
                "orders_completed_or_shipped_order_count",
                "orders_total_completed_order_amount",
            ],
        },
        "SELECT COUNT(DISTINCT CASE WHEN is_completed THEN order_id END), "
        "COUNT(DISTINCT CASE WHEN status IN ('completed', 'shipped') THEN order_id END), "
        "SUM(CASE WHEN is_completed THEN amount END) FROM {s}.orders",
    ),
    Case(
        "events-filters-shorthand",
        "events",
        {"dimensions": [], "metrics": ["events_with_filters"]},
        "SELECT SUM(event_id) FROM {s}.events WHERE event_id IS NOT NULL AND event_id > 5 "
        "AND event = 'song_played'",
    ),
    Case(
        "number-metrics-over-metrics",
        "orders",
        {
            "dimensions": ["orders_status"],
            "metrics": ["orders_total_non_completed_order_amount", "orders_completion_percentage"],
        },
        "SELECT status, SUM(amount) - SUM(CASE WHEN is_completed THEN amount END), "
        "SUM(CASE WHEN is_completed THEN amount END) / SUM(amount) FROM {s}.orders GROUP BY 1",
    ),
    Case(
        "additional-metrics",
        "orders",
        {
            "dimensions": ["orders_status"],
            "metrics": ["orders_max_amount", "orders_amount_sum_distinct"],
            "additionalMetrics": [
                {"name": "max_amount", "table": "orders", "type": "max", "sql": "${TABLE}.amount"},
                {
                    "name": "amount_sum_distinct",
                    "table": "orders",
                    "type": "count",
                    "sql": "${TABLE}.customer_id",
                },
            ],
        },
        "SELECT status, MAX(amount), COUNT(customer_id) FROM {s}.orders GROUP BY 1",
    ),
]

CUSTOM_CASES = [
    Case(
        "custom-sql-dimension",
        "orders",
        {
            "dimensions": ["size"],
            "metrics": ["orders_unique_order_count"],
            "customDimensions": [
                {
                    "id": "size",
                    "name": "Size",
                    "type": "sql",
                    "table": "orders",
                    "dimensionType": "string",
                    "sql": "CASE WHEN ${orders.amount} > 20 THEN 'big' ELSE 'small' END",
                }
            ],
            "filters": where(rule("size", "notEquals", "nothing")),
        },
        "SELECT CASE WHEN amount > 20 THEN 'big' ELSE 'small' END, COUNT(DISTINCT order_id) FROM {s}.orders GROUP BY 1",
    ),
]

CUSTOM_CASES += [
    Case(
        "bin-fixed-width",
        "orders",
        {
            "dimensions": ["amount_bin"],
            "metrics": ["orders_unique_order_count"],
            "customDimensions": [
                {
                    "id": "amount_bin",
                    "name": "Amount bin",
                    "type": "bin",
                    "table": "orders",
                    "dimensionId": "orders_amount",
                    "binType": "fixed_width",
                    "binWidth": 10,
                }
            ],
        },
        {
            "duckdb": "SELECT CAST(lo AS VARCHAR) || '-' || CAST(lo + 9 AS VARCHAR), COUNT(DISTINCT order_id) FROM "
            "(SELECT (CAST(FLOOR(amount) AS BIGINT) // 10) * 10 AS lo, order_id FROM {s}.orders) t GROUP BY 1",
            "postgres": "SELECT CAST(lo AS VARCHAR) || '-' || CAST(lo + 9 AS VARCHAR), COUNT(DISTINCT order_id) FROM "
            "(SELECT (CAST(FLOOR(amount) AS BIGINT) / 10) * 10 AS lo, order_id FROM {s}.orders) t GROUP BY 1",
        },
    ),
    Case(
        "bin-custom-range",
        "orders",
        {
            "dimensions": ["amount_range"],
            "metrics": ["orders_total_order_amount"],
            "customDimensions": [
                {
                    "id": "amount_range",
                    "name": "Amount range",
                    "type": "bin",
                    "table": "orders",
                    "dimensionId": "orders_amount",
                    "binType": "custom_range",
                    "customRange": [{"to": 10}, {"from": 10, "to": 25.5}, {"from": 25.5}],
                }
            ],
        },
        "SELECT CASE WHEN amount < 10 THEN '<10' WHEN amount < 25.5 THEN '10-25.5' ELSE '≥25.5' END, SUM(amount) "
        "FROM {s}.orders GROUP BY 1",
    ),
]

TIME_CASES = [
    Case(
        f"interval-{interval}",
        "orders",
        {"dimensions": [f"orders_order_date_{interval}"], "metrics": ["orders_unique_order_count"]},
        f"SELECT CAST(DATE_TRUNC('{interval}', order_date) AS DATE), COUNT(DISTINCT order_id) "
        "FROM {s}.orders GROUP BY 1",
    )
    for interval in ("day", "week", "month", "quarter", "year")
] + [
    Case(
        "interval-raw",
        "orders",
        {"dimensions": ["orders_order_date_raw"], "metrics": ["orders_unique_order_count"]},
        "SELECT order_date, COUNT(DISTINCT order_id) FROM {s}.orders GROUP BY 1",
    ),
    Case(
        "timestamp-day-in-a-timezone",
        "events",
        {
            "dimensions": ["events_timestamp_tz_day"],
            "metrics": ["events_count"],
            "timezone": "Asia/Tokyo",
        },
        # Tokyo is UTC+9 all year.
        "SELECT CAST(timestamp_tz + INTERVAL '9 hours' AS DATE), COUNT(event) FROM {s}.events GROUP BY 1",
    ),
    Case(
        "timestamp-and-its-filter-in-a-timezone",
        "events",
        {
            "dimensions": ["events_timestamp_tz"],
            "metrics": ["events_count"],
            "timezone": "Asia/Tokyo",
            # A time without an offset is in the query's timezone; one with an offset is exact.
            "filters": where(
                rule("events_timestamp_tz", "greaterThan", "2020-08-01 00:00:00"),
                rule("events_timestamp_tz", "lessThan", "2020-08-05T00:00:00+00:00"),
            ),
        },
        "SELECT timestamp_tz + INTERVAL '9 hours', COUNT(event) FROM {s}.events "
        "WHERE timestamp_tz + INTERVAL '9 hours' > TIMESTAMP '2020-08-01 00:00:00' "
        "AND timestamp_tz < TIMESTAMP '2020-08-05 00:00:00' GROUP BY 1",
    ),
    Case(
        "timestamp-hour-utc",
        "events",
        {"dimensions": ["events_timestamp_tz_hour"], "metrics": ["events_count"]},
        "SELECT DATE_TRUNC('hour', timestamp_tz), COUNT(event) FROM {s}.events GROUP BY 1",
    ),
]

# Dimension filters: every operator.
FILTER_CASES = [
    Case(
        f"filter-{name}",
        "orders",
        {
            "dimensions": ["orders_order_id"],
            "metrics": ["orders_total_order_amount"],
            "filters": where(*rules),
        },
        f"SELECT order_id, SUM(amount) FROM {{s}}.orders WHERE {condition} GROUP BY 1",
    )
    for name, rules, condition in [
        (
            "equals",
            [rule("orders_status", "equals", "completed", "shipped")],
            "status IN ('completed', 'shipped')",
        ),
        ("equals-nothing", [rule("orders_status", "equals")], "false"),
        ("notEquals", [rule("orders_status", "notEquals", "completed")], "status <> 'completed'"),
        ("include", [rule("orders_status", "include", "RETURN")], "status LIKE '%return%'"),
        (
            "doesNotInclude",
            [rule("orders_status", "doesNotInclude", "ed")],
            "status NOT LIKE '%ed%'",
        ),
        ("startsWith", [rule("orders_status", "startsWith", "ret")], "status LIKE 'ret%'"),
        ("endsWith", [rule("orders_status", "endsWith", "ed")], "status LIKE '%ed'"),
        ("isNull", [rule("orders_amount", "isNull")], "amount IS NULL"),
        ("notNull", [rule("orders_amount", "notNull")], "amount IS NOT NULL"),
        ("lessThan", [rule("orders_amount", "lessThan", 10)], "amount < 10"),
        ("lessThanOrEqual", [rule("orders_amount", "lessThanOrEqual", "10")], "amount <= 10"),
        ("greaterThan", [rule("orders_amount", "greaterThan", 25.5)], "amount > 25.5"),
        ("greaterThanOrEqual", [rule("orders_amount", "greaterThanOrEqual", 30)], "amount >= 30"),
        ("number-equals", [rule("orders_customer_id", "equals", 1, 3)], "customer_id IN (1, 3)"),
        (
            "inBetween-numbers",
            [rule("orders_amount", "inBetween", 10, 20)],
            "amount BETWEEN 10 AND 20",
        ),
        (
            "notInBetween-numbers",
            [rule("orders_amount", "notInBetween", 10, 20)],
            "(amount < 10 OR amount > 20)",
        ),
        ("boolean-equals", [rule("orders_is_completed", "equals", True)], "is_completed"),
        (
            "date-equals",
            [rule("orders_order_date", "equals", "2018-01-02")],
            "order_date = DATE '2018-01-02'",
        ),
        (
            "date-greaterThan",
            [rule("orders_order_date_day", "greaterThan", "2018-04-01")],
            "order_date > DATE '2018-04-01'",
        ),
        (
            "date-inBetween",
            [rule("orders_order_date", "inBetween", "2018-02-01", "2018-02-28")],
            "order_date BETWEEN DATE '2018-02-01' AND DATE '2018-02-28'",
        ),
        (
            "date-notInBetween",
            [rule("orders_order_date", "notInBetween", "2018-02-01", "2018-02-28")],
            "(order_date < DATE '2018-02-01' OR order_date > DATE '2018-02-28')",
        ),
        # NOW is 2018-04-15 10:30 UTC, a Sunday.
        (
            "inThePast-days",
            [rule("orders_order_date", "inThePast", 14, unitOfTime="days")],
            "order_date BETWEEN DATE '2018-04-01' AND DATE '2018-04-15'",
        ),
        (
            "inThePast-completed-weeks",
            [rule("orders_order_date", "inThePast", 2, unitOfTime="weeks", completed=True)],
            "order_date >= DATE '2018-03-26' AND order_date < DATE '2018-04-09'",
        ),
        (
            "inThePast-completed-months",
            [rule("orders_order_date", "inThePast", 1, unitOfTime="months", completed=True)],
            "order_date >= DATE '2018-03-01' AND order_date < DATE '2018-04-01'",
        ),
        (
            "notInThePast-months",
            [rule("orders_order_date", "notInThePast", 1, unitOfTime="months")],
            "NOT (order_date BETWEEN DATE '2018-03-15' AND DATE '2018-04-15')",
        ),
        (
            "inTheNext-days",
            [rule("orders_order_date", "inTheNext", 30, unitOfTime="days")],
            "false",
        ),
        (
            "inTheCurrent-month",
            [rule("orders_order_date", "inTheCurrent", unitOfTime="months")],
            "order_date >= DATE '2018-04-01' AND order_date < DATE '2018-05-01'",
        ),
        (
            "notInTheCurrent-quarter",
            [rule("orders_order_date", "notInTheCurrent", unitOfTime="quarters")],
            "order_date < DATE '2018-04-01'",
        ),
        (
            "inPeriodToDate-year",
            [rule("orders_order_date", "inPeriodToDate", unitOfTime="years")],
            "order_date BETWEEN DATE '2018-01-01' AND DATE '2018-04-15'",
        ),
        (
            "nested-groups",
            [
                {
                    "or": [
                        rule("orders_status", "equals", "placed"),
                        {
                            "and": [
                                rule("orders_status", "equals", "completed"),
                                rule("orders_amount", "greaterThan", 25),
                            ]
                        },
                    ]
                }
            ],
            "(status = 'placed' OR (status = 'completed' AND amount > 25))",
        ),
        (
            "disabled-rule-ignored",
            [
                {**rule("orders_status", "equals", "placed"), "disabled": True},
                rule("orders_amount", "lessThan", 5),
            ],
            "amount < 5",
        ),
    ]
] + [
    Case(
        "or-group",
        "orders",
        {
            "dimensions": ["orders_status"],
            "metrics": ["orders_unique_order_count"],
            "filters": where(
                rule("orders_status", "equals", "placed"),
                rule("orders_amount", "greaterThan", 30),
                group="or",
            ),
        },
        "SELECT status, COUNT(DISTINCT order_id) FROM {s}.orders WHERE status = 'placed' OR amount > 30 GROUP BY 1",
    ),
    Case(
        "timestamp-inThePast-hours-in-a-timezone",
        "customers",
        {
            "dimensions": ["customers_customer_id"],
            "metrics": ["customers_unique_customer_count"],
            # In Tokyo, created (UTC) + 9 hours; NOW there is 2018-04-15 19:30.
            "timezone": "Asia/Tokyo",
            "filters": where(rule("customers_created_raw", "inThePast", 500, unitOfTime="days")),
        },
        "SELECT customer_id, COUNT(DISTINCT customer_id) FROM {s}.customers "
        "WHERE created + INTERVAL '9 hours' BETWEEN TIMESTAMP '2016-12-02 19:30:00' AND TIMESTAMP '2018-04-15 19:30:00' GROUP BY 1",
    ),
]

METRIC_FILTER_CASES = [
    Case(
        "metric-filter",
        "orders",
        {
            "dimensions": ["orders_customer_id"],
            "metrics": ["orders_total_order_amount"],
            "filters": {"metrics": {"and": [rule("orders_total_order_amount", "greaterThan", 50)]}},
        },
        "SELECT customer_id, SUM(amount) FROM {s}.orders GROUP BY 1 HAVING SUM(amount) > 50",
    ),
    Case(
        "metric-filter-on-unselected-metric",
        "orders",
        {
            "dimensions": ["orders_customer_id"],
            "metrics": ["orders_unique_order_count"],
            "filters": {
                "metrics": {
                    "or": [
                        rule("orders_total_order_amount", "lessThan", 5),
                        rule("orders_total_order_amount", "isNull"),
                    ]
                }
            },
        },
        "SELECT customer_id, COUNT(DISTINCT order_id) FROM {s}.orders GROUP BY 1 "
        "HAVING SUM(amount) < 5 OR SUM(amount) IS NULL",
    ),
    Case(
        "metric-and-dimension-filters",
        "orders",
        {
            "dimensions": ["orders_status"],
            "metrics": ["orders_unique_order_count"],
            "filters": {
                "dimensions": {"and": [rule("orders_amount", "greaterThan", 0)]},
                "metrics": {"and": [rule("orders_unique_order_count", "inBetween", 5, 20)]},
            },
        },
        "SELECT status, COUNT(DISTINCT order_id) FROM {s}.orders WHERE amount > 0 GROUP BY 1 "
        "HAVING COUNT(DISTINCT order_id) BETWEEN 5 AND 20",
    ),
]

CALC_CASES = [
    Case(
        "table-calculation",
        "orders",
        {
            "dimensions": ["orders_status"],
            "metrics": ["orders_total_order_amount", "orders_unique_order_count"],
            "tableCalculations": [
                {
                    "name": "per_order",
                    "displayName": "Per order",
                    "sql": "${orders.total_order_amount} / ${orders.unique_order_count}",
                }
            ],
        },
        "SELECT status, SUM(amount), COUNT(DISTINCT order_id), SUM(amount) / COUNT(DISTINCT order_id) FROM {s}.orders GROUP BY 1",
    ),
    Case(
        "table-calculation-window-and-filter",
        "orders",
        {
            "dimensions": ["orders_status"],
            "metrics": ["orders_total_order_amount"],
            "tableCalculations": [
                {
                    "name": "share",
                    "sql": "${orders.total_order_amount} / SUM(${orders.total_order_amount}) OVER ()",
                }
            ],
            "filters": {"tableCalculations": {"and": [rule("share", "greaterThan", 0.2)]}},
        },
        "SELECT * FROM (SELECT status, SUM(amount) AS a, SUM(amount) / SUM(SUM(amount)) OVER () AS share "
        "FROM {s}.orders GROUP BY 1) t WHERE share > 0.2",
    ),
    Case(
        "table-calculation-string-case",
        "orders",
        {
            "dimensions": ["orders_status"],
            "metrics": ["orders_unique_order_count"],
            "tableCalculations": [
                {
                    "name": "size",
                    "type": "string",
                    "sql": "CASE WHEN ${orders.unique_order_count} > 10 THEN 'big' ELSE 'small' END",
                }
            ],
            "filters": {"tableCalculations": {"and": [rule("size", "equals", "big")]}},
        },
        "SELECT status, COUNT(DISTINCT order_id), 'big' FROM {s}.orders GROUP BY 1 HAVING COUNT(DISTINCT order_id) > 10",
    ),
]

CALC_CASES.append(
    Case(
        "table-calculation-over-an-earlier-one",
        "orders",
        {
            "dimensions": ["orders_status"],
            "metrics": ["orders_total_order_amount"],
            "tableCalculations": [
                {"name": "half", "sql": "${orders.total_order_amount} / 2"},
                {"name": "quarter", "sql": "${half} / 2"},
            ],
            "sorts": [{"fieldId": "quarter", "descending": True}],
            "limit": 2,
        },
        "SELECT status, SUM(amount), SUM(amount) / 2, SUM(amount) / 4 FROM {s}.orders GROUP BY 1 ORDER BY 4 DESC LIMIT 2",
        True,
    )
)

SORT_CASES = [
    Case(
        "sort-desc-limit",
        "orders",
        {
            "dimensions": ["orders_status"],
            "metrics": ["orders_total_order_amount"],
            "sorts": [{"fieldId": "orders_total_order_amount", "descending": True}],
            "limit": 3,
        },
        "SELECT status, SUM(amount) FROM {s}.orders GROUP BY 1 ORDER BY 2 DESC LIMIT 3",
        True,
    ),
    Case(
        "sort-two-fields",
        "orders",
        {
            "dimensions": ["orders_customer_id", "orders_status"],
            "metrics": ["orders_unique_order_count"],
            "sorts": [
                {"fieldId": "orders_unique_order_count", "descending": True},
                {"fieldId": "orders_customer_id"},
                {"fieldId": "orders_status"},
            ],
            "limit": 10,
        },
        "SELECT customer_id, status, COUNT(DISTINCT order_id) FROM {s}.orders GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 10",
        True,
    ),
    Case(
        "sort-nulls-first",
        "customers",
        {
            "dimensions": ["customers_customer_id", "customers_first_order"],
            "metrics": [],
            "sorts": [
                {"fieldId": "customers_first_order", "nullsFirst": True},
                {"fieldId": "customers_customer_id"},
            ],
            "limit": 45,
        },
        "SELECT customer_id, first_order FROM {s}.customers GROUP BY 1, 2 ORDER BY 2 NULLS FIRST, 1 LIMIT 45",
        True,
    ),
    Case(
        "sort-nulls-last-by-default",
        "customers",
        {
            "dimensions": ["customers_customer_id", "customers_first_order"],
            "metrics": [],
            "sorts": [
                {"fieldId": "customers_first_order", "descending": True},
                {"fieldId": "customers_customer_id"},
            ],
            "limit": 70,
        },
        "SELECT customer_id, first_order FROM {s}.customers GROUP BY 1, 2 ORDER BY 2 DESC NULLS LAST, 1 LIMIT 70",
        True,
    ),
    Case(
        "duplicated-ids",
        "orders",
        {
            "dimensions": ["orders_status", "orders_status"],
            "metrics": ["orders_unique_order_count", "orders_unique_order_count"],
        },
        "SELECT status, COUNT(DISTINCT order_id) FROM {s}.orders GROUP BY 1",
    ),
]

# Joins. `payments` joins orders (many payments per order) and customers: orders' and
# customers' metrics must count each of their rows once however many payments it has.
FANOUT_CASES = [
    Case(
        "fanout-one-side-metric-by-many-side-dimension",
        "payments",
        {
            "dimensions": ["payments_payment_method"],
            "metrics": ["orders_total_order_amount", "payments_total_revenue"],
        },
        "SELECT k.payment_method, SUM(o.amount), MAX(r.revenue) FROM "
        "(SELECT DISTINCT payment_method, order_id FROM {s}.payments) k "
        "LEFT JOIN {s}.orders o ON o.order_id = k.order_id "
        "JOIN (SELECT payment_method, SUM(amount) AS revenue FROM {s}.payments GROUP BY 1) r ON r.payment_method = k.payment_method "
        "GROUP BY 1",
    ),
    Case(
        "fanout-no-dimensions",
        "payments",
        {
            "dimensions": [],
            "metrics": [
                "orders_total_order_amount",
                "customers_average_age",
                "payments_unique_payment_count",
            ],
        },
        "SELECT (SELECT SUM(amount) FROM {s}.orders WHERE order_id IN (SELECT order_id FROM {s}.payments)), "
        "(SELECT AVG(age) FROM {s}.customers WHERE customer_id IN (SELECT o.customer_id FROM {s}.orders o JOIN {s}.payments p ON p.order_id = o.order_id)), "
        "(SELECT COUNT(DISTINCT payment_id) FROM {s}.payments)",
    ),
    Case(
        "fanout-with-filter-on-the-many-side",
        "payments",
        {
            "dimensions": ["orders_status"],
            "metrics": ["orders_total_order_amount"],
            "filters": where(rule("payments_payment_method", "equals", "credit_card", "coupon")),
        },
        "SELECT status, SUM(amount) FROM {s}.orders WHERE order_id IN "
        "(SELECT order_id FROM {s}.payments WHERE payment_method IN ('credit_card', 'coupon')) GROUP BY 1",
    ),
    Case(
        "sum_distinct-and-average_distinct-over-a-join",
        "payments",
        {
            "dimensions": ["payments_payment_method"],
            "metrics": ["orders_amount_once", "orders_average_once"],
            "additionalMetrics": [
                {
                    "name": "amount_once",
                    "table": "orders",
                    "type": "sum_distinct",
                    "sql": "${TABLE}.amount",
                    "distinctKeys": ["order_id"],
                },
                {
                    "name": "average_once",
                    "table": "orders",
                    "type": "average_distinct",
                    "sql": "${TABLE}.amount",
                    "distinctKeys": ["order_id"],
                },
            ],
        },
        "SELECT k.payment_method, SUM(o.amount), AVG(o.amount) FROM "
        "(SELECT DISTINCT payment_method, order_id FROM {s}.payments) k "
        "JOIN {s}.orders o ON o.order_id = k.order_id GROUP BY 1",
    ),
    Case(
        "join-only-dimensions",
        "payments",
        {
            "dimensions": ["customers_first_name"],
            "metrics": ["payments_total_revenue"],
            "sorts": [
                {"fieldId": "payments_total_revenue", "descending": True},
                {"fieldId": "customers_first_name"},
            ],
            "limit": 5,
        },
        "SELECT c.first_name, SUM(p.amount) FROM {s}.payments p LEFT JOIN {s}.orders o ON o.order_id = p.order_id "
        "LEFT JOIN {s}.customers c ON c.customer_id = o.customer_id GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
        True,
    ),
]

ALL_CASES = (
    METRIC_CASES
    + CUSTOM_CASES
    + TIME_CASES
    + FILTER_CASES
    + METRIC_FILTER_CASES
    + CALC_CASES
    + SORT_CASES
    + FANOUT_CASES
)


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_compiled_rows_equal_hand_written_sql(demo: DemoWarehouse, case: Case) -> None:
    assert_same_rows(demo, case.explore, case.query, case.sql, ordered=case.ordered)


def orders_with_payments(demo: DemoWarehouse) -> dict[str, Any]:
    """An explore from the one side: orders, joined one-to-many to its payments."""
    explore = copy.deepcopy(demo.explores["orders"])
    explore["tables"]["payments"] = copy.deepcopy(demo.explores["payments"]["tables"]["payments"])
    explore["joinedTables"] = [
        {
            "table": "payments",
            "sqlOn": "${orders.order_id} = ${payments.order_id}",
            "relationship": "one-to-many",
        }
    ]
    return explore


@pytest.mark.parametrize(
    "metric",
    ["orders_total_order_amount", "orders_unique_order_count", "orders_average_order_size"],
)
def test_a_one_to_many_join_does_not_inflate_metrics(demo: DemoWarehouse, metric: str) -> None:
    explore = orders_with_payments(demo)
    alone = fetch(
        demo, compile_on(demo, explore, {"dimensions": ["orders_status"], "metrics": [metric]}).sql
    )
    # A payments filter that every order with a payment passes brings the join in.
    joined = compile_on(
        demo,
        explore,
        {
            "dimensions": ["orders_status"],
            "metrics": [metric, "payments_total_revenue"],
            "filters": where(rule("payments_payment_method", "notNull")),
        },
    )
    with_join = {row[0]: row[1] for row in fetch(demo, joined.sql)}
    orders_with_a_payment = fetch(
        demo,
        f"SELECT status, SUM(amount), COUNT(DISTINCT order_id), AVG(amount) FROM {demo.schema}.orders "
        f"WHERE order_id IN (SELECT order_id FROM {demo.schema}.payments) GROUP BY 1",
    )
    column = {
        "orders_total_order_amount": 1,
        "orders_unique_order_count": 2,
        "orders_average_order_size": 3,
    }[metric]
    assert with_join == {row[0]: row[column] for row in orders_with_a_payment}
    # Every order has a payment in the demo, so the join changes no number at all.
    assert with_join == dict(alone)


def test_a_one_to_many_join_by_its_dimension(demo: DemoWarehouse) -> None:
    assert_same_rows(
        demo,
        orders_with_payments(demo),
        {
            "dimensions": ["payments_payment_method"],
            "metrics": [
                "orders_total_order_amount",
                "orders_unique_order_count",
                "payments_total_revenue",
            ],
        },
        "SELECT k.payment_method, SUM(o.amount), COUNT(DISTINCT o.order_id), MAX(r.revenue) FROM "
        "(SELECT DISTINCT payment_method, order_id FROM {s}.payments) k "
        "JOIN {s}.orders o ON o.order_id = k.order_id "
        "JOIN (SELECT payment_method, SUM(amount) AS revenue FROM {s}.payments GROUP BY 1) r ON r.payment_method = k.payment_method "
        "GROUP BY 1",
    )


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_every_compiled_query_is_one_statement(duckdb_demo: DemoWarehouse, case: Case) -> None:
    for dialect in ("duckdb", "postgres"):
        compiled = compile_on(
            DemoWarehouse(dialect, duckdb_demo.connection, duckdb_demo.explores, ""),
            case.explore,
            case.query,
        )
        statements = [s for s in sqlglot.parse(compiled.sql, read=dialect) if s is not None]
        assert len(statements) == 1 and isinstance(statements[0], sqlglot.exp.Query)


def test_part_and_name_intervals(demo: DemoWarehouse) -> None:
    explore = copy.deepcopy(demo.explores["orders"])
    dimensions = explore["tables"]["orders"]["dimensions"]
    for interval in (
        "DAY_OF_WEEK_NAME",
        "MONTH_NAME",
        "QUARTER_NAME",
        "MONTH_NUM",
        "DAY_OF_WEEK_INDEX",
        "YEAR_NUM",
    ):
        name = f"order_date_{interval.lower()}"
        dimensions[name] = {
            "name": name,
            "label": name,
            "type": "string",
            "sql": "${TABLE}.order_date",
            "table": "orders",
            "timeInterval": interval,
            "timeIntervalBaseDimensionName": "order_date",
            "hidden": False,
        }
    ids = [
        f"orders_order_date_{i}"
        for i in (
            "day_of_week_name",
            "month_name",
            "quarter_name",
            "month_num",
            "day_of_week_index",
            "year_num",
        )
    ]
    assert_same_rows(
        demo,
        explore,
        {"dimensions": ids, "metrics": ["orders_unique_order_count"]},
        {
            "duckdb": "SELECT dayname(order_date), monthname(order_date), 'Q' || quarter(order_date), month(order_date), "
            "dayofweek(order_date), year(order_date), COUNT(DISTINCT order_id) FROM {s}.orders GROUP BY 1, 2, 3, 4, 5, 6",
            "postgres": "SELECT TRIM(TO_CHAR(order_date, 'Day')), TRIM(TO_CHAR(order_date, 'Month')), 'Q' || EXTRACT(QUARTER FROM order_date), "
            "EXTRACT(MONTH FROM order_date), EXTRACT(DOW FROM order_date), EXTRACT(YEAR FROM order_date), COUNT(DISTINCT order_id) "
            "FROM {s}.orders GROUP BY 1, 2, 3, 4, 5, 6",
        },
    )


def test_in_the_next_from_an_earlier_now(demo: DemoWarehouse) -> None:
    # "Now" 2018-02-15 09:00 in Tokyo (UTC+9): next whole month is March; next 10 days from today.
    now = datetime(2018, 2, 15, 0, 0, tzinfo=UTC)
    explore = demo.explores["orders"]
    before = copy.deepcopy(explore)
    for settings, condition in [
        (
            {"unitOfTime": "months", "completed": True},
            "order_date >= DATE '2018-03-01' AND order_date < DATE '2018-04-01'",
        ),
        ({"unitOfTime": "days"}, "order_date BETWEEN DATE '2018-02-15' AND DATE '2018-02-25'"),
        (
            {"unitOfTime": "weeks", "completed": True},
            "order_date >= DATE '2018-02-19' AND order_date < DATE '2018-03-05'",
        ),
    ]:
        n = (
            1
            if settings["unitOfTime"] == "months"
            else (10 if settings["unitOfTime"] == "days" else 2)
        )
        query = {
            "exploreName": "orders",
            "dimensions": ["orders_order_id"],
            "metrics": [],
            "timezone": "Asia/Tokyo",
            "limit": 500,
            "filters": {
                "dimensions": {
                    "and": [
                        {
                            "target": {"fieldId": "orders_order_date"},
                            "operator": "inTheNext",
                            "values": [n],
                            "settings": settings,
                        }
                    ]
                }
            },
        }
        compiled = compile_metric_query(
            explore, query, dialect=demo.dialect, max_limit=500, now=now
        )  # type: ignore[arg-type]
        expected = fetch(demo, f"SELECT order_id FROM {demo.schema}.orders WHERE {condition}")
        assert sorted(fetch(demo, compiled.sql)) == sorted(expected) != []
    # Compiling reads the explore, never changes it.
    assert explore == before


def test_a_table_without_primary_key_says_its_metrics_may_be_inflated(demo: DemoWarehouse) -> None:
    explore = orders_with_payments(demo)
    del explore["tables"]["orders"]["primaryKey"]
    compiled = compile_on(
        demo,
        explore,
        {"dimensions": ["payments_payment_method"], "metrics": ["orders_total_order_amount"]},
    )
    assert compiled.warnings == [
        {
            "message": "Metric `orders_total_order_amount` may be inflated by a join: its table "
            "`orders` has no primary key",
            "fields": ["orders_total_order_amount"],
            "tables": ["orders"],
        }
    ]
