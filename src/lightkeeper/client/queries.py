"""Running a query through the API and reading its rows: what `lightkeeper query` and `sql` share.

The flow is the one Lightdash's SDK uses (queries.md, reference §1.3-1.5):
1. submit: `POST /api/v2/projects/{p}/query/metric-query` (or `…/query/sql`) → `queryUuid`
   and, for metric queries, `fields` (labels and types of every selected field);
2. poll `GET /api/v2/projects/{p}/query/{queryUuid}?page=1&pageSize=N` until `status` is
   `ready`, `error` or `cancelled` (every 100 ms at first, then up to 1 s apart);
3. read the remaining pages with the same page size;
4. on interruption or timeout, `POST …/query/{queryUuid}/cancel`, so the warehouse stops too.

Cells come as `{"value": {"raw": …, "formatted": "…"}}`; a bare value is taken as both.
The filter and sort mini-languages of the command line are parsed here too (pure functions),
so they can be tested without a server.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lightkeeper.client.http import ApiClient, CliError
from lightkeeper.client.output import UsageError
from lightkeeper.kit.filter_operators import FILTER_OPERATORS

DEFAULT_PAGE_SIZE = 500
FIRST_POLL_SECONDS = 0.1
MAX_POLL_SECONDS = 1.0

# Operators by name (Lightdash's FilterOperator); the symbols are shorthands for the common ones.
OPERATORS = FILTER_OPERATORS
SYMBOLS = (
    ("!=", "notEquals"),
    (">=", "greaterThanOrEqual"),
    ("<=", "lessThanOrEqual"),
    ("=", "equals"),
    (">", "greaterThan"),
    ("<", "lessThan"),
)
RELATIVE_DATE = frozenset(
    {"inThePast", "notInThePast", "inTheNext", "inTheCurrent", "notInTheCurrent"}
)
NO_VALUE = frozenset({"isNull", "notNull"})
UNITS = (
    "milliseconds",
    "seconds",
    "minutes",
    "hours",
    "days",
    "weeks",
    "months",
    "quarters",
    "years",
)
FILTER_HELP = (
    "FIELD=VALUE[,VALUE…] (also !=, >, >=, <, <=), or FIELD:OPERATOR[:VALUES] with any "
    "Lightdash operator, e.g. orders_status:isNull, customers_first_name:startsWith:A, "
    "orders_order_date_day:inThePast:14 days, orders_order_date_day:inBetween:2018-01-01,2018-02-01. "
    "Repeatable; all must hold."
)
SORT_HELP = "FIELD, FIELD:desc or FIELD:asc (repeatable, in order)."


# -- the explore's fields -------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    field_id: str
    kind: str  # "dimension" or "metric"
    type: str
    label: str


@dataclass
class ExploreFields:
    """The fields of one explore, by field id (`{table}_{name}`), for checking arguments."""

    name: str
    base_table: str
    fields: dict[str, Field] = field(default_factory=dict)

    @classmethod
    def from_explore(cls, explore: Mapping[str, Any]) -> ExploreFields:
        tables = explore.get("tables")
        base = str(explore.get("baseTable") or explore.get("name") or "")
        found = cls(str(explore.get("name") or base), base)
        for table_name, table in tables.items() if isinstance(tables, dict) else []:
            if not isinstance(table, dict):
                continue
            for kind, key in (("dimension", "dimensions"), ("metric", "metrics")):
                entries = table.get(key)
                for name, item in entries.items() if isinstance(entries, dict) else []:
                    item = item if isinstance(item, dict) else {}
                    table_of = str(item.get("table") or table_name)
                    field_id = f"{table_of}_{item.get('name') or name}"
                    found.fields[field_id] = Field(
                        field_id,
                        kind,
                        str(item.get("type") or ("string" if kind == "dimension" else "number")),
                        str(item.get("label") or name),
                    )
        return found

    def resolve(self, name: str, option: str, kind: str | None = None) -> Field:
        """The field `name` names: a field id, or a field of the base table by its own name.

        A name the explore does not have is a usage error with the closest matches.
        """
        candidates = [name, f"{self.base_table}_{name}", name.replace(".", "_", 1)]
        for candidate in candidates:
            found = self.fields.get(candidate)
            if found is not None and (kind is None or found.kind == kind):
                return found
        pool = [f.field_id for f in self.fields.values() if kind is None or f.kind == kind]
        close = difflib.get_close_matches(name, pool, n=3, cutoff=0.5)
        what = f"a {kind}" if kind else "a field"
        hint = f"Did you mean {', '.join(close)}?" if close else None
        if hint is None:
            listing = ", ".join(sorted(pool)[:12]) + (" …" if len(pool) > 12 else "")
            hint = f"{kind.capitalize() if kind else 'Field'}s of {self.name}: {listing or 'none'}"
        raise UsageError(f"{option} {name!r} is not {what} of explore {self.name!r}", hint=hint)


# -- the command line's filters and sorts -------------------------------------------------


@dataclass(frozen=True)
class FilterRule:
    field_id: str
    operator: str
    values: tuple[Any, ...]
    settings: Mapping[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "target": {"fieldId": self.field_id},
            "operator": self.operator,
            "values": list(self.values),
        }
        if self.settings is not None:
            rule["settings"] = dict(self.settings)
        return rule


def _split_filter(text: str) -> tuple[str, str, str | None]:
    """`FIELD<symbol>VALUES` or `FIELD:OPERATOR[:VALUES]` → (field, operator, values text)."""
    named = re.fullmatch(r"\s*([^:=<>!\s]+)\s*:\s*([A-Za-z]+)\s*(?::(.*))?", text, re.S)
    if named:
        operator = next((o for o in OPERATORS if o.lower() == named.group(2).lower()), None)
        if operator is None:
            close = difflib.get_close_matches(named.group(2), OPERATORS, n=2, cutoff=0.5)
            raise UsageError(
                f"--filter {text!r}: unknown operator {named.group(2)!r}",
                hint=f"Did you mean {' or '.join(close)}?"
                if close
                else f"Operators: {', '.join(OPERATORS)}",
            )
        return named.group(1), operator, named.group(3)
    for symbol, operator in SYMBOLS:
        left, found, right = text.partition(symbol)
        if found and left.strip() and not re.search(r"[=<>!:]", left):
            return left.strip(), operator, right
    raise UsageError(
        f"--filter {text!r} is not FIELD=VALUE or FIELD:OPERATOR[:VALUES]", hint=FILTER_HELP
    )


_NUMERIC_METRICS = frozenset(
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
    }
)


def _typed(value: str, field_type: str, where: str) -> Any:
    value = value.strip()
    if field_type == "number" or field_type in _NUMERIC_METRICS:
        try:
            number = float(value)
        except ValueError:
            raise UsageError(f"{where}: {value!r} is not a number") from None
        return (
            int(number)
            if number.is_integer() and "." not in value and "e" not in value.lower()
            else number
        )
    if field_type == "boolean":
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise UsageError(f"{where}: {value!r} is not true or false")
        return lowered == "true"
    return value


def _relative_settings(
    text: str | None, operator: str, where: str
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """`14 days`, `3 completed months` (inThePast/…) or `month` (inTheCurrent)."""
    words = (text or "").lower().split()
    completed = "completed" in words
    words = [w for w in words if w != "completed"]
    count: int | None = None
    if words and words[0].isdigit():
        count = int(words.pop(0))
    unit = words[0] if len(words) == 1 else None
    if unit is not None and not unit.endswith("s"):
        unit += "s"
    if unit not in UNITS or (count is None and operator not in ("inTheCurrent", "notInTheCurrent")):
        example = "month" if operator in ("inTheCurrent", "notInTheCurrent") else "14 days"
        raise UsageError(
            f"{where}: {operator} needs a period such as {example!r} (units: {', '.join(UNITS)})"
        )
    values: tuple[Any, ...] = () if count is None else (count,)
    return values, {"unitOfTime": unit, "completed": completed}


def parse_filter(text: str, explore: ExploreFields) -> tuple[str, FilterRule]:
    """One `--filter` as (kind of the field, rule): dimension filters go before aggregation,
    metric filters after."""
    name, operator, values_text = _split_filter(text)
    target = explore.resolve(name, "--filter")
    where = f"--filter {text!r}"
    settings: dict[str, Any] | None = None
    if operator in NO_VALUE:
        if values_text:
            raise UsageError(f"{where}: {operator} takes no value")
        values: tuple[Any, ...] = ()
    elif operator in RELATIVE_DATE:
        values, settings = _relative_settings(values_text, operator, where)
    else:
        if values_text is None or not values_text.strip():
            raise UsageError(f"{where}: {operator} needs a value", hint=FILTER_HELP)
        # Commas separate values (`=completed,shipped` is either of them).
        values = tuple(_typed(part, target.type, where) for part in values_text.split(","))
        if operator in ("inBetween", "notInBetween") and len(values) != 2:
            raise UsageError(f"{where}: {operator} needs two values, FROM,TO")
    return target.kind, FilterRule(target.field_id, operator, values, settings)


def parse_sort(text: str, explore: ExploreFields) -> dict[str, Any]:
    """One `--sort`: `FIELD`, `FIELD:desc` or `FIELD:asc` → Lightdash's sort object."""
    name, _, direction = text.strip().partition(":")
    descending = False
    if name.startswith("-"):
        name, descending = name[1:], True
    if direction:
        if direction.lower() not in ("asc", "desc"):
            raise UsageError(f"--sort {text!r}: the direction is asc or desc", hint=SORT_HELP)
        descending = direction.lower() == "desc"
    target = explore.resolve(name, "--sort")
    return {"fieldId": target.field_id, "descending": descending}


def metric_query(
    explore: ExploreFields,
    *,
    dimensions: Sequence[str],
    metrics: Sequence[str],
    filters: Sequence[str],
    sorts: Sequence[str],
    limit: int,
    timezone: str | None = None,
) -> dict[str, Any]:
    """The `query` of a metric-query request from the command line's arguments."""
    if not dimensions and not metrics:
        raise UsageError(
            "Give at least one --metric or --dimension",
            hint=f"Fields of {explore.name}: `lightkeeper query --explore {explore.name} --list-fields`",
        )
    dimension_ids = list(
        dict.fromkeys(explore.resolve(d, "--dimension", "dimension").field_id for d in dimensions)
    )
    metric_ids = list(
        dict.fromkeys(explore.resolve(m, "--metric", "metric").field_id for m in metrics)
    )
    groups: dict[str, list[dict[str, Any]]] = {"dimension": [], "metric": []}
    for text in filters:
        kind, rule = parse_filter(text, explore)
        groups[kind].append(rule.to_wire())
    query: dict[str, Any] = {
        "exploreName": explore.name,
        "dimensions": dimension_ids,
        "metrics": metric_ids,
        "filters": {"dimensions": {"and": groups["dimension"]}},
        "sorts": [parse_sort(s, explore) for s in sorts],
        "limit": limit,
        "tableCalculations": [],
        "additionalMetrics": [],
        "customDimensions": [],
    }
    if groups["metric"]:
        query["filters"]["metrics"] = {"and": groups["metric"]}
    if timezone:
        query["timezone"] = timezone
    return query


# -- running and reading ---------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    field_id: str
    label: str
    type: str


@dataclass
class Result:
    query_uuid: str
    columns: list[Column]
    rows: list[dict[str, tuple[Any, str]]]  # field id → (raw, formatted)
    total_results: int
    execution_ms: int | None


def cell(value: Any) -> tuple[Any, str]:
    """(raw, formatted) of a result cell, wrapped (`{"value": {...}}`) or bare."""
    if isinstance(value, dict) and isinstance(value.get("value"), dict):
        inner = value["value"]
        raw = inner.get("raw")
        formatted = inner.get("formatted")
        return raw, str(formatted) if formatted is not None else _plain(raw)
    return value, _plain(value)


def _plain(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


Progress = Callable[[str, int | None, int | None], None]  # description, done, total


class QueryRunner:
    """Submit, wait, page and (on interruption or timeout) cancel one query."""

    def __init__(
        self,
        client: ApiClient,
        project_uuid: str,
        *,
        page_size: int,
        timeout: float,
        progress: Progress,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.base = f"/api/v2/projects/{project_uuid}/query"
        self.page_size = page_size
        self.timeout = timeout
        self.progress = progress
        self.clock = clock
        self.sleep = sleep

    def run(self, path: str, body: Mapping[str, Any], limit: int | None) -> Result:
        submitted = self.client.post(f"{self.base}/{path}", dict(body))
        query_uuid = str((submitted or {}).get("queryUuid") or "")
        if not query_uuid:
            raise CliError(f"The server accepted the query but returned no queryUuid ({path})")
        try:
            first = self._wait(query_uuid)
            return self._collect(query_uuid, submitted.get("fields"), first, limit)
        except BaseException:
            self._cancel(query_uuid)
            raise

    def _page(self, query_uuid: str, page: int) -> dict[str, Any]:
        found = self.client.get(
            f"{self.base}/{query_uuid}", params={"page": page, "pageSize": self.page_size}
        )
        return found if isinstance(found, dict) else {}

    def _wait(self, query_uuid: str) -> dict[str, Any]:
        started = self.clock()
        delay = FIRST_POLL_SECONDS
        while True:
            answer = self._page(query_uuid, 1)
            status = answer.get("status")
            if status == "ready":
                return answer
            if status == "error":
                raise CliError(f"The query failed: {answer.get('error') or 'no reason given'}")
            if status == "cancelled":
                raise CliError("The query was cancelled")
            waited = self.clock() - started
            if waited > self.timeout:
                raise CliError(
                    f"The query did not finish within {self.timeout:g} s: it was cancelled",
                    hint="Give it longer with --timeout SECONDS, or ask for fewer rows.",
                )
            self.progress(f"Running query ({waited:.1f} s)", None, None)
            self.sleep(delay)
            delay = min(delay * 2, MAX_POLL_SECONDS)

    def _collect(
        self, query_uuid: str, fields: Any, first: dict[str, Any], limit: int | None
    ) -> Result:
        total = int(first.get("totalResults") or len(first.get("rows") or []))
        pages = int(first.get("totalPageCount") or 1)
        wanted = total if limit is None else min(total, limit)
        rows: list[dict[str, tuple[Any, str]]] = []
        for page in _pages(first, pages, lambda n: self._page(query_uuid, n)):
            for row in page.get("rows") or []:
                rows.append({key: cell(value) for key, value in row.items()})
            self.progress("Fetching rows", len(rows), wanted)
            if len(rows) >= wanted:
                break
        return Result(
            query_uuid,
            _columns(first, fields, rows),
            rows[:wanted],
            total,
            first.get("initialQueryExecutionMs"),
        )

    def _cancel(self, query_uuid: str) -> None:
        # Finished meanwhile, or the server is gone: nothing more to stop.
        with contextlib.suppress(CliError):
            self.client.post(f"{self.base}/{query_uuid}/cancel", None)


def _pages(
    first: dict[str, Any], count: int, read: Callable[[int], dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    yield first
    for page in range(2, count + 1):
        answer = read(page)
        if answer.get("status") not in (None, "ready"):
            raise CliError(f"Page {page} of the results is not available: {answer.get('status')}")
        yield answer


def _columns(first: dict[str, Any], fields: Any, rows: Sequence[Mapping[str, Any]]) -> list[Column]:
    """Columns in the server's order (dimensions, metrics, table calculations), with labels."""
    fields = fields if isinstance(fields, dict) else {}
    found = first.get("columns")
    described: dict[str, Any] = found if isinstance(found, dict) else {}
    order: list[str] = list(rows[0].keys()) if rows else []
    for key in [*fields.keys(), *described.keys()]:
        if key not in order:
            order.append(key)
    columns = []
    for key in order:
        item: dict[str, Any] = fields[key] if isinstance(fields.get(key), dict) else {}
        column: dict[str, Any] = described[key] if isinstance(described.get(key), dict) else {}
        label = item.get("label") or item.get("displayName") or item.get("name") or key
        columns.append(Column(key, str(label), str(column.get("type") or item.get("type") or "")))
    return columns
