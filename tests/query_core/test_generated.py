"""The oracle, generated: random metric queries over the orders explore (dimensions, metrics,
dimension and metric filters in and/or groups, sorts, limits) against SQL written from a table
of hand-written pieces, on DuckDB and PostgreSQL."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.query_core.conftest import DemoWarehouse
from tests.query_core.oracle import assert_same_rows

DIMENSIONS = {
    "orders_status": "status",
    "orders_customer_id": "customer_id",
    "orders_is_completed": "is_completed",
    "orders_order_date_month": "CAST(DATE_TRUNC('month', order_date) AS DATE)",
    "orders_order_date_week": "CAST(DATE_TRUNC('week', order_date) AS DATE)",
    "orders_order_date_year": "CAST(DATE_TRUNC('year', order_date) AS DATE)",
}
METRICS = {
    "orders_total_order_amount": "SUM(amount)",
    "orders_unique_order_count": "COUNT(DISTINCT order_id)",
    "orders_average_order_size": "AVG(amount)",
    "orders_date_of_first_order": "MIN(order_date)",
    "orders_date_of_most_recent_order": "MAX(order_date)",
    "orders_total_completed_order_amount": "SUM(CASE WHEN is_completed THEN amount END)",
    "orders_completed_order_count": "COUNT(DISTINCT CASE WHEN is_completed THEN order_id END)",
    "orders_total_non_completed_order_amount": "(SUM(amount) - SUM(CASE WHEN is_completed THEN amount END))",
}
STATUSES = ["completed", "placed", "shipped", "returned", "return_pending", "missing"]


def rule(field: str, operator: str, values: list[Any]) -> dict[str, Any]:
    return {"target": {"fieldId": field}, "operator": operator, "values": values}


def sql_list(values: list[Any]) -> str:
    return ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)


@st.composite
def dimension_rules(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    kind = draw(st.sampled_from(["status", "amount", "date", "customer"]))
    if kind == "status":
        values = draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3, unique=True))
        if draw(st.booleans()):
            return rule("orders_status", "equals", values), f"status IN ({sql_list(values)})"
        return rule("orders_status", "notEquals", values), f"status NOT IN ({sql_list(values)})"
    if kind == "amount":
        n = draw(st.integers(0, 40))
        operator, sign = draw(
            st.sampled_from(
                [
                    ("greaterThan", ">"),
                    ("lessThan", "<"),
                    ("greaterThanOrEqual", ">="),
                    ("lessThanOrEqual", "<="),
                ]
            )
        )
        return rule("orders_amount", operator, [n]), f"amount {sign} {n}"
    if kind == "date":
        day = draw(st.integers(1, 28))
        month = draw(st.integers(1, 4))
        start = f"2018-{month:02d}-{day:02d}"
        return rule(
            "orders_order_date", "inBetween", [start, "2018-04-09"]
        ), f"order_date BETWEEN DATE '{start}' AND DATE '2018-04-09'"
    n = draw(st.integers(1, 100))
    return rule("orders_customer_id", "lessThan", [n]), f"customer_id < {n}"


@st.composite
def metric_queries(draw: st.DrawFn) -> tuple[dict[str, Any], str, bool]:
    dims = draw(st.lists(st.sampled_from(sorted(DIMENSIONS)), max_size=2, unique=True))
    metrics = draw(st.lists(st.sampled_from(sorted(METRICS)), min_size=1, max_size=3, unique=True))
    rules = draw(st.lists(dimension_rules(), max_size=3))
    group = draw(st.sampled_from(["and", "or"]))
    query: dict[str, Any] = {"dimensions": dims, "metrics": metrics, "filters": {}}
    sql = "SELECT " + ", ".join([DIMENSIONS[d] for d in dims] + [METRICS[m] for m in metrics])
    sql += " FROM {s}.orders"
    if rules:
        query["filters"]["dimensions"] = {group: [r for r, _ in rules]}
        sql += " WHERE " + f" {group.upper()} ".join(f"({c})" for _, c in rules)
    if dims:
        sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(dims)))
    if draw(st.booleans()):
        n = draw(st.integers(0, 600))
        query["filters"]["metrics"] = {
            "and": [rule("orders_total_order_amount", "greaterThan", [n])]
        }
        sql += f" HAVING SUM(amount) > {n}"
    ordered = bool(dims) and draw(st.booleans())
    if ordered:
        columns = dims + metrics
        first = draw(st.sampled_from(columns))
        descending = draw(st.booleans())
        sorts = [{"fieldId": first, "descending": descending}] + [
            {"fieldId": d} for d in dims if d != first
        ]
        query["sorts"] = sorts
        limit = draw(st.integers(1, 30))
        query["limit"] = limit
        order = [
            f"{columns.index(s['fieldId']) + 1}{' DESC' if s.get('descending') else ''} NULLS LAST"
            for s in sorts
        ]
        sql += " ORDER BY " + ", ".join(order) + f" LIMIT {limit}"
    return query, sql, ordered


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=metric_queries())
def test_generated_queries_match_hand_written_sql(
    demo: DemoWarehouse, case: tuple[dict[str, Any], str, bool]
) -> None:
    query, sql, ordered = case
    assert_same_rows(demo, "orders", query, sql, ordered=ordered)


# -- joins: the payments explore (payments -> orders -> customers, many-to-one) ---------------
# Written differently from the compiler: each metric is a correlated subquery per group, over
# the rows of its own table that the group's joined rows reach, so a row counts once by
# construction.

JOINED = "{s}.payments p LEFT JOIN {s}.orders o ON o.order_id = p.order_id LEFT JOIN {s}.customers c ON c.customer_id = o.customer_id"
JOIN_DIMENSIONS = {
    "payments_payment_method": "p.payment_method",
    "orders_status": "o.status",
    "orders_order_date_month": "CAST(DATE_TRUNC('month', o.order_date) AS DATE)",
    "customers_first_name": "c.first_name",
}
JOIN_METRICS = {
    "payments_total_revenue": "(SELECT SUM(p.amount) FROM {joined} WHERE {match})",
    "payments_unique_payment_count": "(SELECT COUNT(DISTINCT p.payment_id) FROM {joined} WHERE {match})",
    "orders_total_order_amount": "(SELECT SUM(x.amount) FROM {{s}}.orders x WHERE x.order_id IN (SELECT o.order_id FROM {joined} WHERE {match}))",
    "orders_average_order_size": "(SELECT AVG(x.amount) FROM {{s}}.orders x WHERE x.order_id IN (SELECT o.order_id FROM {joined} WHERE {match}))",
    "orders_unique_order_count": "(SELECT COUNT(DISTINCT o.order_id) FROM {joined} WHERE {match})",
    "customers_average_age": "(SELECT AVG(x.age) FROM {{s}}.customers x WHERE x.customer_id IN (SELECT c.customer_id FROM {joined} WHERE {match}))",
    "customers_unique_customer_count": "(SELECT COUNT(DISTINCT c.customer_id) FROM {joined} WHERE {match})",
}


@st.composite
def joined_rules(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    kind = draw(st.sampled_from(["method", "status", "amount", "name"]))
    if kind == "method":
        values = draw(
            st.lists(
                st.sampled_from(["credit_card", "coupon", "bank_transfer", "gift_card"]),
                min_size=1,
                max_size=2,
                unique=True,
            )
        )
        return rule(
            "payments_payment_method", "equals", values
        ), f"p.payment_method IN ({sql_list(values)})"
    if kind == "status":
        values = draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=2, unique=True))
        return rule("orders_status", "equals", values), f"o.status IN ({sql_list(values)})"
    if kind == "amount":
        n = draw(st.integers(0, 30))
        return rule("orders_amount", "greaterThan", [n]), f"o.amount > {n}"
    letter = draw(st.sampled_from("ABCDJKMS"))
    return rule("customers_first_name", "startsWith", [letter]), f"c.first_name LIKE '{letter}%'"


@st.composite
def joined_queries(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    dims = draw(st.lists(st.sampled_from(sorted(JOIN_DIMENSIONS)), max_size=2, unique=True))
    metrics = draw(
        st.lists(st.sampled_from(sorted(JOIN_METRICS)), min_size=1, max_size=3, unique=True)
    )
    rules = draw(st.lists(joined_rules(), max_size=2))
    query: dict[str, Any] = {"dimensions": dims, "metrics": metrics}
    condition = " AND ".join(f"({c})" for _, c in rules) or "TRUE"
    if rules:
        query["filters"] = {"dimensions": {"and": [r for r, _ in rules]}}
    match = " AND ".join(
        [condition]
        + [f"({JOIN_DIMENSIONS[d]}) IS NOT DISTINCT FROM g.d{i}" for i, d in enumerate(dims)]
    )
    joined = JOINED
    if dims:
        groups = ", ".join(f"{JOIN_DIMENSIONS[d]} AS d{i}" for i, d in enumerate(dims))
        source = f"(SELECT DISTINCT {groups} FROM {joined} WHERE {condition}) g"
    else:
        source = "(SELECT 1 AS one) g"
    columns = [f"g.d{i}" for i in range(len(dims))]
    columns += [JOIN_METRICS[m].format(joined=joined, match=match) for m in metrics]
    return query, f"SELECT {', '.join(columns)} FROM {source}"


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=joined_queries())
def test_generated_join_queries_count_each_row_once(
    demo: DemoWarehouse, case: tuple[dict[str, Any], str]
) -> None:
    query, sql = case
    assert_same_rows(demo, "payments", query, sql)
