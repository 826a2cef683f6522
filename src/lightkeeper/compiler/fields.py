"""The `fields` of a query result: Lightdash's field objects, keyed by field id.

A dimension or metric is the explore's field plus ``fieldType``, ``tableLabel`` and
``compiledSql`` (the SQL this dialect runs), with the query's ``metricOverrides`` /
``dimensionOverrides`` (``formatOptions``) applied. A table calculation is the request's object
as given (it has ``name`` and ``displayName``, no ``label``), as in Lightdash.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from lightkeeper.compiler.explore import ExploreModel, Field


def _base(model: ExploreModel, item: Field, compiled_sql: str) -> dict[str, Any]:
    table = model.tables.get(item.table) or {}
    out = copy.deepcopy(item.spec)
    out.update(
        {
            "name": item.name,
            "label": item.spec.get("label") or item.name,
            "table": item.table,
            "tableLabel": table.get("label") or item.table,
            "sql": item.spec.get("sql") or "",
            "compiledSql": compiled_sql,
            "hidden": bool(item.spec.get("hidden", False)),
        }
    )
    return out


def _override(out: dict[str, Any], field_id: str, overrides: Any) -> dict[str, Any]:
    if isinstance(overrides, Mapping):
        override = overrides.get(field_id)
        if isinstance(override, Mapping) and isinstance(override.get("formatOptions"), Mapping):
            out["formatOptions"] = dict(override["formatOptions"])
    return out


def dimension_out(
    model: ExploreModel, item: Field, compiled_sql: str, overrides: Any
) -> dict[str, Any]:
    out = _base(model, item, compiled_sql)
    out["fieldType"] = "dimension"
    out["type"] = item.type
    if item.interval:
        out["timeInterval"] = item.interval
        out["timeIntervalBaseDimensionName"] = item.base
    return _override(out, item.id, overrides)


def metric_out(
    model: ExploreModel, item: Field, compiled_sql: str, value_type: str, overrides: Any
) -> dict[str, Any]:
    out = _base(model, item, compiled_sql)
    out["fieldType"] = "metric"
    out["type"] = item.type
    out["valueType"] = value_type
    return _override(out, item.id, overrides)


def table_calculation_out(spec: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(spec))
    out.setdefault("displayName", out.get("name"))
    out.setdefault("type", "number")
    return out
