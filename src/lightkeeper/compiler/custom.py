"""The query's own fields: additional metrics and custom dimensions join the explore's.

- ``additionalMetrics`` aggregate one dimension of the explore (their SQL is the caller's, so it
  may only be ``${TABLE}.<dimension>`` or ``${table.dimension}``); id ``{table}_{name}``.
- ``customDimensions`` of type ``sql`` are the caller's expression over the explore's
  dimensions (checked by the builder like a table calculation); type ``bin`` groups a number
  dimension into labelled ranges: ``fixed_width`` (``0-9``, ``10-19``…) or ``custom_range``
  (``<10``, ``10-20``, ``≥20``; ``from`` inclusive, ``to`` exclusive). ``fixed_number`` is a 400.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from sqlglot import exp

from lightkeeper.compiler.errors import CompileError, FieldReferenceError
from lightkeeper.compiler.explore import AGGREGATE_METRICS, ExploreModel, Field, split_reference


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def add_query_fields(model: ExploreModel, query: Mapping[str, Any]) -> None:
    """Add the query's additionalMetrics and customDimensions to ``model`` (rules: module doc)."""
    for spec in query.get("additionalMetrics") or []:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise CompileError("Every additional metric needs a `name`, `table`, `type`, `sql`")
        table = spec.get("table") or model.base_table
        model.table(str(table))
        metric_type = str(spec.get("type") or "")
        if metric_type not in AGGREGATE_METRICS:
            raise CompileError(
                f"Additional metric {spec['name']!r}: type {metric_type!r} is not one of "
                f"{', '.join(sorted(AGGREGATE_METRICS))}"
            )
        _check_additional_metric_sql(model, str(table), spec)
        field_id = f"{table}_{spec['name']}"
        custom = {**spec, "table": table, "isAdditionalMetric": True}
        model.fields[field_id] = Field(field_id, str(table), spec["name"], "metric", custom)
    for spec in query.get("customDimensions") or []:
        if not isinstance(spec, dict) or not isinstance(spec.get("id"), str):
            raise CompileError("Every custom dimension needs an `id`")
        if spec.get("type") == "bin":
            _add_bin_dimension(model, spec)
            continue
        if spec.get("type") != "sql" or not isinstance(spec.get("sql"), str):
            raise CompileError(
                f"Custom dimension {spec['id']!r}: `type` must be `sql` (with `sql`) or `bin`"
            )
        table = str(spec.get("table") or model.base_table)
        model.table(table)
        custom = {
            "name": spec.get("name") or spec["id"],
            "label": spec.get("name") or spec["id"],
            "type": spec.get("dimensionType") or "string",
            "sql": spec["sql"],
            "table": table,
            "isCustomDimension": True,
        }
        model.fields[spec["id"]] = Field(
            spec["id"], table, str(custom["name"]), "dimension", custom
        )


def _add_bin_dimension(model: ExploreModel, spec: Mapping[str, Any]) -> None:
    """A bin custom dimension: a number dimension grouped into labelled ranges.

    ``fixed_width`` (``binWidth``, a whole number: ``0-9``, ``10-19``…) and ``custom_range``
    (``customRange`` ``[{from, to}]``: ``<10``, ``10-20``, ``≥20``; ``from`` inclusive,
    ``to`` exclusive). ``fixed_number`` is not supported (400).
    """
    where = f"Custom dimension {spec['id']!r}"
    base = model.fields.get(str(spec.get("dimensionId")))
    if base is None or base.kind != "dimension" or base.spec.get("isCustomDimension"):
        raise FieldReferenceError(
            f"{where}: `dimensionId` {spec.get('dimensionId')!r} is not a dimension of "
            f"explore {model.name!r}"
        )
    bin_type = spec.get("binType")
    if bin_type == "fixed_width":
        width = spec.get("binWidth")
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 10**12:
            raise CompileError(f"{where}: `binWidth` must be a whole number of at least 1")
        rule: dict[str, Any] = {"type": "fixed_width", "width": width}
    elif bin_type == "custom_range":
        ranges = spec.get("customRange")
        if not isinstance(ranges, list) or not ranges or len(ranges) > 100:
            raise CompileError(f"{where}: `customRange` must list 1 to 100 {{from, to}} ranges")
        checked = []
        for item in ranges:
            bounds = [item.get(k) if isinstance(item, dict) else "bad" for k in ("from", "to")]
            for bound in bounds:
                if bound is not None and (
                    isinstance(bound, bool)
                    or not isinstance(bound, int | float)
                    or not math.isfinite(bound)
                ):
                    raise CompileError(f"{where}: range bounds must be numbers or null")
            checked.append((bounds[0], bounds[1]))
        rule = {"type": "custom_range", "ranges": checked}
    else:
        raise CompileError(
            f"{where}: `binType` must be fixed_width or custom_range (fixed_number is not "
            "supported)"
        )
    custom = {
        "name": spec.get("name") or spec["id"],
        "label": spec.get("name") or spec["id"],
        "type": "string",
        "sql": f"${{{base.table}.{base.name}}}",
        "table": base.table,
        "isCustomDimension": True,
        "bin": rule,
        "binBase": base.id,
    }
    model.fields[spec["id"]] = Field(
        spec["id"], base.table, str(custom["name"]), "dimension", custom
    )


def bin_expression(item: Field, value: exp.Expr) -> exp.Expr:
    """A bin dimension's label for ``value`` (the base dimension's expression)."""
    rule = item.spec["bin"]
    if rule["type"] == "fixed_width":
        width = exp.Literal.number(str(rule["width"]))
        floor = exp.Floor(
            this=exp.Div(this=exp.cast(value, exp.DataType.Type.DOUBLE), expression=width)
        )
        low = exp.cast(exp.Mul(this=floor, expression=width.copy()), exp.DataType.Type.BIGINT)
        high = exp.Sub(
            this=exp.Add(this=low.copy(), expression=width.copy()),
            expression=exp.Literal.number("1"),
        )
        label = exp.DPipe(
            this=exp.DPipe(
                this=exp.cast(low, exp.DataType.Type.VARCHAR),
                expression=exp.Literal.string("-"),
            ),
            expression=exp.cast(high, exp.DataType.Type.VARCHAR),
        )
        return exp.Case(
            ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null())],
            default=label,
        )
    ifs = []
    for low_bound, high_bound in rule["ranges"]:
        conditions: list[exp.Expr] = []
        if low_bound is not None:
            conditions.append(
                exp.GTE(this=value.copy(), expression=exp.Literal.number(repr(low_bound)))
            )
        if high_bound is not None:
            conditions.append(
                exp.LT(this=value.copy(), expression=exp.Literal.number(repr(high_bound)))
            )
        if low_bound is None and high_bound is None:
            conditions.append(exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())))
        text = (
            f"<{_number_text(high_bound)}"
            if low_bound is None
            else f"≥{_number_text(low_bound)}"
            if high_bound is None
            else f"{_number_text(low_bound)}-{_number_text(high_bound)}"
        )
        ifs.append(exp.If(this=exp.and_(*conditions), true=exp.Literal.string(text)))
    return exp.Case(ifs=ifs, default=exp.Null())


def _check_additional_metric_sql(model: ExploreModel, table: str, spec: Mapping[str, Any]) -> None:
    """An additional metric aggregates one dimension: its SQL is that reference, no more.

    The caller wrote it, so it is not the model's trusted SQL: ``${TABLE}.<dimension>``,
    ``${<dimension>}`` or ``${<table>.<dimension>}`` only.
    """
    sql = str(spec.get("sql") or "").strip()
    name = spec.get("name")
    match = re.fullmatch(r"\$\{\s*TABLE\s*\}\.([A-Za-z_][A-Za-z0-9_]*)", sql) or re.fullmatch(
        r"\$\{\s*([A-Za-z0-9_.]+)\s*\}", sql
    )
    if match is not None:
        ref_table, dimension = split_reference(match.group(1), table)
        found = model.fields.get(f"{ref_table}_{dimension}")
        if found is not None and found.kind == "dimension" and found.table == ref_table:
            return
    raise CompileError(
        f"Additional metric {name!r}: `sql` must name one dimension of the explore, as "
        "${TABLE}.<dimension> or ${table.dimension}"
    )
