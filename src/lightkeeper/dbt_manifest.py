"""Turn a dbt manifest (schema v12) into Lightdash-style explores for `lightkeeper deploy`.

The conversion follows Lightdash's dbt conventions (packages/common/src/compiler/translator.ts
and exploreCompiler.ts in lightdash/lightdash), reduced to what a deploy needs:

- Only nodes with ``resource_type == "model"`` become explores; every model does, with or without
  meta. Seeds, tests, snapshots and the rest are skipped.
- ``meta`` is read from the node and from ``config.meta`` (newer dbt), merged key by key with the
  node's ``meta`` winning; columns likewise (column ``meta`` over column ``config.meta``). Lightdash
  lets ``config.meta`` win instead; dbt copies one into the other in the manifest, so the two only
  differ in hand-made manifests.
- Each documented column becomes a dimension. Its type is ``meta.dimension.type``, else the
  column's ``data_type`` mapped to a Lightdash type, else ``string``. Its sql defaults to
  ``${TABLE}.<column>``; ``label``, ``hidden``, ``description`` and ``name`` may be overridden.
- Date and timestamp dimensions get one derived dimension per time interval, named
  ``<dimension>_<interval lower-case>``. The default intervals are DAY, WEEK, MONTH, QUARTER and
  YEAR; ``time_intervals`` may list others (any Lightdash time frame, e.g. RAW, HOUR, MONTH_NAME)
  or be ``OFF`` (or ``false``) for none. The interval SQL is Lightdash's Postgres dialect (also
  used for DuckDB and Redshift); BigQuery manifests get BigQuery's.
- ``additional_dimensions`` under a column become extra dimensions of the same table.
- ``meta.metrics`` on columns and on models become metrics. A column metric's sql defaults to its
  column dimension's sql (``${TABLE}.<column>`` unless the dimension sets ``sql``); a model metric
  must give ``sql``. A metric whose name is also a dimension's is dropped with a warning, as in
  Lightdash.
- ``meta.joins`` become ``joinedTables``; each joined model's table is added to the explore's
  ``tables`` under its alias, restricted to the join's ``fields`` when given (dimensions that the
  join's ``sql_on`` needs stay, hidden). A join to a model that is not in the manifest, or that
  could not be converted, is skipped with a warning.

Problems are reported, never raised (except by `load_manifest`):

- ``errors`` (model name -> why): the model's meta is malformed, e.g. a metric without a ``type``,
  a dimension ``type`` Lightdash does not know, a join without ``sql_on``, two joins to the same
  table without an alias. That model gets no explore; the others still convert.
- ``warnings``: unknown keys (ignored), joins that are skipped, unknown time intervals (ignored),
  name clashes, ``sql_on`` references to a table or dimension the explore does not have.

Metric ``filters`` (YAML shorthand, ``[{is_completed: "true"}]``) become Lightdash's rules on the
metric (``{target: {fieldRef}, operator, values}``); ``format``, ``round`` and ``compact`` of
dimensions and metrics are carried over (the query side formats values with them).

Keys that are known but deliberately not converted raise no warning:

- model meta: ``description``, ``hidden`` (Lightdash hides such an explore; here every model still
  becomes one), ``group_label``, ``groups``, ``group_details``, ``order_fields_by``,
  ``required_filters``, ``default_filters``, ``spotlight``, ``default_time_dimension``,
  ``case_sensitive``, ``explores``, ``owner``, ``ai_hint``, ``parameters``, ``sets``,
  ``default_show_underlying_values``. Carried onto the table as Lightdash fields:
  ``primary_key`` (``primaryKey``), ``sql_filter``/``sql_where`` (``sqlWhere``),
  ``required_attributes`` and ``any_attributes`` (``requiredAttributes``, ``anyAttributes``), so
  that access rules are not silently lost; ``sql_from`` replaces ``sqlTable``.
- dimension (and additional dimension): ``group_label``, ``groups``, ``urls``, ``separator``, ``colors``, ``image``, ``filter_autocomplete``,
  ``convert_timezone``, ``timestamp_domain``, ``tags``, ``ai_hint``, ``case_sensitive``,
  ``spotlight``; ``required_attributes``/``any_attributes`` are carried over.
- metric: ``separator``, ``group_label``, ``groups``, ``urls``,
  ``show_underlying_values``, ``spotlight``, ``default_time_dimension``, ``required_attributes``,
  ``any_attributes``, ``tags``, ``ai_hint``; ``percentile`` and ``distinct_keys`` are carried over.
- join: ``relationship``, ``always``, ``hidden`` and ``description`` are carried over.
- column meta other than ``dimension``, ``metrics`` and ``additional_dimensions`` is unknown:
  dbt itself adds nothing to ``meta``, so any other key is a typo or another tool's.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

DIMENSION_TYPES = frozenset({"string", "number", "boolean", "date", "timestamp"})
METRIC_TYPES = frozenset(
    {
        "percentile",
        "average",
        "count",
        "count_distinct",
        "sum",
        "sum_distinct",
        "average_distinct",
        "min",
        "max",
        "number",
        "median",
        "variance",
        "standard_deviation",
        "string",
        "date",
        "timestamp",
        "boolean",
        "percent_of_previous",
        "percent_of_total",
        "running_total",
    }
)
JOIN_TYPES = frozenset({"inner", "left", "right", "full"})
DEFAULT_TIME_INTERVALS = ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR")

_MODEL_KEYS = frozenset(
    {
        "label",
        "metrics",
        "joins",
        "sql_from",
        "primary_key",
        "sql_filter",
        "sql_where",
        "required_attributes",
        "any_attributes",
        # known, not converted
        "description",
        "hidden",
        "group_label",
        "groups",
        "group_details",
        "order_fields_by",
        "required_filters",
        "default_filters",
        "spotlight",
        "default_time_dimension",
        "case_sensitive",
        "explores",
        "owner",
        "ai_hint",
        "parameters",
        "sets",
        "default_show_underlying_values",
    }
)
_COLUMN_KEYS = frozenset({"dimension", "metrics", "additional_dimensions"})
_DIMENSION_KEYS = frozenset(
    {
        "type",
        "label",
        "sql",
        "hidden",
        "time_intervals",
        "description",
        "name",
        "required_attributes",
        "any_attributes",
        # known, not converted
        "group_label",
        "groups",
        "urls",
        "format",
        "round",
        "compact",
        "separator",
        "colors",
        "image",
        "filter_autocomplete",
        "convert_timezone",
        "timestamp_domain",
        "tags",
        "ai_hint",
        "case_sensitive",
        "spotlight",
    }
)
_METRIC_KEYS = frozenset(
    {
        "type",
        "label",
        "sql",
        "hidden",
        "description",
        "percentile",
        "distinct_keys",
        "filters",
        # known, not converted
        "format",
        "round",
        "compact",
        "separator",
        "group_label",
        "groups",
        "urls",
        "show_underlying_values",
        "spotlight",
        "default_time_dimension",
        "required_attributes",
        "any_attributes",
        "tags",
        "ai_hint",
    }
)
_JOIN_KEYS = frozenset(
    {
        "join",
        "sql_on",
        "type",
        "alias",
        "label",
        "fields",
        "hidden",
        "always",
        "relationship",
        "description",
    }
)

_IntervalKind = Literal["raw", "truncate", "part", "name"]


class _TimeFrame(NamedTuple):
    label: str
    kind: _IntervalKind
    dimension_type: str | None  # None: the base dimension's type
    date_part: str = ""


# Lightdash's timeFrameConfigs: label, how the SQL is built, and the resulting type.
_TIME_FRAMES: dict[str, _TimeFrame] = {
    "RAW": _TimeFrame("Raw", "raw", None),
    "MILLISECOND": _TimeFrame("Millisecond", "truncate", "timestamp"),
    "SECOND": _TimeFrame("Second", "truncate", "timestamp"),
    "MINUTE": _TimeFrame("Minute", "truncate", "timestamp"),
    "HOUR": _TimeFrame("Hour", "truncate", "timestamp"),
    "DAY": _TimeFrame("Day", "truncate", "date"),
    "WEEK": _TimeFrame("Week", "truncate", "date"),
    "MONTH": _TimeFrame("Month", "truncate", "date"),
    "QUARTER": _TimeFrame("Quarter", "truncate", "date"),
    "YEAR": _TimeFrame("Year", "truncate", "date"),
    "WEEK_NUM": _TimeFrame("Week (number)", "part", "number", "WEEK"),
    "MONTH_NUM": _TimeFrame("Month (number)", "part", "number", "MONTH"),
    "DAY_OF_WEEK_INDEX": _TimeFrame("Day of the week (index)", "part", "number", "DOW"),
    "DAY_OF_MONTH_NUM": _TimeFrame("Day of the month (number)", "part", "number", "DAY"),
    "DAY_OF_YEAR_NUM": _TimeFrame("Day of the year (number)", "part", "number", "DOY"),
    "QUARTER_NUM": _TimeFrame("Quarter (number)", "part", "number", "QUARTER"),
    "YEAR_NUM": _TimeFrame("Year (number)", "part", "number", "YEAR"),
    "HOUR_OF_DAY_NUM": _TimeFrame("Hour of day (number)", "part", "number", "HOUR"),
    "MINUTE_OF_HOUR_NUM": _TimeFrame("Minute of hour (number)", "part", "number", "MINUTE"),
    "DAY_OF_WEEK_NAME": _TimeFrame("Day of the week (name)", "name", "string"),
    "MONTH_NAME": _TimeFrame("Month (name)", "name", "string"),
    "QUARTER_NAME": _TimeFrame("Quarter (name)", "name", "string"),
}
_POSTGRES_NAME_FORMATS = {"DAY_OF_WEEK_NAME": "Day", "MONTH_NAME": "Month", "QUARTER_NAME": '"Q"Q'}
_BIGQUERY_NAME_FORMATS = {"DAY_OF_WEEK_NAME": "%A", "MONTH_NAME": "%B", "QUARTER_NAME": "Q%Q"}
_BIGQUERY_DATE_PARTS = {"DOW": "DAYOFWEEK", "DOY": "DAYOFYEAR"}

# A `${table.field}` or `${field}` reference; `${lightdash.…}`/`${ld.…}` are user attributes.
_REFERENCE = re.compile(r"\$\{(?!(?:lightdash|ld)\.)([A-Za-z0-9_.]+)\}")


@dataclass
class ConversionReport:
    """What `convert_manifest` produced: the explores to deploy and what went wrong on the way."""

    explores: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        """Count what the deploy summary prints.

        Dimensions and metrics are those of each explore's base table (every model counted
        once, derived time-interval dimensions included); joins are the explores' joined tables.
        """
        dimensions = 0
        metrics = 0
        joins = 0
        for explore in self.explores:
            base = explore["tables"][explore["baseTable"]]
            dimensions += len(base["dimensions"])
            metrics += len(base["metrics"])
            joins += len(explore["joinedTables"])
        return {
            "explores": len(self.explores),
            "dimensions": dimensions,
            "metrics": metrics,
            "joins": joins,
            "warnings": len(self.warnings),
            "errors": len(self.errors),
        }


class _MalformedMetaError(Exception):
    """A model's meta cannot be converted; the message names the model and the field."""


def load_manifest(path: Path) -> dict[str, Any]:
    """Read a dbt ``manifest.json``.

    Raises ValueError naming the file when it cannot be read, is not JSON, or is not a dbt
    manifest (no ``nodes`` mapping).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(
            f"{path}: no such file (run `dbt parse` or `dbt compile` to write it)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read: {exc}") from exc
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("nodes"), dict):
        raise ValueError(f'{path} is not a dbt manifest: it has no "nodes" mapping')
    return manifest


def convert_manifest(
    manifest: Mapping[str, Any],
    *,
    column_types: Mapping[str, Mapping[str, str]] | None = None,
) -> ConversionReport:
    """Convert every model of a dbt manifest into a Lightdash-style explore.

    ``column_types`` (model name -> column name -> warehouse or Lightdash type) stands in for
    the warehouse catalog Lightdash reads at deploy: it types a column whose manifest
    ``data_type`` is empty (dbt leaves it empty unless the model declares it).

    Rules: see the module docstring. A model with malformed meta goes into ``errors`` and the
    others still convert; unknown keys and skipped joins become ``warnings``. Raises ValueError
    only when ``manifest`` has no ``nodes`` mapping.
    """
    nodes = manifest.get("nodes")
    if not isinstance(nodes, dict):
        raise ValueError('not a dbt manifest: it has no "nodes" mapping')
    metadata = manifest.get("metadata")
    adapter = metadata.get("adapter_type") if isinstance(metadata, dict) else None
    report = ConversionReport()

    models: dict[str, dict[str, Any]] = {}
    for unique_id, node in nodes.items():
        if not isinstance(node, dict) or node.get("resource_type") != "model":
            continue
        name = node.get("name")
        if not isinstance(name, str) or not name:
            report.errors[str(unique_id)] = f"node {unique_id!r}: model has no name"
        elif name in models:
            # Explores are keyed by name, so a second model of that name (another package, an
            # older version) has nowhere to go.
            report.errors[str(unique_id)] = (
                f"model {name!r} ({unique_id}): another model has the same name "
                f"({models[name].get('unique_id')}); only the first is converted"
            )
        else:
            models[name] = node

    converters: dict[str, _ModelConverter] = {}
    tables: dict[str, dict[str, Any]] = {}
    for name, node in models.items():
        try:
            converter = _ModelConverter(
                name, node, str(adapter or ""), report.warnings, (column_types or {}).get(name)
            )
            tables[name] = converter.table()
        except _MalformedMetaError as exc:
            report.errors[name] = str(exc)
        else:
            converters[name] = converter

    for name, converter in converters.items():
        try:
            explore = converter.explore(tables, set(models))
        except _MalformedMetaError as exc:
            report.errors[name] = str(exc)
        else:
            report.explores.append(explore)
    return report


class _ModelConverter:
    """Converts one model: first its table, then (once every table exists) its explore."""

    def __init__(
        self,
        name: str,
        node: Mapping[str, Any],
        adapter: str,
        warnings: list[str],
        column_types: Mapping[str, str] | None = None,
    ) -> None:
        self.column_types = {k.lower(): v for k, v in (column_types or {}).items()}
        self.name = name
        self.node = node
        self.adapter = adapter.lower()
        self.warnings = warnings
        self.where = f"model {name!r}"
        self.meta = _merged_meta(node, self.where)

    # -- table -----------------------------------------------------------------------------

    def table(self) -> dict[str, Any]:
        """Build the model's table: dimensions from columns, metrics from column and model meta."""
        self._warn_unknown(self.meta, _MODEL_KEYS, self.where)
        label = _optional_str(self.meta, "label", self.where) or _friendly_name(self.name)
        dimensions: dict[str, dict[str, Any]] = {}
        metrics: dict[str, dict[str, Any]] = {}

        columns = self.node.get("columns") or {}
        if not isinstance(columns, dict):
            raise _MalformedMetaError(f"{self.where}: 'columns' is not a mapping")
        for key, column in columns.items():
            if not isinstance(column, dict):
                raise _MalformedMetaError(f"{self.where}, column {key!r}: not a mapping")
            self._add_column(str(column.get("name") or key), column, dimensions, metrics)

        for metric_name, spec in _mapping(self.meta, "metrics", self.where).items():
            where = f"{self.where}, metric {metric_name!r}"
            metric = self._metric(metric_name, spec, where, default_sql=None, dimension=None)
            self._put_metric(metrics, metric, where)

        for metric_name in [name for name in metrics if name in dimensions]:
            del metrics[metric_name]
            self.warnings.append(
                f"{self.where}: metric {metric_name!r} skipped: a dimension has the same name "
                "(dimensions take priority)"
            )

        table: dict[str, Any] = {
            "name": self.name,
            "label": label,
            "description": self.node.get("description") or f"{self.name} table",
            "database": self.node.get("database"),
            "schema": self.node.get("schema"),
            "sqlTable": self._sql_table(),
            "dimensions": dimensions,
            "metrics": metrics,
        }
        primary_key = self.meta.get("primary_key")
        if isinstance(primary_key, str):
            table["primaryKey"] = [primary_key]
        elif isinstance(primary_key, list):
            table["primaryKey"] = list(primary_key)
        sql_where = self.meta.get("sql_filter") or self.meta.get("sql_where")
        if sql_where:
            table["sqlWhere"] = sql_where
        _copy_attributes(self.meta, table)
        return table

    def _add_column(
        self,
        column_name: str,
        column: Mapping[str, Any],
        dimensions: dict[str, dict[str, Any]],
        metrics: dict[str, dict[str, Any]],
    ) -> None:
        where = f"{self.where}, column {column_name!r}"
        meta = _merged_meta(column, where)
        self._warn_unknown(meta, _COLUMN_KEYS, where)
        spec = meta.get("dimension") or {}
        if not isinstance(spec, dict):
            raise _MalformedMetaError(f"{where}: 'dimension' is not a mapping")
        data_type = column.get("data_type") or self.column_types.get(column_name.lower())
        fallback_type = dimension_type_for(data_type) if isinstance(data_type, str) else "string"
        column_dimensions = self._dimensions(
            _optional_str(spec, "name", f"{where}, dimension") or column_name,
            spec,
            f"{where}, dimension",
            sql_name=column_name,
            fallback_type=fallback_type,
            fallback_description=column.get("description") or None,
            additional=False,
        )
        base = column_dimensions[0]
        for dimension in column_dimensions:
            self._put_dimension(dimensions, dimension, where)

        for extra_name, extra_spec in _mapping(meta, "additional_dimensions", where).items():
            extra_where = f"{where}, additional dimension {extra_name!r}"
            if not isinstance(extra_spec, dict):
                raise _MalformedMetaError(f"{extra_where}: not a mapping")
            # Lightdash types an additional dimension like its column when it gives no type.
            for dimension in self._dimensions(
                extra_name,
                extra_spec,
                extra_where,
                sql_name=extra_name,
                fallback_type=fallback_type,
                fallback_description=None,
                additional=True,
            ):
                self._put_dimension(dimensions, dimension, extra_where)

        for metric_name, metric_spec in _mapping(meta, "metrics", where).items():
            metric_where = f"{where}, metric {metric_name!r}"
            metric = self._metric(
                metric_name,
                metric_spec,
                metric_where,
                default_sql=base["sql"],
                dimension=base["name"],
            )
            self._put_metric(metrics, metric, metric_where)

    def _dimensions(
        self,
        name: str,
        spec: Mapping[str, Any],
        where: str,
        *,
        sql_name: str,
        fallback_type: str,
        fallback_description: str | None,
        additional: bool,
    ) -> list[dict[str, Any]]:
        """The dimension described by ``spec``, followed by its time-interval dimensions."""
        self._warn_unknown(spec, _DIMENSION_KEYS, where)
        declared_type = spec.get("type")
        if declared_type is None:
            dim_type = fallback_type
        elif isinstance(declared_type, str) and declared_type.lower() in DIMENSION_TYPES:
            dim_type = declared_type.lower()
        else:
            raise _MalformedMetaError(
                f"{where}: type {declared_type!r} is not a dimension type "
                f"(one of {', '.join(sorted(DIMENSION_TYPES))})"
            )
        sql = _optional_str(spec, "sql", where) or f"${{TABLE}}.{sql_name}"
        label = _optional_str(spec, "label", where) or _friendly_name(name)
        description = _optional_str(spec, "description", where) or fallback_description
        hidden = _optional_bool(spec, "hidden", where)

        base: dict[str, Any] = {
            "name": name,
            "label": label,
            "type": dim_type,
            "sql": sql,
            "table": self.name,
            "hidden": hidden,
        }
        if description:
            base["description"] = description
        _copy_format(spec, base)
        if additional:
            base["isAdditionalDimension"] = True
        _copy_attributes(spec, base)

        intervals = self._time_intervals(spec.get("time_intervals"), dim_type, where)
        if not intervals:
            return [base]
        base["isIntervalBase"] = True
        derived = []
        for interval in intervals:
            frame = _TIME_FRAMES[interval]
            dimension = {
                **base,
                "name": f"{name}_{interval.lower()}",
                "label": f"{label} {frame.label.lower()}",
                "type": frame.dimension_type or dim_type,
                "sql": self._interval_sql(interval, sql, dim_type),
                "timeInterval": interval,
                "timeIntervalBaseDimensionName": name,
            }
            del dimension["isIntervalBase"]
            derived.append(dimension)
        return [base, *derived]

    def _time_intervals(self, value: object, dim_type: str, where: str) -> list[str]:
        switched_off = value is False or (isinstance(value, str) and value.upper() == "OFF")
        if dim_type not in ("date", "timestamp"):
            if value is not None and not switched_off:
                self.warnings.append(
                    f"{where}: 'time_intervals' ignored on a {dim_type} dimension "
                    "(only date and timestamp dimensions have intervals)"
                )
            return []
        if value is None or (isinstance(value, str) and value.upper() == "DEFAULT"):
            return list(DEFAULT_TIME_INTERVALS)
        if switched_off:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _MalformedMetaError(
                f"{where}: time_intervals must be OFF or a list of intervals, got {value!r}"
            )
        intervals: list[str] = []
        for item in value:
            interval = item.upper()
            if interval not in _TIME_FRAMES:
                self.warnings.append(
                    f"{where}: unknown time interval {item!r} ignored "
                    f"(known: {', '.join(_TIME_FRAMES)})"
                )
            elif interval not in intervals:
                intervals.append(interval)
        return intervals

    def _interval_sql(self, interval: str, sql: str, dim_type: str) -> str:
        frame = _TIME_FRAMES[interval]
        bigquery = self.adapter == "bigquery"
        if frame.kind == "raw":
            return sql
        if frame.kind == "truncate":
            if bigquery:
                function = "TIMESTAMP_TRUNC" if dim_type == "timestamp" else "DATE_TRUNC"
                return f"{function}({sql}, {interval})"
            return f"DATE_TRUNC('{interval}', {sql})"
        if frame.kind == "part":
            if bigquery:
                part = _BIGQUERY_DATE_PARTS.get(frame.date_part, frame.date_part)
                return f"EXTRACT({part} FROM {sql})"
            return f"DATE_PART('{frame.date_part}', {sql})"
        if bigquery:
            function = "FORMAT_DATETIME" if dim_type == "timestamp" else "FORMAT_DATE"
            return f"{function}('{_BIGQUERY_NAME_FORMATS[interval]}', {sql})"
        return f"TO_CHAR({sql}, 'FM{_POSTGRES_NAME_FORMATS[interval]}')"

    def _metric(
        self,
        name: str,
        spec: object,
        where: str,
        *,
        default_sql: str | None,
        dimension: str | None,
    ) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise _MalformedMetaError(f"{where}: not a mapping")
        self._warn_unknown(spec, _METRIC_KEYS, where)
        metric_type = spec.get("type")
        if metric_type is None:
            raise _MalformedMetaError(
                f"{where}: no type (one of {', '.join(sorted(METRIC_TYPES))})"
            )
        if not isinstance(metric_type, str) or metric_type.lower() not in METRIC_TYPES:
            raise _MalformedMetaError(
                f"{where}: type {metric_type!r} is not a metric type "
                f"(one of {', '.join(sorted(METRIC_TYPES))})"
            )
        metric_type = metric_type.lower()
        sql = _optional_str(spec, "sql", where) or default_sql
        if sql is None:
            raise _MalformedMetaError(f"{where}: a model-level metric needs 'sql'")
        description = _optional_str(spec, "description", where)
        if not description and dimension is not None:
            description = f"{_friendly_name(metric_type)} of {_friendly_name(dimension)}"
        metric: dict[str, Any] = {
            "name": name,
            "label": _optional_str(spec, "label", where) or _friendly_name(name),
            "type": metric_type,
            "sql": sql,
            "table": self.name,
            "hidden": _optional_bool(spec, "hidden", where),
        }
        if description:
            metric["description"] = description
        _copy_format(spec, metric)
        if "percentile" in spec:
            metric["percentile"] = spec["percentile"]
        if "distinct_keys" in spec:
            metric["distinctKeys"] = spec["distinct_keys"]
        elif metric_type in ("sum_distinct", "average_distinct"):
            raise _MalformedMetaError(f"{where}: type {metric_type!r} needs 'distinct_keys'")
        if spec.get("filters"):
            metric["filters"] = _metric_filters(spec["filters"], where)
        return metric

    def _put_dimension(
        self, dimensions: dict[str, dict[str, Any]], dimension: dict[str, Any], where: str
    ) -> None:
        if dimension["name"] in dimensions:
            self.warnings.append(
                f"{where}: dimension {dimension['name']!r} is defined twice; the later one is kept"
            )
        dimensions[dimension["name"]] = dimension

    def _put_metric(
        self, metrics: dict[str, dict[str, Any]], metric: dict[str, Any], where: str
    ) -> None:
        if metric["name"] in metrics:
            self.warnings.append(
                f"{where}: metric {metric['name']!r} is defined twice; the later one is kept"
            )
        metrics[metric["name"]] = metric

    def _sql_table(self) -> str:
        sql_from = _optional_str(self.meta, "sql_from", self.where)
        if sql_from:
            return sql_from
        relation = self.node.get("relation_name")
        if isinstance(relation, str) and relation:
            return relation
        config = self.node.get("config")
        if isinstance(config, dict) and config.get("materialized") == "ephemeral":
            raise _MalformedMetaError(
                f"{self.where}: ephemeral models have no table to query; materialize it or "
                "drop it from the deploy"
            )
        parts = [self.node.get("database"), self.node.get("schema")]
        parts.append(self.node.get("alias") or self.name)
        return ".".join(f'"{part}"' for part in parts if part)

    # -- explore ---------------------------------------------------------------------------

    def explore(
        self, tables: Mapping[str, dict[str, Any]], model_names: set[str]
    ) -> dict[str, Any]:
        """Build the model's explore: its table plus the tables its ``meta.joins`` bring in."""
        base = copy.deepcopy(tables[self.name])
        explore_tables: dict[str, dict[str, Any]] = {self.name: base}
        joined: list[dict[str, Any]] = []
        joins = self.meta.get("joins") or []
        if not isinstance(joins, list):
            raise _MalformedMetaError(f"{self.where}: 'joins' is not a list")
        for position, spec in enumerate(joins, start=1):
            where = f"{self.where}, join #{position}"
            if not isinstance(spec, dict):
                raise _MalformedMetaError(f"{where}: not a mapping")
            target = spec.get("join")
            if not isinstance(target, str) or not target:
                raise _MalformedMetaError(f"{where}: 'join' must name a model")
            where = f"{self.where}, join {target!r}"
            self._warn_unknown(spec, _JOIN_KEYS, where)
            sql_on = spec.get("sql_on")
            if not isinstance(sql_on, str) or not sql_on.strip():
                raise _MalformedMetaError(f"{where}: no 'sql_on'")
            alias = _optional_str(spec, "alias", where)
            table_name = alias or target
            if table_name in explore_tables:
                raise _MalformedMetaError(
                    f"{where}: table {table_name!r} is already in the explore; "
                    "give this join an 'alias'"
                )
            join_type = spec.get("type")
            if join_type is not None and join_type not in JOIN_TYPES:
                raise _MalformedMetaError(
                    f"{where}: type {join_type!r} is not one of {', '.join(sorted(JOIN_TYPES))}"
                )
            fields = spec.get("fields")
            if fields is not None and (
                not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
            ):
                raise _MalformedMetaError(f"{where}: 'fields' must be a list of field names")

            if target not in model_names:
                self.warnings.append(
                    f"{where}: skipped, there is no model {target!r} in the manifest"
                )
                continue
            if target not in tables:
                self.warnings.append(f"{where}: skipped, model {target!r} could not be converted")
                continue
            explore_tables[table_name] = self._joined_table(
                tables[target], table_name, spec, sql_on, fields, where
            )
            entry: dict[str, Any] = {"table": table_name, "sqlOn": sql_on}
            for key, wire_key in (
                ("type", "type"),
                ("label", "label"),
                ("fields", "fields"),
                ("hidden", "hidden"),
                ("always", "always"),
                ("relationship", "relationship"),
            ):
                if spec.get(key) is not None:
                    entry[wire_key] = spec[key]
            joined.append(entry)

        self._check_join_references(explore_tables, joined)
        return {
            "name": self.name,
            "label": base["label"],
            "baseTable": self.name,
            "tags": self._tags(),
            "tables": explore_tables,
            "joinedTables": joined,
        }

    def _joined_table(
        self,
        source: Mapping[str, Any],
        table_name: str,
        spec: Mapping[str, Any],
        sql_on: str,
        fields: list[str] | None,
        where: str,
    ) -> dict[str, Any]:
        """The joined model's table as Lightdash puts it in an explore (see exploreCompiler.ts)."""
        hidden = _optional_bool(spec, "hidden", where)
        alias = _optional_str(spec, "alias", where)
        label = (
            _optional_str(spec, "label", where)
            or (alias and _friendly_name(alias))
            or source["label"]
        )
        # Dimensions this join's own condition uses must exist even when `fields` leaves them out.
        needed = {
            field_name
            for ref_table, field_name in _references(sql_on, table_name)
            if ref_table == table_name
        }
        if fields is not None:
            known = set(source["dimensions"]) | set(source["metrics"])
            for missing in [name for name in fields if name not in known]:
                self.warnings.append(
                    f"{where}: field {missing!r} is not a dimension or metric of "
                    f"{source['name']!r}; ignored"
                )
        dimensions: dict[str, dict[str, Any]] = {}
        for key, dimension in source["dimensions"].items():
            interval_base = dimension.get("timeIntervalBaseDimensionName")
            visible = (
                fields is None
                or key in fields
                or (interval_base is not None and interval_base in fields)
            )
            if visible or key in needed:
                dimensions[key] = {
                    **copy.deepcopy(dimension),
                    "table": table_name,
                    "hidden": hidden or dimension["hidden"] or not visible,
                }
        metrics = {
            key: {
                **copy.deepcopy(metric),
                "table": table_name,
                "hidden": hidden or metric["hidden"],
            }
            for key, metric in source["metrics"].items()
            if fields is None or key in fields
        }
        table = {
            **copy.deepcopy(dict(source)),
            "name": table_name,
            "label": label,
            "description": spec.get("description") or source["description"],
            "dimensions": dimensions,
            "metrics": metrics,
        }
        if table_name != source["name"]:
            table["originalName"] = source["name"]
        if hidden:
            table["hidden"] = True
        return table

    def _check_join_references(
        self, tables: Mapping[str, Mapping[str, Any]], joined: Iterable[Mapping[str, Any]]
    ) -> None:
        for join in joined:
            for ref_table, field_name in _references(join["sqlOn"], join["table"]):
                if ref_table not in tables:
                    self.warnings.append(
                        f"{self.where}, join {join['table']!r}: sql_on refers to table "
                        f"{ref_table!r}, which is not in the explore"
                    )
                elif field_name not in tables[ref_table]["dimensions"]:
                    self.warnings.append(
                        f"{self.where}, join {join['table']!r}: sql_on refers to "
                        f"{ref_table}.{field_name}, which is not a dimension of the explore"
                    )

    def _tags(self) -> list[str]:
        config = self.node.get("config")
        config_tags = config.get("tags") if isinstance(config, dict) else None
        if isinstance(config_tags, str):
            config_tags = [config_tags]
        tags = config_tags or self.node.get("tags") or []
        return [str(tag) for tag in tags]

    def _warn_unknown(
        self, mapping: Mapping[str, Any], allowed: frozenset[str], where: str
    ) -> None:
        for key in mapping:
            if key not in allowed:
                self.warnings.append(f"{where}: unknown key {key!r} ignored")


def dimension_type_for(data_type: str) -> str:
    """Map a warehouse column type (dbt's ``data_type``) to a Lightdash dimension type.

    Integers, decimals and floats are ``number``; ``bool``/``boolean`` is ``boolean``; ``date``
    is ``date``; ``timestamp…`` and ``datetime`` are ``timestamp``; anything else (text, time of
    day, json, arrays, ...) is ``string``. Case and parameters (``numeric(10,2)``) are ignored.
    """
    base = data_type.strip().lower().split("(", 1)[0].strip()
    if base in ("bool", "boolean"):
        return "boolean"
    if base == "date":
        return "date"
    if base.startswith(("timestamp", "datetime")):
        return "timestamp"
    if base.startswith(
        (
            "int",
            "bigint",
            "smallint",
            "tinyint",
            "mediumint",
            "hugeint",
            "uhugeint",
            "ubigint",
            "uinteger",
            "usmallint",
            "utinyint",
            "byteint",
            "numeric",
            "bignumeric",
            "decimal",
            "number",
            "float",
            "double",
            "real",
        )
    ):
        return "number"
    return "string"


def _merged_meta(node: Mapping[str, Any], where: str) -> dict[str, Any]:
    meta = node.get("meta")
    config = node.get("config")
    config_meta = config.get("meta") if isinstance(config, dict) else None
    for value, key in ((meta, "meta"), (config_meta, "config.meta")):
        if value is not None and not isinstance(value, dict):
            raise _MalformedMetaError(f"{where}: {key} is not a mapping")
    return _deep_merge(config_meta or {}, meta or {})


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``, recursing into mappings; lists are replaced, not merged."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _mapping(meta: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = meta.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _MalformedMetaError(f"{where}: {key!r} is not a mapping")
    return value


def _optional_str(spec: Mapping[str, Any], key: str, where: str) -> str | None:
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _MalformedMetaError(f"{where}: {key!r} must be a string, got {value!r}")
    return value


def _optional_bool(spec: Mapping[str, Any], key: str, where: str) -> bool:
    value = spec.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _MalformedMetaError(f"{where}: {key!r} must be true or false, got {value!r}")
    return value


def _copy_format(spec: Mapping[str, Any], target: dict[str, Any]) -> None:
    # How values are shown (Lightdash's `format`, `round`, `compact` on the field).
    for key in ("format", "round", "compact"):
        if spec.get(key) is not None:
            target[key] = copy.deepcopy(spec[key])


def _metric_filters(filters: Any, where: str) -> list[dict[str, Any]]:
    """YAML metric ``filters`` (``[{dimension: value}]``) as Lightdash's filter rules.

    A value is matched as Lightdash's YAML shorthand: a list is any of its values; ``null`` /
    ``!null``; ``!x`` not x; ``%x%``, ``x%``, ``%x`` contains / starts / ends with (``!%x%`` does
    not contain); ``>5``, ``>=5``, ``<5``, ``<=5`` compare; anything else equals.
    """
    if not isinstance(filters, list):
        raise _MalformedMetaError(f"{where}: 'filters' must be a list of {{dimension: value}}")
    rules: list[dict[str, Any]] = []
    for position, item in enumerate(filters, start=1):
        if not isinstance(item, dict) or not item:
            raise _MalformedMetaError(f"{where}: filter #{position} must be {{dimension: value}}")
        for dimension, value in item.items():
            operator, values = _filter_shorthand(value)
            rules.append(
                {
                    "id": f"{where}#{position}:{dimension}",
                    "target": {"fieldRef": str(dimension)},
                    "operator": operator,
                    "values": values,
                }
            )
    return rules


def _filter_shorthand(value: Any) -> tuple[str, list[Any]]:
    if isinstance(value, list):
        return "equals", list(value)
    if not isinstance(value, str):
        return "equals", [value]
    text = value.strip()
    if text == "null":
        return "isNull", []
    if text == "!null":
        return "notNull", []
    for prefix, operator in ((">=", "greaterThanOrEqual"), ("<=", "lessThanOrEqual"),
                             (">", "greaterThan"), ("<", "lessThan")):  # fmt: skip
        if text.startswith(prefix):
            number = text[len(prefix) :].strip()
            try:
                return operator, [float(number) if "." in number else int(number)]
            except ValueError:
                return operator, [number]
    negated = text.startswith("!")
    body = text[1:] if negated else text
    if len(body) > 1 and body.startswith("%") and body.endswith("%"):
        return ("doesNotInclude" if negated else "include"), [body[1:-1]]
    if not negated and body.endswith("%") and len(body) > 1:
        return "startsWith", [body[:-1]]
    if not negated and body.startswith("%") and len(body) > 1:
        return "endsWith", [body[1:]]
    return ("notEquals" if negated else "equals"), [body]


def _copy_attributes(spec: Mapping[str, Any], target: dict[str, Any]) -> None:
    # Access rules travel with the field so the query side can still enforce them.
    if spec.get("required_attributes"):
        target["requiredAttributes"] = copy.deepcopy(spec["required_attributes"])
    if spec.get("any_attributes"):
        target["anyAttributes"] = copy.deepcopy(spec["any_attributes"])


def _references(sql: str, current_table: str) -> list[tuple[str, str]]:
    """``(table, field)`` for each ``${table.field}`` / ``${field}`` in ``sql``."""
    references = []
    for reference in _REFERENCE.findall(sql):
        if reference == "TABLE":
            continue
        table, _, field_name = reference.rpartition(".")
        references.append((table or current_table, field_name))
    return references


def _friendly_name(text: str) -> str:
    """Lightdash's friendlyName: ``order_date`` -> ``Order date``, ``userID`` -> ``User id``."""
    if text == text.upper():
        text = text.lower()
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)
    spaced = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", spaced)
    spaced = re.sub(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])", " ", spaced)
    words = [word.lower() for word in re.findall(r"[^\W_]+", spaced)]
    if not words:
        return text
    return " ".join([words[0].capitalize(), *words[1:]])
