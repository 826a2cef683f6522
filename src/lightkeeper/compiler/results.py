"""Rows as Lightdash returns them: ``{fieldId: {"value": {"raw": …, "formatted": "…"}}}``.

``raw`` is JSON: dates ``2018-01-01``, timestamps ``2020-07-02T09:33:00.000Z`` (Lightdash's ISO
form; the warehouse's naive timestamps are read as UTC), decimals as numbers (integers when
whole), NaN and infinities as null. ``columns`` is Lightdash's ``{reference, type}`` per field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from lightkeeper.compiler.formatting import format_value

_METRIC_TYPES_AS_NUMBER = {"count", "count_distinct", "sum", "average", "median", "percentile",
                           "sum_distinct", "average_distinct", "variance", "standard_deviation", "number"}  # fmt: skip


def raw_value(value: Any) -> Any:
    """A warehouse value as the JSON ``raw`` Lightdash sends."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
        return moment.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def result_row(
    fields: Mapping[str, Mapping[str, Any]], columns: Sequence[str], values: Sequence[Any]
) -> dict[str, dict[str, dict[str, Any]]]:
    """One row in Lightdash's shape, keys in ``columns`` order, formatted per field."""
    return {
        column: {
            "value": {"raw": raw_value(value), "formatted": format_value(fields.get(column), value)}
        }
        for column, value in zip(columns, values, strict=True)
    }


def column_type(field: Mapping[str, Any]) -> str:
    """Lightdash's column type (string, number, date, timestamp, boolean) of a field."""
    kind = str(field.get("valueType") or field.get("type") or "string")
    if field.get("fieldType") == "metric" and kind in _METRIC_TYPES_AS_NUMBER:
        return "number"
    return kind if kind in ("string", "number", "date", "timestamp", "boolean") else "string"


def result_columns(
    fields: Mapping[str, Mapping[str, Any]], columns: Sequence[str]
) -> dict[str, dict[str, str]]:
    """``columns`` of a results page: ``{fieldId: {"reference": fieldId, "type": …}}``."""
    return {c: {"reference": c, "type": column_type(fields.get(c) or {})} for c in columns}
