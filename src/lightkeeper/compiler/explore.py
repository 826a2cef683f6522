"""An explore's fields and their SQL: field ids, `${…}` references, time intervals.

The explore is the JSON a deploy stored (Lightdash's shape: ``baseTable``, ``tables`` by name
with ``dimensions``/``metrics``, ``joinedTables``). Its SQL is the model's own — written by the
project's developers, deployed with `manage:DeployProject` — and is the only SQL text this
compiler parses besides a table calculation (which `table_calcs` checks node by node).

- A field id is ``{table}_{field}``, the table being its name in the explore (a join's alias).
- ``${TABLE}`` is the field's table; ``${field}`` a dimension of the same table;
  ``${table.field}`` a dimension of another table; each becomes the referenced dimension's SQL.
- A time interval dimension (``timeInterval`` + ``timeIntervalBaseDimensionName``) is built
  here from its base dimension, for the dialect and the query's timezone, rather than from the
  deployed SQL. Timestamps are taken to be stored in UTC: with a query timezone other than UTC,
  every selected or filtered timestamp dimension (and each interval of one) is converted into
  it (``(x AT TIME ZONE 'UTC') AT TIME ZONE '<zone>'``); dates are left alone. A base ``date``/``timestamp`` dimension also answers ``_raw``, ``_day``,
  ``_week``, ``_month``, ``_quarter`` and ``_year`` ids the deploy did not list.
- ``${lightdash.…}`` / ``${ld.…}`` (user attributes) are refused: Lightkeeper has none, and a
  row filter that cannot be applied must not be dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlglot import exp

from lightkeeper.compiler.errors import CompileError, FieldReferenceError

Dialect = Literal["duckdb", "postgres"]

REFERENCE = re.compile(r"\$\{([^}]*)\}")
DEFAULT_INTERVALS = ("RAW", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR")
TRUNCATIONS = ("MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR")
DATE_TRUNCATIONS = ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR")
_PARTS = {
    "WEEK_NUM": "WEEK",
    "MONTH_NUM": "MONTH",
    "DAY_OF_WEEK_INDEX": "DOW",
    "DAY_OF_MONTH_NUM": "DAY",
    "DAY_OF_YEAR_NUM": "DOY",
    "QUARTER_NUM": "QUARTER",
    "YEAR_NUM": "YEAR",
    "HOUR_OF_DAY_NUM": "HOUR",
    "MINUTE_OF_HOUR_NUM": "MINUTE",
}
_NAMES = {
    "DAY_OF_WEEK_NAME": ("'FMDay'", "'%A'"),
    "MONTH_NAME": ("'FMMonth'", "'%B'"),
}
_LABELS = {
    "RAW": "raw",
    "DAY": "day",
    "WEEK": "week",
    "MONTH": "month",
    "QUARTER": "quarter",
    "YEAR": "year",
}
AGGREGATE_METRICS = frozenset(
    {
        "count",
        "count_distinct",
        "sum",
        "average",
        "min",
        "max",
        "median",
        "percentile",
        "sum_distinct",
        "average_distinct",
        "variance",
        "standard_deviation",
    }
)
POST_METRICS = frozenset({"number", "string", "date", "timestamp", "boolean"})


def quote(name: str) -> str:
    """A double-quoted SQL identifier (both dialects), quotes inside doubled."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Field:
    """One dimension or metric of the explore, with the id the query uses."""

    id: str
    table: str
    name: str
    kind: Literal["dimension", "metric"]
    spec: dict[str, Any]
    interval: str | None = None  # set on time-interval dimensions
    base: str | None = None  # the interval's base dimension name

    @property
    def type(self) -> str:
        return str(self.spec.get("type") or "string")


@dataclass
class ExploreModel:
    """The explore, indexed: tables by name, fields by id."""

    name: str
    base_table: str
    tables: dict[str, dict[str, Any]]
    joins: list[dict[str, Any]]
    fields: dict[str, Field] = field(default_factory=dict)

    @classmethod
    def read(cls, explore: Mapping[str, Any]) -> ExploreModel:
        tables = explore.get("tables")
        base = explore.get("baseTable")
        if not isinstance(tables, dict) or not isinstance(base, str) or base not in tables:
            raise CompileError(
                f"Explore {explore.get('name')!r} has no base table: deploy it again"
            )
        joins = [j for j in explore.get("joinedTables") or [] if isinstance(j, dict)]
        model = cls(str(explore.get("name") or base), base, tables, joins)
        for table_name, table in tables.items():
            if not isinstance(table, dict):
                continue
            for name, spec in (table.get("dimensions") or {}).items():
                if isinstance(spec, dict):
                    model._add_dimension(table_name, str(name), spec)
            for name, spec in (table.get("metrics") or {}).items():
                if isinstance(spec, dict):
                    model.fields.setdefault(
                        f"{table_name}_{name}",
                        Field(f"{table_name}_{name}", table_name, str(name), "metric", spec),
                    )
        model._add_default_intervals()
        return model

    def _add_dimension(self, table: str, name: str, spec: dict[str, Any]) -> None:
        interval = spec.get("timeInterval")
        base = spec.get("timeIntervalBaseDimensionName")
        field_id = f"{table}_{name}"
        self.fields[field_id] = Field(
            field_id,
            table,
            name,
            "dimension",
            spec,
            interval=str(interval).upper() if interval and base else None,
            base=str(base) if interval and base else None,
        )

    def _add_default_intervals(self) -> None:
        for item in list(self.fields.values()):
            if item.kind != "dimension" or item.interval or item.type not in ("date", "timestamp"):
                continue
            for interval in DEFAULT_INTERVALS:
                field_id = f"{item.id}_{interval.lower()}"
                if field_id in self.fields:
                    continue
                label = item.spec.get("label") or item.name
                spec = {
                    **item.spec,
                    "name": f"{item.name}_{interval.lower()}",
                    "label": f"{label} {_LABELS[interval]}",
                    "type": item.type if interval == "RAW" else "date",
                    "timeInterval": interval,
                    "timeIntervalBaseDimensionName": item.name,
                }
                spec.pop("isIntervalBase", None)
                self.fields[field_id] = Field(
                    field_id,
                    item.table,
                    spec["name"],
                    "dimension",
                    spec,
                    interval=interval,
                    base=item.name,
                )

    # -- lookups -------------------------------------------------------------------------------

    def dimension(self, field_id: str) -> Field:
        found = self.fields.get(field_id)
        if found is None or found.kind != "dimension":
            raise FieldReferenceError(
                f"Dimension {field_id!r} does not exist in explore {self.name!r}",
                {"fieldId": field_id},
            )
        return found

    def metric(self, field_id: str) -> Field:
        found = self.fields.get(field_id)
        if found is None or found.kind != "metric":
            raise FieldReferenceError(
                f"Metric {field_id!r} does not exist in explore {self.name!r}",
                {"fieldId": field_id},
            )
        return found

    def field_named(self, table: str, name: str, kind: str) -> Field:
        found = self.fields.get(f"{table}_{name}")
        if found is not None and found.spec.get("isCustomDimension"):
            found = None
        if found is None or found.kind != kind or found.table != table:
            # `{a}_{b}` ids can collide across tables; fall back to an exact search.
            for candidate in self.fields.values():
                if (
                    candidate.table == table
                    and candidate.name == name
                    and candidate.kind == kind
                    and not candidate.spec.get("isCustomDimension")
                ):
                    return candidate
            raise CompileError(
                f"Explore {self.name!r}: {table}.{name} is referenced but is not a {kind} "
                "of the explore; fix the model and deploy again"
            )
        return found

    def table(self, name: str) -> dict[str, Any]:
        table = self.tables.get(name)
        if not isinstance(table, dict):
            raise CompileError(f"Explore {self.name!r} has no table {name!r}")
        return table


def split_reference(reference: str, current_table: str) -> tuple[str, str]:
    """``table.field`` or ``field`` (of the current table) -> (table, field)."""
    table, _, name = reference.strip().rpartition(".")
    return (table or current_table, name)


def refuse_user_attributes(sql: str, where: str) -> None:
    for reference in REFERENCE.findall(sql):
        if reference.startswith(("lightdash.", "ld.")):
            raise CompileError(
                f"{where} uses the user attribute ${{{reference}}}; Lightkeeper has no user "
                "attributes, so this table or field cannot be queried"
            )


class SqlRenderer:
    """Turns the explore's SQL templates into SQL text for one dialect and timezone."""

    def __init__(self, model: ExploreModel, dialect: Dialect, timezone: str) -> None:
        self.model = model
        self.dialect = dialect
        self.timezone = timezone
        self._dimensions: dict[str, str] = {}

    def table_reference(self, table: str) -> str:
        return quote(table)

    def output_sql(self, item: Field) -> str:
        """The dimension as the query selects and filters it: timestamps in the query's zone."""
        sql = self.dimension_sql(item)
        return sql if item.interval else self.localized(sql, item.type)

    def dimension_sql(self, item: Field, _seen: frozenset[str] = frozenset()) -> str:
        """The dimension's SQL, references resolved (cached per dimension); timestamps in UTC
        except an interval's, which `interval_sql` converts once."""
        if item.id in self._dimensions:
            return self._dimensions[item.id]
        if item.id in _seen:
            raise CompileError(f"Dimension {item.id!r} refers to itself through its SQL")
        seen = _seen | {item.id}
        if item.interval and item.base:
            base = self.model.field_named(item.table, item.base, "dimension")
            sql = self.interval_sql(item.interval, base, seen)
        else:
            sql = self.template(
                str(item.spec.get("sql") or ""), item.table, f"Dimension {item.id!r}", seen
            )
            if not sql.strip():
                raise CompileError(f"Dimension {item.id!r} has no sql")
        self._dimensions[item.id] = sql
        return sql

    def template(self, sql: str, table: str, where: str, seen: frozenset[str] = frozenset()) -> str:
        """``sql`` with ``${TABLE}`` and dimension references replaced."""
        refuse_user_attributes(sql, where)

        def replace(match: re.Match[str]) -> str:
            reference = match.group(1).strip()
            if reference == "TABLE":
                return self.table_reference(table)
            ref_table, name = split_reference(reference, table)
            target = self.model.field_named(ref_table, name, "dimension")
            return f"({self.dimension_sql(target, seen)})"

        return REFERENCE.sub(replace, sql)

    def localized(self, sql: str, dimension_type: str) -> str:
        """A timestamp converted from UTC into the query's timezone (dates are left alone)."""
        if dimension_type != "timestamp" or self.timezone == "UTC":
            return sql
        # The zone was checked against the tz database; sqlglot renders the literal.
        zone = exp.Literal.string(self.timezone).sql(self.dialect)
        return f"((({sql}) AT TIME ZONE 'UTC') AT TIME ZONE {zone})"

    def interval_sql(self, interval: str, base: Field, seen: frozenset[str]) -> str:
        raw = self.localized(self.dimension_sql(base, seen), base.type)
        if interval == "RAW":
            return raw
        if interval in TRUNCATIONS:
            truncated = f"DATE_TRUNC('{interval}', CAST({raw} AS TIMESTAMP))"
            return f"CAST({truncated} AS DATE)" if interval in DATE_TRUNCATIONS else truncated
        if interval in _PARTS:
            return f"EXTRACT({_PARTS[interval]} FROM {raw})"
        if interval in _NAMES:
            postgres_format, duckdb_format = _NAMES[interval]
            if self.dialect == "postgres":
                return f"TO_CHAR({raw}, {postgres_format})"
            return f"STRFTIME({raw}, {duckdb_format})"
        if interval == "QUARTER_NAME":
            return f"('Q' || CAST(EXTRACT(QUARTER FROM {raw}) AS INTEGER))"
        raise CompileError(f"Dimension {base.id!r}: time interval {interval!r} is not supported")
