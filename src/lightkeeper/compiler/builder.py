"""MetricQuery -> one SQL statement, built as a sqlglot tree.

Shape (one statement; the CTEs appear only when needed):

    WITH cte_keys_<t>    AS (SELECT DISTINCT <dimensions>, <t's primary key> FROM <joins> WHERE …),
         cte_metrics_<t> AS (SELECT <dimensions>, <t's metrics> FROM cte_keys_<t>
                             LEFT JOIN <t> ON <primary key> GROUP BY <dimensions>),
         cte_unaffected  AS (SELECT <dimensions>, <other metrics> FROM <joins> WHERE … GROUP BY …),
         metrics         AS (cte_unaffected joined to each cte_metrics_<t> on the dimensions),
         post_metrics    AS (SELECT *, <number/string/date/boolean metrics> FROM metrics),
         table_calculations AS (SELECT *, <table calculations> FROM …)
    SELECT <selected fields> FROM … WHERE <metric and table-calculation filters>
    ORDER BY … LIMIT n

**No fan-out.** When a query joins tables, the metrics of a table are computed over the distinct
primary keys of that table within each group (``cte_keys_``/``cte_metrics_``), so a one-to-many
join never counts a row twice: a sum, count or average is the same with or without the join.
Tables without ``primaryKey`` keep the plain join (their metrics could be inflated: a warning
says so). A query on one table, or whose joins are all declared many-to-one/one-to-one from the
base table and selects only base-table metrics, is a single SELECT.

``sum_distinct``/``average_distinct`` sum or average each value once per ``distinctKeys``
within the group (``cte_distinct_<n>``: the distinct (dimensions, keys, value) rows).

Dimension filters go into WHERE (also of every keys CTE); metric filters and table-calculation
filters into the outer query. Sorts are ``NULLS LAST`` unless ``nullsFirst`` says otherwise, so
both dialects order alike.

The query's own fields: ``additionalMetrics`` aggregate one dimension of the explore;
``customDimensions`` are custom SQL (checked like a table calculation, over any dimension) or
bins of a number dimension (``fixed_width``, ``custom_range``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from lightkeeper.compiler.custom import add_query_fields, bin_expression
from lightkeeper.compiler.errors import CompileError, FieldReferenceError
from lightkeeper.compiler.explore import (
    AGGREGATE_METRICS,
    POST_METRICS,
    REFERENCE,
    Dialect,
    ExploreModel,
    Field,
    SqlRenderer,
    refuse_user_attributes,
    split_reference,
)
from lightkeeper.compiler.fields import dimension_out, metric_out, table_calculation_out
from lightkeeper.compiler.filters import FilterCompiler, Target
from lightkeeper.compiler.results import result_columns, result_row
from lightkeeper.compiler.table_calcs import checked_expression, compile_table_calculation
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import ForbiddenError

MAX_FIELDS = 500
_STATEMENTS = (
    exp.Block,
    exp.DDL,
    exp.DML,
    exp.Command,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Set,
    exp.Use,
    exp.Pragma,
    exp.Copy,
)
_TO_ONE = frozenset({"many-to-one", "one-to-one"})
_JOIN_SIDES = {"inner": "INNER", "left": "LEFT", "right": "RIGHT", "full": "FULL"}


@dataclass
class CompiledQuery:
    """The statement and what the API says about it."""

    sql: str
    parameters: list[Any]
    fields: dict[str, dict[str, Any]]
    columns: list[str]
    dialect: Dialect
    metric_query: dict[str, Any]
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def row(self, values: Sequence[Any]) -> dict[str, dict[str, dict[str, Any]]]:
        """A warehouse row (in `columns` order) as Lightdash's ``{id: {value: {raw, formatted}}}``."""
        return result_row(self.fields, self.columns, values)

    def result_columns(self) -> dict[str, dict[str, str]]:
        """Lightdash's ``columns``: ``{id: {reference, type}}``."""
        return result_columns(self.fields, self.columns)


def compile_metric_query(
    explore: Mapping[str, Any],
    metric_query: Mapping[str, Any],
    *,
    dialect: Dialect,
    max_limit: int,
    default_tz: str = "UTC",
    default_limit: int = 500,
    now: datetime | None = None,
) -> CompiledQuery:
    """Compile Lightdash's MetricQuery over ``explore`` to one statement for ``dialect``.

    Rules: see the module docstring. Unknown fields are `FieldReferenceError`, anything else
    that cannot be compiled (bad limit, filter value, table calculation) `CompileError`; both
    400. Nothing the caller sent is pasted into the SQL: values are sqlglot literals, field ids
    are looked up, table calculations are checked node by node.
    """
    if dialect not in ("duckdb", "postgres"):
        raise CompileError(f"Dialect {dialect!r} is not supported")
    if not isinstance(metric_query, Mapping):
        raise CompileError("The metric query must be an object")
    try:
        return _Compilation(
            explore, metric_query, dialect, max_limit, default_tz, default_limit, now
        ).run()
    except RecursionError:
        # sqlglot parses and prints recursively: an expression nested thousands deep.
        raise CompileError(
            "The query is nested too deeply to compile: simplify its table calculations "
            "or custom dimensions"
        ) from None


class FieldCompiler:
    """One explore's fields compiled for a dialect, without a query (compiler/catalogue.py)."""

    def __init__(self, explore: Mapping[str, Any], dialect: Dialect) -> None:
        if dialect not in ("duckdb", "postgres"):
            raise CompileError(f"Dialect {dialect!r} is not supported")
        self._compilation = _Compilation(explore, {}, dialect, 1, "UTC", 500, None)
        self.model = self._compilation.model
        self.dialect = dialect

    def field_sql(self, item: Field) -> str:
        return self._compilation.field_sql(item)

    def metric_type(self, item: Field) -> str:
        return self._compilation.metric_type(item)

    def join_sql(self, join: Mapping[str, Any]) -> str:
        """A join's `sqlOn` as the statement joins it (`compiledSqlOn`)."""
        table = str(join.get("table") or "")
        where = f"Join {table!r}"
        rendered = self._compilation.renderer.template(str(join.get("sqlOn") or ""), table, where)
        return str(self._compilation.parse(rendered, where).sql(self.dialect))


def _is_bare_query(tree: exp.Expr) -> bool:
    return isinstance(tree, exp.Query) and not isinstance(tree, exp.Subquery)


def _ids(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CompileError(f"`{key}` must be a list of field ids")
    return list(dict.fromkeys(value))


class _Compilation:
    def __init__(
        self,
        explore: Mapping[str, Any],
        query: Mapping[str, Any],
        dialect: Dialect,
        max_limit: int,
        default_tz: str,
        default_limit: int,
        now: datetime | None,
    ) -> None:
        self.query = query
        self.dialect = dialect
        self.max_limit = max_limit
        self.default_limit = default_limit
        self.model = ExploreModel.read(explore)
        self.warnings: list[dict[str, Any]] = []
        timezone = query.get("timezone") or default_tz or "UTC"
        if not isinstance(timezone, str):
            raise CompileError("`timezone` must be an IANA time zone name such as Europe/London")
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CompileError(
                f"Unknown timezone {timezone!r}: use an IANA name such as Europe/London or UTC"
            ) from None
        self.timezone = "UTC" if timezone in ("UTC", "Etc/UTC") else timezone
        self.renderer = SqlRenderer(self.model, dialect, self.timezone)
        self.now = now or utcnow()
        self._parsed: dict[str, exp.Expr] = {}
        self._custom: dict[str, exp.Expr] = {}
        add_query_fields(self.model, self.query)

    # -- the query's own fields ----------------------------------------------------------------

    def parse(self, sql: str, where: str) -> exp.Expr:
        """The model's (trusted) SQL text as a tree; cached."""
        if sql not in self._parsed:
            try:
                trees = [t for t in sqlglot.parse(sql, read=self.dialect) if t is not None]
            except (ParseError, TokenError) as error:
                first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
                raise CompileError(f"{where}: its SQL cannot be parsed ({first})") from None
            # Even the model's SQL is one expression: a `;` or a statement never reaches the
            # warehouse (the statement is generated from this tree, so nothing else would).
            if (
                len(trees) != 1
                or _is_bare_query(trees[0])
                or any(isinstance(node, _STATEMENTS) for node in trees[0].walk())
            ):
                raise CompileError(f"{where}: its SQL must be one expression, not a statement")
            self._parsed[sql] = trees[0]
        return self._parsed[sql].copy()

    def dimension_expression(self, item: Field) -> exp.Expr:
        if item.spec.get("isCustomDimension"):
            return self._custom_dimension(item)
        return self.parse(self.renderer.output_sql(item), f"Dimension {item.id!r}")

    def _custom_dimension(self, item: Field) -> exp.Expr:
        """A custom SQL dimension: the caller's expression over the explore's dimensions."""
        if item.spec.get("bin"):
            base = self.model.fields[str(item.spec["binBase"])]
            return bin_expression(item, self.dimension_expression(base))
        if item.id not in self._custom:

            def resolve(reference: str) -> exp.Expr | None:
                table, name = split_reference(reference, item.table)
                found = self.model.fields.get(f"{table}_{name}")
                if (
                    found is None
                    or found.kind != "dimension"
                    or found.spec.get("isCustomDimension")
                ):
                    return None
                return exp.paren(self.dimension_expression(found))

            self._custom[item.id] = checked_expression(
                f"Custom dimension {item.id!r}",
                str(item.spec.get("sql") or ""),
                resolve=resolve,
                dialect=self.dialect,
                unknown="is not a dimension of the explore; refer to dimensions as ${table.field}",
                data={"fieldId": item.id},
            )
        return self._custom[item.id].copy()

    def metric_inner(self, item: Field) -> exp.Expr:
        """What an aggregate metric aggregates: its SQL, NULL where its own filters fail."""
        sql = str(item.spec.get("sql") or "")
        if not sql:
            raise CompileError(f"Metric {item.id!r} has no sql")
        inner = self.parse(
            self.renderer.template(sql, item.table, f"Metric {item.id!r}"), f"Metric {item.id!r}"
        )
        condition = self.metric_condition(item)
        if condition is not None:
            inner = exp.Case(ifs=[exp.If(this=condition, true=inner)], default=exp.Null())
        return inner

    def _distinct_keys(self, item: Field) -> list[str]:
        keys = item.spec.get("distinctKeys") or item.spec.get("distinct_keys")
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            raise CompileError(f"Metric {item.id!r}: type {item.type} needs `distinctKeys`")
        sql_keys = []
        for key in keys:
            table, name = split_reference(key, item.table)
            found = self.model.field_named(table, name, "dimension")
            sql_keys.append(f"${{{found.table}.{found.name}}}")
        return sql_keys

    def aggregate_expression(self, item: Field) -> exp.Expr:
        """An aggregate metric: the function over its (filtered) SQL."""
        spec = item.spec
        kind = str(spec.get("type"))
        if kind == "count" and not spec.get("sql"):
            # A count without sql counts rows (its own filters still apply).
            if self.metric_condition(item) is None:
                return exp.Count(this=exp.Star())
            spec = {**spec, "sql": "1"}
            item = Field(item.id, item.table, item.name, item.kind, spec)
        inner = self.metric_inner(item)
        if kind == "count":
            return exp.Count(this=inner)
        if kind == "count_distinct":
            return exp.Count(this=exp.Distinct(expressions=[inner]))
        if kind in ("sum", "sum_distinct"):
            return exp.Sum(this=inner)
        if kind in ("average", "average_distinct"):
            return exp.Avg(this=inner)
        if kind == "min":
            return exp.Min(this=inner)
        if kind == "max":
            return exp.Max(this=inner)
        if kind == "variance":
            return exp.Variance(this=inner)
        if kind == "standard_deviation":
            return exp.Stddev(this=inner)
        if kind in ("median", "percentile"):
            percentile = 50 if kind == "median" else spec.get("percentile", 50)
            if (
                isinstance(percentile, bool)
                or not isinstance(percentile, int | float)
                or not 0 <= percentile <= 100
            ):
                raise CompileError(f"Metric {item.id!r}: percentile must be a number from 0 to 100")
            return exp.WithinGroup(
                this=exp.PercentileCont(this=exp.Literal.number(str(percentile / 100))),
                expression=exp.Order(expressions=[exp.Ordered(this=inner, nulls_first=False)]),
            )
        raise CompileError(f"Metric {item.id!r}: type {kind!r} is not an aggregate")

    def metric_condition(self, item: Field) -> exp.Expr | None:
        """A metric's own ``filters`` (from the model) as a condition over its table's rows."""
        rules = item.spec.get("filters")
        if not rules:
            return None
        if not isinstance(rules, list):
            raise CompileError(f"Metric {item.id!r}: `filters` must be a list of rules")
        compiler = FilterCompiler(now=self.now, zone=self.zone, where=f"Metric {item.id!r}")

        def resolve(reference: str) -> Target:
            direct = self.model.fields.get(reference)
            if direct is not None and direct.kind == "dimension":
                target = direct
            else:
                table, name = split_reference(reference, item.table)
                target = self.model.field_named(table, name, "dimension")
            return Target(
                self.dimension_expression(target),
                target.type,
            )

        converted = []
        for rule in rules:
            if not isinstance(rule, dict):
                raise CompileError(f"Metric {item.id!r}: every filter is an object")
            target = rule.get("target") or {}
            ref = target.get("fieldRef") or target.get("fieldId")
            converted.append({**rule, "target": {"fieldId": ref}})
        return compiler.group({"and": converted}, resolve)

    def field_sql(self, item: Field) -> str:
        """A dimension's or metric's SQL as a query's `fields` carry it (`compiledSql`): a
        post-aggregate metric is written over its aggregates' columns."""
        if item.kind == "dimension":
            return str(self.dimension_expression(item).sql(self.dialect))
        if item.type in AGGREGATE_METRICS:
            return str(self.aggregate_expression(item).sql(self.dialect))
        aggregates: dict[str, Field] = {}
        posts: dict[str, Field] = {}
        self._collect(item, aggregates, posts, set())
        return str(self._post_expression(item, aggregates, posts, set()).sql(self.dialect))

    # -- the statement -------------------------------------------------------------------------

    def run(self) -> CompiledQuery:
        query = self.query
        dimensions = [self.model.dimension(i) for i in _ids(query.get("dimensions"), "dimensions")]
        metrics = [self.model.metric(i) for i in _ids(query.get("metrics"), "metrics")]
        calcs = self._table_calculation_specs()
        if len(dimensions) + len(metrics) + len(calcs) > MAX_FIELDS:
            raise CompileError(f"A query selects at most {MAX_FIELDS} fields")
        if not dimensions and not metrics:
            raise CompileError("Select at least one dimension or metric")
        limit = self._limit()
        filters = query.get("filters") or {}
        if not isinstance(filters, Mapping):
            raise CompileError(
                "`filters` must be an object with `dimensions`, `metrics`, `tableCalculations`"
            )

        selected_metric_ids = [m.id for m in metrics]
        filter_compiler = FilterCompiler(now=self.now, zone=self.zone, where="filters")

        # Dimension filters: in WHERE, over the dimensions' SQL (any dimension of the explore).
        used_dimensions: dict[str, Field] = {}

        def resolve_dimension(field_id: str) -> Target:
            item = self.model.fields.get(field_id)
            if item is None or item.kind != "dimension":
                raise FieldReferenceError(
                    f"Filter target {field_id!r} is not a dimension of explore {self.model.name!r}",
                    {"fieldId": field_id},
                )
            used_dimensions[item.id] = item
            return Target(
                self.dimension_expression(item),
                item.type,
            )

        where = filter_compiler.group(filters.get("dimensions"), resolve_dimension)

        # Metric filters: after aggregation, over the metric's column (computed if not selected).
        needed_metrics: dict[str, Field] = {m.id: m for m in metrics}

        def resolve_metric(field_id: str) -> Target:
            item = self.model.fields.get(field_id)
            if item is None or item.kind != "metric":
                raise FieldReferenceError(
                    f"Filter target {field_id!r} is not a metric of explore {self.model.name!r}",
                    {"fieldId": field_id},
                )
            needed_metrics[item.id] = item
            return Target(exp.column(item.id, quoted=True), self.metric_type(item))

        having = filter_compiler.group(filters.get("metrics"), resolve_metric)

        # Metrics that other metrics are made of.
        aggregates: dict[str, Field] = {}
        posts: dict[str, Field] = {}
        for item in list(needed_metrics.values()):
            self._collect(item, aggregates, posts, set())

        # Tables the query touches.
        touched = {self.model.base_table}
        for item in [*dimensions, *used_dimensions.values(), *aggregates.values()]:
            touched |= self._tables_of(item)
        joins = self._joins_for(touched)
        self._refuse_attribute_rules(
            [*dimensions, *used_dimensions.values(), *aggregates.values(), *posts.values()],
            {self.model.base_table} | {str(j["table"]) for j in joins},
        )

        # Selected columns, in order: dimensions, metrics, table calculations.
        columns = [d.id for d in dimensions] + selected_metric_ids
        columns += [c["name"] for c in calcs]
        if len(set(columns)) != len(columns):
            raise CompileError("A table calculation has the name of a selected field; rename it")

        stage1, ctes = self._aggregate_stage(dimensions, list(aggregates.values()), joins, where)

        # post-aggregate metrics and table calculations over the metrics CTE
        post_columns = {
            item.id: self._post_expression(item, aggregates, posts, set())
            for item in posts.values()
        }
        refs = {f"{d.table}.{d.name}": d.id for d in dimensions}
        refs.update({f"{m.table}.{m.name}": m.id for m in metrics})
        compiled_calcs: dict[str, exp.Expr] = {}
        for spec in calcs:
            compiled_calcs[spec["name"]] = compile_table_calculation(
                spec["name"],
                spec.get("sql", ""),
                columns=refs,
                earlier=compiled_calcs,
                dialect=self.dialect,
            )

        def resolve_calc(field_id: str) -> Target:
            if field_id not in compiled_calcs:
                raise FieldReferenceError(
                    f"Filter target {field_id!r} is not a table calculation of this query",
                    {"fieldId": field_id},
                )
            spec = next(c for c in calcs if c["name"] == field_id)
            return Target(exp.column(field_id, quoted=True), str(spec.get("type") or "number"))

        calc_filter = filter_compiler.group(filters.get("tableCalculations"), resolve_calc)
        outer_filter = (
            exp.and_(*[c for c in (having, calc_filter) if c is not None])
            if (having or calc_filter)
            else None
        )

        sorts = self._sorts(set(columns))
        simple = not ctes and not post_columns and not compiled_calcs and outer_filter is None
        if simple:
            statement = stage1
            for order in sorts:
                statement = statement.order_by(order, copy=False)
        else:
            ctes.append(("metrics", stage1))
            source = "metrics"
            if post_columns:
                ctes.append(("post_metrics", self._extend(source, post_columns)))
                source = "post_metrics"
            if compiled_calcs:
                ctes.append(("table_calculations", self._extend(source, compiled_calcs)))
                source = "table_calculations"
            statement = exp.select(*[exp.column(c, quoted=True) for c in columns]).from_(
                exp.to_identifier(source, quoted=True)
            )
            if outer_filter is not None:
                statement = statement.where(outer_filter, copy=False)
            for order in sorts:
                statement = statement.order_by(order, copy=False)
            for name, body in ctes:
                statement = statement.with_(
                    exp.to_identifier(name, quoted=True), as_=body, copy=False
                )
        statement = statement.limit(exp.Literal.number(str(limit)), copy=False)
        sql = statement.sql(dialect=self.dialect, pretty=True)

        fields: dict[str, dict[str, Any]] = {}
        overrides = self.query.get("metricOverrides") or {}
        dimension_overrides = self.query.get("dimensionOverrides") or {}
        for item in dimensions:
            fields[item.id] = dimension_out(
                self.model,
                item,
                self.dimension_expression(item).sql(self.dialect),
                dimension_overrides,
            )
        for item in metrics:
            expression = (
                self.aggregate_expression(item)
                if item.id in aggregates
                else post_columns.get(item.id, exp.column(item.id, quoted=True))
            )
            fields[item.id] = metric_out(
                self.model, item, expression.sql(self.dialect), self.metric_type(item), overrides
            )
        for spec in calcs:
            fields[spec["name"]] = table_calculation_out(spec)
        echo = {
            **{k: v for k, v in self.query.items()},
            "dimensions": [d.id for d in dimensions],
            "metrics": selected_metric_ids,
            "limit": limit,
        }
        return CompiledQuery(
            sql=sql,
            parameters=[],
            fields=fields,
            columns=columns,
            dialect=self.dialect,
            metric_query=echo,
            warnings=self.warnings,
        )

    # -- helpers -------------------------------------------------------------------------------

    def _refuse_attribute_rules(self, items: Sequence[Field], tables: set[str]) -> None:
        """Fields and tables the model restricts by user attribute are refused (403).

        Lightkeeper has no user attributes, so nobody is known to hold them: fail closed.
        """
        for item in items:
            if item.spec.get("requiredAttributes") or item.spec.get("anyAttributes"):
                raise ForbiddenError(
                    f"Field {item.id!r} is restricted by user attributes, which Lightkeeper "
                    "does not support; it cannot be queried"
                )
        for name in sorted(tables):
            table = self.model.table(name)
            if table.get("requiredAttributes") or table.get("anyAttributes"):
                raise ForbiddenError(
                    f"Table {name!r} is restricted by user attributes, which Lightkeeper does "
                    "not support; it cannot be queried"
                )

    def _limit(self) -> int:
        limit = self.query.get("limit")
        if limit is None:
            return min(self.default_limit, self.max_limit)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= self.max_limit
        ):
            raise CompileError(
                f"Limit must be a whole number from 1 to {self.max_limit} (this server's "
                "query.maxLimit), got " + repr(limit),
                {"fields": {"limit": f"1..{self.max_limit}"}},
            )
        return limit

    def _table_calculation_specs(self) -> list[dict[str, Any]]:
        specs = self.query.get("tableCalculations") or []
        if not isinstance(specs, list):
            raise CompileError("`tableCalculations` must be a list")
        seen: dict[str, dict[str, Any]] = {}
        for spec in specs:
            if not isinstance(spec, dict):
                raise CompileError("Every table calculation is an object with `name` and `sql`")
            name = spec.get("name")
            if (
                not isinstance(name, str)
                or not name.strip()
                or len(name) > 255
                or any(ord(c) < 32 for c in name)
            ):
                raise CompileError(
                    "Every table calculation needs a `name` (at most 255 characters)"
                )
            if spec.get("type") not in (None, "number", "string", "date", "timestamp", "boolean"):
                raise CompileError(f"Table calculation {name!r}: unknown type {spec.get('type')!r}")
            seen.setdefault(name, spec)
        return list(seen.values())

    def metric_type(self, item: Field) -> str:
        """The type of a metric's values, for filters and formatting."""
        kind = item.type
        if kind in ("string", "date", "timestamp", "boolean"):
            return kind
        if kind in ("min", "max"):
            sql = str(item.spec.get("sql") or "")
            for reference in REFERENCE.findall(sql):
                if reference == "TABLE":
                    continue
                table, name = split_reference(reference, item.table)
                found = self.model.fields.get(f"{table}_{name}")
                if found is not None and found.kind == "dimension":
                    return found.type
            for candidate in self.model.fields.values():
                if (
                    candidate.kind == "dimension"
                    and candidate.table == item.table
                    and candidate.spec.get("sql") == sql
                ):
                    return candidate.type
        return "number"

    def _collect(
        self, item: Field, aggregates: dict[str, Field], posts: dict[str, Field], seen: set[str]
    ) -> None:
        if item.id in seen:
            raise CompileError(f"Metric {item.id!r} refers to itself")
        if item.type in AGGREGATE_METRICS:
            aggregates[item.id] = item
            return
        if item.type not in POST_METRICS:
            raise CompileError(f"Metric {item.id!r}: type {item.type!r} is not supported")
        posts[item.id] = item
        for reference in REFERENCE.findall(str(item.spec.get("sql") or "")):
            table, name = split_reference(reference, item.table)
            target = self.model.field_named(table, name, "metric")
            self._collect(target, aggregates, posts, seen | {item.id})

    def _post_expression(
        self, item: Field, aggregates: dict[str, Field], posts: dict[str, Field], seen: set[str]
    ) -> exp.Expr:
        sql = str(item.spec.get("sql") or "")
        refuse_user_attributes(sql, f"Metric {item.id!r}")
        pieces: list[exp.Expr] = []

        def swap(match: Any) -> str:
            table, name = split_reference(match.group(1), item.table)
            target = self.model.field_named(table, name, "metric")
            if target.id in aggregates:
                pieces.append(exp.column(target.id, quoted=True))
            else:
                pieces.append(
                    exp.paren(self._post_expression(target, aggregates, posts, seen | {item.id}))
                )
            return f"__lk_metric_{len(pieces) - 1}__"

        tree = self.parse(REFERENCE.sub(swap, sql), f"Metric {item.id!r}")

        def restore(node: exp.Expr) -> exp.Expr:
            if (
                isinstance(node, exp.Column)
                and not node.table
                and node.name.startswith("__lk_metric_")
            ):
                return pieces[int(node.name[len("__lk_metric_") : -2])].copy()
            return node

        return tree.transform(restore)

    def _tables_of(self, item: Field) -> set[str]:
        """The tables a field's SQL reads (its own and those its references reach)."""
        tables = {item.table}
        stack = [item]
        seen: set[str] = set()
        while stack:
            current = stack.pop()
            if current.id in seen:
                continue
            seen.add(current.id)
            tables.add(current.table)
            if current.interval and current.base:
                stack.append(self.model.field_named(current.table, current.base, "dimension"))
                continue
            for reference in REFERENCE.findall(str(current.spec.get("sql") or "")):
                if reference.strip() == "TABLE" or reference.startswith(("lightdash.", "ld.")):
                    continue
                table, name = split_reference(reference, current.table)
                found = self.model.fields.get(f"{table}_{name}")
                if found is not None and found.kind == "dimension":
                    stack.append(found)
        return tables

    def _joins_for(self, touched: set[str]) -> list[dict[str, Any]]:
        """The explore's joins the query needs, in the explore's order (chains included)."""
        by_table = {str(j.get("table")): j for j in self.model.joins}
        needed = {t for t in touched if t != self.model.base_table}
        needed |= {t for t, j in by_table.items() if j.get("always")}
        changed = True
        while changed:
            changed = False
            for table in list(needed):
                join = by_table.get(table)
                if join is None:
                    raise CompileError(
                        f"Explore {self.model.name!r}: table {table!r} is used but not joined"
                    )
                for reference in REFERENCE.findall(str(join.get("sqlOn") or "")):
                    ref_table, _ = split_reference(reference, table)
                    if ref_table != self.model.base_table and ref_table not in needed:
                        needed.add(ref_table)
                        changed = True
        return [j for j in self.model.joins if str(j.get("table")) in needed]

    def _from(self, joins: Sequence[Mapping[str, Any]]) -> tuple[exp.Expr, list[exp.Join]]:
        base = self._table_source(self.model.base_table)
        clauses = []
        for join in joins:
            table = str(join["table"])
            on_sql = self.renderer.template(str(join.get("sqlOn") or ""), table, f"Join {table!r}")
            side = _JOIN_SIDES.get(str(join.get("type") or "left"), "LEFT")
            node = exp.Join(
                this=self._table_source(table),
                on=self.parse(on_sql, f"Join {table!r}"),
                side=side if side != "INNER" else None,
                kind="INNER" if side == "INNER" else None,
            )
            clauses.append(node)
        return base, clauses

    def _table_source(self, name: str) -> exp.Expr:
        table = self.model.table(name)
        sql_table = table.get("sqlTable")
        if not isinstance(sql_table, str) or not sql_table.strip():
            raise CompileError(f"Table {name!r} of explore {self.model.name!r} has no sqlTable")
        source: exp.Expr | None
        try:
            source = sqlglot.parse_one(sql_table, read=self.dialect, into=exp.Table)
        except (ParseError, TokenError):
            # `sql_from` may be a parenthesised query of the model's own.
            source = self.parse(sql_table, f"Table {name!r} (sqlTable)")
        if not isinstance(source, exp.Table | exp.Subquery):
            raise CompileError(f"Table {name!r}: its sqlTable must be a table name or a (subquery)")
        return exp.alias_(source, exp.to_identifier(name, quoted=True), table=True)

    def _table_filters(self, tables: set[str]) -> list[exp.Expr]:
        """Each touched table's own ``sqlWhere`` (the model's row filter)."""
        conditions: list[exp.Expr] = []
        for name in sorted(tables):
            sql_where = self.model.table(name).get("sqlWhere")
            if sql_where:
                rendered = self.renderer.template(
                    str(sql_where), name, f"Table {name!r} (sql_filter)"
                )
                conditions.append(exp.paren(self.parse(rendered, f"Table {name!r} (sql_filter)")))
        return conditions

    def _aggregate_stage(
        self,
        dimensions: list[Field],
        aggregates: list[Field],
        joins: list[dict[str, Any]],
        where: exp.Expr | None,
    ) -> tuple[exp.Select, list[tuple[str, exp.Expr]]]:
        tables = {self.model.base_table} | {str(j["table"]) for j in joins}
        conditions = [*self._table_filters(tables), *([where] if where is not None else [])]
        condition = exp.and_(*conditions) if conditions else None
        base, clauses = self._from(joins)

        def joined_select(*projections: exp.Expr) -> exp.Select:
            select = exp.select(*projections).from_(base.copy())
            for clause in clauses:
                select = select.join(clause.copy(), copy=False)
            if condition is not None:
                select = select.where(condition.copy(), copy=False)
            return select

        dims = [exp.alias_(self.dimension_expression(d), d.id, quoted=True) for d in dimensions]
        group = [exp.Literal.number(str(i + 1)) for i in range(len(dims))]

        # Which tables' metrics need protection from fan-out.
        protected: dict[str, list[Field]] = {}
        plain: list[Field] = []
        all_to_one = all(str(j.get("relationship")) in _TO_ONE for j in joins)
        distinct = [m for m in aggregates if m.type in ("sum_distinct", "average_distinct")]
        for item in aggregates:
            if item in distinct:
                continue
            own_table_only = self._tables_of_metric(item) <= {item.table}
            safe = not joins or (item.table == self.model.base_table and all_to_one)
            if safe or (
                item.type in ("min", "max", "count_distinct") and not item.spec.get("filters")
            ):
                plain.append(item)
            elif self._primary_key(item.table) and own_table_only:
                protected.setdefault(item.table, []).append(item)
            else:
                plain.append(item)
                why = (
                    f"its table `{item.table}` has no primary key"
                    if own_table_only
                    else "its SQL reads another table's fields"
                )
                self.warnings.append(
                    {
                        "message": f"Metric `{item.id}` may be inflated by a join: {why}",
                        "fields": [item.id],
                        "tables": [item.table],
                    }
                )

        def aggregate_select(items: list[Field]) -> exp.Select:
            select = joined_select(
                *[d.copy() for d in dims],
                *[exp.alias_(self.aggregate_expression(m), m.id, quoted=True) for m in items],
            )
            if group:
                select = select.group_by(*[g.copy() for g in group], copy=False)
            return select

        if not protected and not distinct:
            return aggregate_select(plain), []

        ctes: list[tuple[str, exp.Expr]] = []
        dim_ids = [d.id for d in dimensions]
        parts: list[tuple[str, list[Field]]] = []
        if plain or not (protected or distinct):
            ctes.append(("cte_unaffected", aggregate_select(plain)))
            parts.append(("cte_unaffected", plain))
        for table, items in protected.items():
            keys = self._primary_key(table)
            key_columns = [
                exp.alias_(
                    self.parse(
                        self.renderer.template(k, table, f"Table {table!r} primary key"),
                        f"Table {table!r}",
                    ),
                    f"__pk_{i}",
                    quoted=True,
                )
                for i, k in enumerate(keys)
            ]
            keys_name = f"cte_keys_{table}"
            keys_select = joined_select(*[d.copy() for d in dims], *key_columns).distinct(
                copy=False
            )
            ctes.append((keys_name, keys_select))
            on = exp.and_(
                *[
                    exp.EQ(
                        this=exp.column(f"__pk_{i}", table=keys_name, quoted=True),
                        expression=self.parse(
                            self.renderer.template(k, table, f"Table {table!r} primary key"),
                            f"Table {table!r}",
                        ),
                    )
                    for i, k in enumerate(keys)
                ]
            )
            metrics_select = exp.select(
                *[
                    exp.alias_(exp.column(d, table=keys_name, quoted=True), d, quoted=True)
                    for d in dim_ids
                ],
                *[exp.alias_(self.aggregate_expression(m), m.id, quoted=True) for m in items],
            ).from_(exp.to_identifier(keys_name, quoted=True))
            metrics_select = metrics_select.join(
                self._table_source(table), on=on, join_type="left", copy=False
            )
            if group:
                metrics_select = metrics_select.group_by(*[g.copy() for g in group], copy=False)
            metrics_name = f"cte_metrics_{table}"
            ctes.append((metrics_name, metrics_select))
            parts.append((metrics_name, items))
        for position, item in enumerate(distinct):
            # Each value once per distinct key within the group (Lightdash's distinct_keys).
            keys = self._distinct_keys(item)
            key_columns = [
                exp.alias_(
                    self.parse(
                        self.renderer.template(k, item.table, f"Metric {item.id!r}"),
                        f"Metric {item.id!r}",
                    ),
                    f"__pk_{i}",
                    quoted=True,
                )
                for i, k in enumerate(keys)
            ]
            values_name = f"cte_distinct_{position}"
            values_select = joined_select(
                *[d.copy() for d in dims],
                *key_columns,
                exp.alias_(self.metric_inner(item), "__value", quoted=True),
            ).distinct(copy=False)
            ctes.append((values_name, values_select))
            value = exp.column("__value", table=values_name, quoted=True)
            total = exp.Sum(this=value) if item.type == "sum_distinct" else exp.Avg(this=value)
            distinct_select = exp.select(
                *[
                    exp.alias_(exp.column(d, table=values_name, quoted=True), d, quoted=True)
                    for d in dim_ids
                ],
                exp.alias_(total, item.id, quoted=True),
            ).from_(exp.to_identifier(values_name, quoted=True))
            if group:
                distinct_select = distinct_select.group_by(*[g.copy() for g in group], copy=False)
            metrics_name = f"cte_metrics_distinct_{position}"
            ctes.append((metrics_name, distinct_select))
            parts.append((metrics_name, [item]))

        first_name, _first_items = parts[0]
        projections: list[exp.Expr] = [
            exp.alias_(exp.column(d, table=first_name, quoted=True), d, quoted=True)
            for d in dim_ids
        ]
        for name, items in parts:
            projections += [
                exp.alias_(exp.column(m.id, table=name, quoted=True), m.id, quoted=True)
                for m in items
            ]
        combined = exp.select(*projections).from_(exp.to_identifier(first_name, quoted=True))
        for name, _items in parts[1:]:
            if dim_ids:
                on = exp.and_(
                    *[
                        exp.NullSafeEQ(
                            this=exp.column(d, table=first_name, quoted=True),
                            expression=exp.column(d, table=name, quoted=True),
                        )
                        for d in dim_ids
                    ]
                )
                combined = combined.join(
                    exp.to_identifier(name, quoted=True), on=on, join_type="inner", copy=False
                )
            else:
                combined = combined.join(
                    exp.to_identifier(name, quoted=True), join_type="cross", copy=False
                )
        return combined, ctes

    def _tables_of_metric(self, item: Field) -> set[str]:
        tables = {item.table}
        for reference in REFERENCE.findall(str(item.spec.get("sql") or "")):
            if reference.strip() == "TABLE":
                continue
            table, name = split_reference(reference, item.table)
            found = self.model.fields.get(f"{table}_{name}")
            if found is not None:
                tables |= self._tables_of(found)
        for rule in item.spec.get("filters") or []:
            ref = ((rule or {}).get("target") or {}).get("fieldRef") or ""
            table, _ = split_reference(str(ref), item.table)
            tables.add(table)
        return tables

    def _primary_key(self, table: str) -> list[str]:
        keys = self.model.table(table).get("primaryKey")
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not keys:
            return []
        sql_keys = []
        for key in keys:
            found = self.model.fields.get(f"{table}_{key}")
            sql_keys.append(
                str(found.spec.get("sql"))
                if found is not None and found.kind == "dimension"
                else f"${{TABLE}}.{key}"
            )
        return sql_keys

    def _extend(self, source: str, columns: Mapping[str, exp.Expr]) -> exp.Select:
        return exp.select(
            exp.Star(), *[exp.alias_(e.copy(), name, quoted=True) for name, e in columns.items()]
        ).from_(exp.to_identifier(source, quoted=True))

    def _sorts(self, selected: set[str]) -> list[exp.Ordered]:
        sorts = self.query.get("sorts") or []
        if not isinstance(sorts, list):
            raise CompileError("`sorts` must be a list of {fieldId, descending}")
        ordered = []
        seen: set[str] = set()
        for sort in sorts:
            if not isinstance(sort, dict) or not isinstance(sort.get("fieldId"), str):
                raise CompileError("Every sort needs a `fieldId`")
            field_id = sort["fieldId"]
            if field_id not in selected:
                raise FieldReferenceError(
                    f"Sort field {field_id!r} is not a selected dimension, metric or table calculation",
                    {"fieldId": field_id},
                )
            if field_id in seen:
                continue
            seen.add(field_id)
            descending = sort.get("descending") is True
            nulls_first = sort.get("nullsFirst") is True
            ordered.append(
                exp.Ordered(
                    this=exp.column(field_id, quoted=True), desc=descending, nulls_first=nulls_first
                )
            )
        return ordered
