"""Rows as Lightdash returns them: ``{fieldId: {"value": {"raw": …, "formatted": "…"}}}``.

``raw`` is JSON: dates ``2018-01-01``, timestamps ``2020-07-02T09:33:00.000Z`` (Lightdash's ISO
form; the warehouse's naive timestamps are read as UTC), decimals as numbers (integers when
whole), NaN and infinities as null. ``columns`` is Lightdash's ``{reference, type}`` per field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson

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


# A column's cell texts are remembered per value (categories, dates, small numbers repeat),
# up to this many values per column; beyond that new values are formatted each time.
_MEMO_LIMIT = 65_536


def _plain_ints(field: Mapping[str, Any] | None) -> bool:
    """A field whose integers `format_value` shows as ``f"{n:,}"``: not a string, and no
    format, round or compact of its own."""
    if not field:
        return True
    if str(field.get("valueType") or field.get("type") or "") == "string":
        return False
    return all(
        field.get(key) in (None, "", {}) for key in ("formatOptions", "format", "round", "compact")
    )


_THOUSANDTH = Decimal("0.001")


def _plain_float(value: float) -> str:
    """`format_value` of a finite float of a plain field: up to three decimals, half-up, grouped.

    A float whose shortest form has at most three decimals needs no rounding: its digits are
    regrouped as they are; any other goes through Decimal as `format_value` does."""
    text = repr(value)
    whole, _, fraction = text.partition(".")
    if "e" in text or len(fraction) > 3:
        text = format(Decimal(text).quantize(_THOUSANDTH, rounding=ROUND_HALF_UP), ",f")
        text = text.rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    fraction = fraction.rstrip("0")
    digits = f"{int(whole.lstrip('-')):,}" + ("." + fraction if fraction else "")
    return "-" + digits if whole.startswith("-") and digits != "0" else digits


def _memo_key(value: Any) -> tuple[type, Any] | None:
    """A key under which equal values are written alike, or None (not remembered): -0.0 equals
    0.0, Decimal("1.0") equals Decimal("1.00") and aware datetimes equal across time zones,
    yet each is written differently; lists and structs cannot be keys."""
    kind = value.__class__
    if kind in (str, int, bool, date) or (kind is float and value != 0):
        return (kind, value)
    if kind is datetime and value.tzinfo is None:
        return (kind, value)
    if kind is Decimal:
        return (kind, str(value))
    return None


def _column_encoder(
    column: str, field: Mapping[str, Any] | None, lead: str, end: str
) -> Callable[[Sequence[Any]], list[str]]:
    """A column's values as their cells' JSON texts, ``"id":{"value":{"raw":…,"formatted":"…"}}``
    between `lead` and `end` (the row's brace or comma), so that a row is its cells joined.

    Integers of a plain field (a column of Python ints) are written by one f-string loop; any
    other value by `cell`, which remembers the texts of repeated values."""
    head = lead + orjson.dumps(column).decode() + ':{"value":{"raw":'
    tail = "}}" + end
    plain_ints = _plain_ints(field)
    memo: dict[tuple[type, Any], str] = {}

    def slow(value: Any) -> str:
        raw_json = raw_value(value)
        # orjson writes integers of up to 64 bits; JSON itself has no such limit.
        raw = str(raw_json) if raw_json.__class__ is int else orjson.dumps(raw_json).decode()
        formatted = orjson.dumps(format_value(field, value)).decode()
        return f'{head}{raw},"formatted":{formatted}{tail}'

    def cell(value: Any) -> str:
        kind = value.__class__
        if plain_ints and kind is int:
            return f'{head}{value},"formatted":"{value:,}"{tail}'
        if plain_ints and kind is float and -1e15 < value < 1e15:
            return f'{head}{orjson.dumps(value).decode()},"formatted":"{_plain_float(value)}"{tail}'
        key = _memo_key(value)
        if key is None:
            return slow(value)
        cached = memo.get(key)
        if cached is None:
            cached = slow(value)
            if len(memo) < _MEMO_LIMIT:
                memo[key] = cached
        return cached

    def encode(values: Sequence[Any]) -> list[str]:
        if plain_ints and set(map(type, values)) == {int}:
            return [f'{head}{v},"formatted":"{v:,}"{tail}' for v in values]
        return list(map(cell, values))

    return encode


def rows_encoder(
    fields: Mapping[str, Mapping[str, Any]], columns: Sequence[str]
) -> Callable[[Sequence[Sequence[Any]]], list[str]]:
    """Warehouse rows (values in ``columns`` order) as the JSON texts of their `result_row`s,
    made without building the rows' objects: column by column, then each row's cells joined."""
    last = len(columns) - 1
    encoders = [
        _column_encoder(column, fields.get(column), "," if i else "{", "}" if i == last else "")
        for i, column in enumerate(columns)
    ]

    def encode(rows: Sequence[Sequence[Any]]) -> list[str]:
        if not rows:
            return []
        if not encoders:
            return ["{}"] * len(rows)
        if len(encoders) == 1:
            return encoders[0]([row[0] for row in rows])
        by_column = zip(*rows, strict=True)
        cells = [
            encode_column(values) for encode_column, values in zip(encoders, by_column, strict=True)
        ]
        return list(map("".join, zip(*cells, strict=True)))

    return encode
