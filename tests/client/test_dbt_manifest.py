"""Converting a dbt manifest into Lightdash-style explores (`lightkeeper deploy --manifest`)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from lightkeeper.dbt_manifest import (
    ConversionReport,
    convert_manifest,
    dimension_type_for,
    load_manifest,
)
from tests.support import JAFFLE_MANIFEST

DEFAULT_INTERVALS = ["DAY", "WEEK", "MONTH", "QUARTER", "YEAR"]


@cache
def _fixture_report() -> ConversionReport:
    return convert_manifest(load_manifest(JAFFLE_MANIFEST))


def _explores(report: ConversionReport) -> dict[str, dict[str, Any]]:
    return {explore["name"]: explore for explore in report.explores}


def _base_table(report: ConversionReport, model: str) -> dict[str, Any]:
    table: dict[str, Any] = _explores(report)[model]["tables"][model]
    return table


def _intervals_of(table: dict[str, Any], dimension: str) -> list[str]:
    return [
        d["timeInterval"]
        for d in table["dimensions"].values()
        if d.get("timeIntervalBaseDimensionName") == dimension
    ]


# -- synthetic manifests for edge cases ------------------------------------------------------


def _column(
    name: str,
    meta: dict[str, Any] | None = None,
    *,
    data_type: str | None = None,
    config_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    column: dict[str, Any] = {
        "name": name,
        "description": "",
        "meta": meta or {},
        "data_type": data_type,
    }
    if config_meta is not None:
        column["config"] = {"meta": config_meta}
    return column


def _model(
    name: str,
    *columns: dict[str, Any],
    meta: dict[str, Any] | None = None,
    config_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "unique_id": f"model.shop.{name}",
        "resource_type": "model",
        "name": name,
        "database": "db",
        "schema": "analytics",
        "relation_name": f'"db"."analytics"."{name}"',
        "description": "",
        "tags": [],
        "meta": meta or {},
        "config": {"meta": config_meta or {}, "tags": [], "materialized": "table"},
        "columns": {column["name"]: column for column in columns},
    }


def _manifest(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"adapter_type": "postgres"},
        "nodes": {node["unique_id"]: node for node in nodes},
    }


# -- the real fixture ------------------------------------------------------------------------


def test_every_model_of_the_fixture_becomes_an_explore_and_nothing_else() -> None:
    manifest = load_manifest(JAFFLE_MANIFEST)
    model_names = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    report = _fixture_report()

    assert len(model_names) == 22
    # Seeds and tests are in the manifest too, but are not models.
    assert {n["resource_type"] for n in manifest["nodes"].values()} == {"model", "seed", "test"}
    assert {e["name"] for e in report.explores} == model_names
    assert report.errors == {}
    # The five models without Lightdash meta still become explores, one dimension per column.
    for name in ("membership", "users", "stg_customers", "stg_orders", "stg_payments"):
        explore = _explores(report)[name]
        assert explore["baseTable"] == name
        assert len(explore["tables"][name]["dimensions"]) >= 3


def test_fixture_has_the_80_lightdash_metrics_of_its_readme() -> None:
    report = _fixture_report()

    assert report.summary()["metrics"] == 80
    assert sum(len(_base_table(report, e["name"])["metrics"]) for e in report.explores) == 80


def test_orders_has_its_model_level_metric() -> None:
    metric = _base_table(_fixture_report(), "orders")["metrics"]["completion_percentage"]

    assert metric["type"] == "number"
    assert metric["sql"] == "${total_completed_order_amount}/${total_order_amount}"
    assert metric["table"] == "orders"
    assert metric["label"] == "Completion percentage"


def test_column_metrics_default_to_the_column_sql() -> None:
    metric = _base_table(_fixture_report(), "orders")["metrics"]["unique_order_count"]

    assert metric["type"] == "count_distinct"
    assert metric["sql"] == "${TABLE}.order_id"
    assert metric["description"] == "Count distinct of Order id"


def test_fixture_dimensions_have_the_declared_types() -> None:
    report = _fixture_report()

    assert _base_table(report, "customers")["dimensions"]["age"]["type"] == "number"
    assert _base_table(report, "customers")["dimensions"]["first_name"]["type"] == "string"
    users = _base_table(report, "fanouts_users")["dimensions"]
    assert users["is_marketing_opted_in"]["type"] == "boolean"
    assert users["created_at"]["type"] == "timestamp"
    events = _base_table(report, "events")["dimensions"]
    assert events["date"]["type"] == "date"
    assert events["event_id"]["type"] == "number"
    # The manifest comes from `dbt parse`, so no column has a data_type: without
    # meta.dimension.type a column is a string (orders.amount only says `hidden: true`).
    amount = _base_table(report, "orders")["dimensions"]["amount"]
    assert amount["type"] == "string"
    assert amount["hidden"] is True


def test_fixture_date_dimensions_get_their_interval_dimensions() -> None:
    report = _fixture_report()
    deals = _base_table(report, "fanouts_deals")

    # No time_intervals: Lightdash's defaults.
    assert _intervals_of(deals, "created_date") == DEFAULT_INTERVALS
    month = deals["dimensions"]["created_date_month"]
    assert month["type"] == "date"
    assert month["timeInterval"] == "MONTH"
    assert month["timeIntervalBaseDimensionName"] == "created_date"
    assert month["label"] == "Created date month"
    assert month["sql"] == "DATE_TRUNC('MONTH', ${TABLE}.created_date)"

    # orders.order_date lists its intervals, without QUARTER.
    orders = _base_table(report, "orders")
    assert _intervals_of(orders, "order_date") == ["DAY", "WEEK", "MONTH", "YEAR"]
    assert "order_date_quarter" not in orders["dimensions"]

    # A timestamp with defaults: the truncations are dates.
    events = _base_table(report, "events")
    assert _intervals_of(events, "timestamp_ntz") == DEFAULT_INTERVALS
    assert events["dimensions"]["timestamp_ntz_day"]["type"] == "date"

    # tracks.timestamp asks for every Lightdash interval, including numbers and names.
    tracks = _base_table(report, "tracks")["dimensions"]
    assert tracks["timestamp_raw"]["type"] == "timestamp"
    assert tracks["timestamp_hour"]["type"] == "timestamp"
    assert tracks["timestamp_month_num"]["type"] == "number"
    assert tracks["timestamp_month_name"]["type"] == "string"


def test_fixture_dimension_count() -> None:
    # The README counts 175 columns with meta.dimension out of 207 documented columns. Every
    # column becomes a dimension (207), plus the 4 additional_dimensions, plus 130 derived
    # interval dimensions (5 per date/timestamp column by default, 4 for orders.order_date,
    # 22 for each of the three columns that list every interval).
    report = _fixture_report()
    interval_dimensions = sum(
        1
        for explore in report.explores
        for d in _base_table(report, explore["name"])["dimensions"].values()
        if "timeInterval" in d
    )

    assert interval_dimensions == 130
    assert report.summary()["dimensions"] == 207 + 4 + 130


def test_fixture_additional_dimensions_become_dimensions() -> None:
    report = _fixture_report()
    plan = _base_table(report, "plan")["dimensions"]
    events = _base_table(report, "events")["dimensions"]

    assert plan["created_by"]["sql"] == "${plan.metadata}->>'created_by'"
    assert plan["created_by"]["isAdditionalDimension"] is True
    assert {"created_by_first_name", "created_by_last_name"} <= set(plan)
    assert events["event_tier"]["description"] == "Ratio of event_id to event"


def test_fixture_joins_become_joined_tables() -> None:
    report = _fixture_report()
    orders = _explores(report)["orders"]

    assert orders["joinedTables"] == [
        {
            "table": "customers",
            "sqlOn": "${customers.customer_id} = ${orders.customer_id}",
            "relationship": "many-to-one",
        }
    ]
    assert set(orders["tables"]) == {"orders", "customers"}
    customers = orders["tables"]["customers"]
    assert customers["sqlTable"] == '"jaffle_shop"."jaffle"."customers"'
    assert customers["dimensions"]["customer_id"]["table"] == "customers"
    assert report.summary()["joins"] == 43


def test_fixture_join_aliases_put_the_model_under_each_alias() -> None:
    explore = _explores(_fixture_report())["generated_a"]

    assert [j["table"] for j in explore["joinedTables"]] == [f"join_{i}" for i in range(1, 21)]
    join_7 = explore["tables"]["join_7"]
    assert join_7["originalName"] == "generated_b"
    assert join_7["label"] == "Join 7"
    assert all(d["table"] == "join_7" for d in join_7["dimensions"].values())


def test_fixture_join_fields_limit_the_joined_table() -> None:
    explore = _explores(_fixture_report())["fanouts_accounts"]
    deals = explore["tables"]["fanouts_deals"]

    assert "unique_deal_count" in deals["metrics"]
    assert "created_date_month" in deals["dimensions"]  # an interval of a listed field
    # Not in `fields`, but the join condition needs it: present and hidden.
    assert deals["dimensions"]["account_id"]["hidden"] is True
    assert deals["dimensions"]["stage"]["hidden"] is False


def test_fixture_warnings_name_the_model_and_key() -> None:
    warnings = _fixture_report().warnings

    # A typo in the fixture's YAML (`relatiosnship`) is reported, not fatal.
    assert any(
        "fanouts_addresses" in w and "relatiosnship" in w and "unknown key" in w for w in warnings
    )
    # Lightdash keys that are deliberately skipped do not warn.
    assert not any("'primary_key'" in w or "'spotlight'" in w for w in warnings)
    assert _fixture_report().summary()["warnings"] == len(warnings)


# -- edge cases ------------------------------------------------------------------------------


def test_time_intervals_off_gives_no_interval_dimensions() -> None:
    report = convert_manifest(
        _manifest(
            _model(
                "orders",
                _column(
                    "ordered_at", {"dimension": {"type": "timestamp", "time_intervals": "OFF"}}
                ),
            )
        )
    )

    assert list(_base_table(report, "orders")["dimensions"]) == ["ordered_at"]


def test_explicit_time_intervals_are_used_as_given() -> None:
    report = convert_manifest(
        _manifest(
            _model(
                "orders",
                _column(
                    "ordered_at",
                    {"dimension": {"type": "timestamp", "time_intervals": ["hour", "MONTH_NAME"]}},
                ),
            )
        )
    )
    table = _base_table(report, "orders")

    assert _intervals_of(table, "ordered_at") == ["HOUR", "MONTH_NAME"]
    assert table["dimensions"]["ordered_at_hour"]["type"] == "timestamp"
    assert table["dimensions"]["ordered_at_month_name"]["type"] == "string"


def test_dimension_type_falls_back_to_data_type_then_string() -> None:
    report = convert_manifest(
        _manifest(
            _model(
                "orders",
                _column("id", data_type="BIGINT"),
                _column("placed_on", data_type="date"),
                _column("note"),
                _column("amount", {"dimension": {"type": "number"}}, data_type="varchar"),
            )
        )
    )
    dimensions = _base_table(report, "orders")["dimensions"]

    assert dimensions["id"]["type"] == "number"
    assert dimensions["placed_on"]["type"] == "date"
    assert _intervals_of(_base_table(report, "orders"), "placed_on") == DEFAULT_INTERVALS
    assert dimensions["note"]["type"] == "string"
    assert dimensions["amount"]["type"] == "number"  # meta wins over data_type
    assert dimensions["note"]["sql"] == "${TABLE}.note"
    assert dimensions["note"]["label"] == "Note"
    assert dimensions["note"]["hidden"] is False


@pytest.mark.parametrize(
    ("data_type", "expected"),
    [
        ("integer", "number"),
        ("numeric(10,2)", "number"),
        ("DOUBLE PRECISION", "number"),
        ("float64", "number"),
        ("bool", "boolean"),
        ("boolean", "boolean"),
        ("date", "date"),
        ("timestamp with time zone", "timestamp"),
        ("TIMESTAMP_NTZ", "timestamp"),
        ("datetime", "timestamp"),
        ("time", "string"),
        ("character varying(255)", "string"),
        ("jsonb", "string"),
    ],
)
def test_data_types_map_to_dimension_types(data_type: str, expected: str) -> None:
    assert dimension_type_for(data_type) == expected


def test_meta_under_config_only_is_read() -> None:
    report = convert_manifest(
        _manifest(
            _model(
                "orders",
                _column(
                    "amount",
                    config_meta={
                        "dimension": {"type": "number", "label": "Order amount"},
                        "metrics": {"total_amount": {"type": "sum"}},
                    },
                ),
                config_meta={
                    "label": "All orders",
                    "metrics": {"n": {"type": "count", "sql": "1"}},
                },
            )
        )
    )
    explore = _explores(report)["orders"]
    table = explore["tables"]["orders"]

    assert explore["label"] == "All orders"
    assert table["dimensions"]["amount"]["type"] == "number"
    assert table["dimensions"]["amount"]["label"] == "Order amount"
    assert set(table["metrics"]) == {"total_amount", "n"}
    assert table["metrics"]["total_amount"]["sql"] == "${TABLE}.amount"


def test_node_meta_wins_over_config_meta() -> None:
    report = convert_manifest(
        _manifest(
            _model(
                "orders",
                _column(
                    "amount",
                    {"dimension": {"label": "From meta"}},
                    config_meta={"dimension": {"label": "From config", "type": "number"}},
                ),
            )
        )
    )
    amount = _base_table(report, "orders")["dimensions"]["amount"]

    assert amount["label"] == "From meta"
    assert amount["type"] == "number"  # merged key by key, not replaced


def test_join_to_a_missing_model_is_a_warning_not_fatal() -> None:
    report = convert_manifest(
        _manifest(
            _model(
                "orders",
                _column("customer_id"),
                meta={"joins": [{"join": "customers", "sql_on": "${orders.customer_id} = 1"}]},
            )
        )
    )

    assert report.errors == {}
    explore = _explores(report)["orders"]
    assert explore["joinedTables"] == []
    assert set(explore["tables"]) == {"orders"}
    assert any("orders" in w and "customers" in w for w in report.warnings)


def test_malformed_metric_is_an_error_for_that_model_only() -> None:
    report = convert_manifest(
        _manifest(
            _model("orders", _column("amount", {"metrics": {"total": {"sql": "${amount}"}}})),
            _model("customers", _column("id")),
            _model(
                "payments",
                _column("order_id"),
                meta={"joins": [{"join": "orders", "sql_on": "${payments.order_id} = 1"}]},
            ),
        )
    )

    assert set(report.errors) == {"orders"}
    assert "orders" in report.errors["orders"]
    assert "total" in report.errors["orders"]
    assert "type" in report.errors["orders"]
    assert {e["name"] for e in report.explores} == {"customers", "payments"}
    # The join to the model that failed is skipped and said so.
    assert _explores(report)["payments"]["joinedTables"] == []
    assert any("payments" in w and "could not be converted" in w for w in report.warnings)
    assert report.summary()["errors"] == 1


def test_unknown_dimension_type_is_an_error_naming_the_field() -> None:
    report = convert_manifest(
        _manifest(
            _model("orders", _column("amount", {"dimension": {"type": "money"}})),
            _model("customers", _column("id")),
        )
    )

    assert "amount" in report.errors["orders"]
    assert "money" in report.errors["orders"]
    assert [e["name"] for e in report.explores] == ["customers"]


def test_unknown_keys_warn_and_known_lightdash_keys_do_not() -> None:
    report = convert_manifest(
        _manifest(
            _model(
                "orders",
                _column(
                    "status",
                    {
                        "dimension": {"type": "string", "colour": "red", "format": "usd"},
                        "pii": True,
                    },
                ),
                meta={"owner_team": "sales", "primary_key": "id", "group_label": "Sales"},
            )
        )
    )

    assert report.errors == {}
    assert len(report.explores) == 1
    assert sorted(report.warnings) == sorted(
        [
            "model 'orders': unknown key 'owner_team' ignored",
            "model 'orders', column 'status': unknown key 'pii' ignored",
            "model 'orders', column 'status', dimension: unknown key 'colour' ignored",
        ]
    )


def test_only_models_become_explores() -> None:
    seed = _model("raw_orders", _column("id")) | {
        "unique_id": "seed.shop.raw_orders",
        "resource_type": "seed",
    }
    test = {"unique_id": "test.shop.not_null", "resource_type": "test", "name": "not_null"}

    report = convert_manifest(_manifest(_model("orders", _column("id")), seed, test))

    assert [e["name"] for e in report.explores] == ["orders"]


def test_second_join_to_the_same_table_needs_an_alias() -> None:
    join = {"join": "customers", "sql_on": "${orders.customer_id} = ${customers.id}"}
    report = convert_manifest(
        _manifest(
            _model("orders", _column("customer_id"), meta={"joins": [join, join]}),
            _model("customers", _column("id")),
        )
    )

    assert "alias" in report.errors["orders"]
    assert [e["name"] for e in report.explores] == ["customers"]


def test_load_manifest_rejects_non_json_and_non_manifests(tmp_path: Path) -> None:
    not_json = tmp_path / "manifest.json"
    not_json.write_text("{nodes: ")
    with pytest.raises(ValueError, match=r"manifest\.json.* is not JSON"):
        load_manifest(not_json)

    not_manifest = tmp_path / "catalog.json"
    not_manifest.write_text(json.dumps({"metadata": {}, "sources": {}}))
    with pytest.raises(ValueError, match=r"catalog\.json is not a dbt manifest"):
        load_manifest(not_manifest)

    with pytest.raises(ValueError, match=r"missing\.json"):
        load_manifest(tmp_path / "missing.json")
