"""Filter groups -> SQL conditions, every value a literal rendered by sqlglot (never spliced).

A group is ``{"and": [...]}`` or ``{"or": [...]}`` of rules and groups, nested at will; an empty
group is no condition; a rule with ``disabled: true`` is left out. A rule is
``{"target": {"fieldId"}, "operator", "values", "settings"}``. What each operator means (X is the
field's SQL, or its column in an outer query for metrics and table calculations):

- ``isNull`` / ``notNull``: X IS [NOT] NULL.
- ``equals``: X IN (values); no values matches nothing. ``notEquals``: X NOT IN (values) OR X IS
  NULL; no values matches everything.
- ``include`` / ``doesNotInclude``: case-insensitive substring (any value / no value), ``%`` and
  ``_`` in values are literal. ``startsWith`` / ``endsWith``: case-sensitive prefix / suffix.
- ``lessThan``, ``lessThanOrEqual``, ``greaterThan``, ``greaterThanOrEqual``: against the first
  value. ``inBetween`` [a, b]: a <= X <= b; ``notInBetween``: outside, or NULL.
- Dates, relative to "now" in the query's timezone, ``settings.unitOfTime`` one of milliseconds,
  seconds, minutes, hours, days, weeks (Monday first), months, quarters, years:
  ``inThePast n`` = [now - n, now], or with ``completed`` the n whole units before the current
  one; ``inTheNext n`` = [now, now + n], or with ``completed`` the n whole units after the
  current one; ``inTheCurrent`` = the current unit; ``inPeriodToDate`` = start of the current
  unit up to now; ``notInThePast`` / ``notInTheCurrent`` = the complement, NULL included.

Values are checked against the field's type (a number for number fields, ISO dates for date
fields, true/false for booleans); a value that does not fit is a 400 naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlglot import exp

from lightkeeper.compiler.errors import CompileError
from lightkeeper.kit.filter_operators import FILTER_OPERATORS

OPERATORS = frozenset(FILTER_OPERATORS)
_RELATIVE = frozenset(
    {"inThePast", "notInThePast", "inTheNext", "inTheCurrent", "notInTheCurrent", "inPeriodToDate"}
)
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
MAX_RULES = 500
MAX_DEPTH = 20


@dataclass(frozen=True)
class Target:
    """What a rule compares: an expression, its Lightdash type, and its timestamps' frame."""

    expression: exp.Expr
    type: str
    utc: bool = False  # its timestamps are UTC (not converted into the query's timezone)


Resolver = Callable[[str], Target]


class FilterCompiler:
    def __init__(self, *, now: datetime, zone: ZoneInfo, where: str) -> None:
        self.now_local = now.astimezone(zone).replace(tzinfo=None)
        self.zone = zone
        self.where = where
        self._rules = 0

    # -- groups -----------------------------------------------------------------------------

    def group(self, group: Any, resolve: Resolver, _depth: int = 0) -> exp.Expr | None:
        """The group's condition, or None when it holds no enabled rule."""
        if group is None:
            return None
        if not isinstance(group, Mapping):
            raise CompileError(f"{self.where}: a filter group must be an object with `and` or `or`")
        if _depth > MAX_DEPTH:
            raise CompileError(f"{self.where}: filter groups are nested too deeply")
        if "target" in group:
            return self.rule(group, resolve)
        keys = [k for k in ("and", "or") if k in group]
        if not keys:
            return None
        if len(keys) == 2:
            raise CompileError(f"{self.where}: a filter group has either `and` or `or`, not both")
        items = group[keys[0]]
        if not isinstance(items, list):
            raise CompileError(f"{self.where}: `{keys[0]}` must be a list of rules and groups")
        parts = [p for p in (self.group(i, resolve, _depth + 1) for i in items) if p is not None]
        if not parts:
            return None
        combined = exp.and_(*parts) if keys[0] == "and" else exp.or_(*parts)
        return exp.paren(combined, copy=False) if len(parts) > 1 else parts[0]

    # -- rules ------------------------------------------------------------------------------

    def rule(self, rule: Mapping[str, Any], resolve: Resolver) -> exp.Expr | None:
        if rule.get("disabled") is True:
            return None
        self._rules += 1
        if self._rules > MAX_RULES:
            raise CompileError(f"{self.where}: at most {MAX_RULES} filter rules per query")
        target = rule.get("target")
        field_id = target.get("fieldId") if isinstance(target, Mapping) else None
        if not isinstance(field_id, str) or not field_id:
            raise CompileError(f"{self.where}: every filter rule needs `target.fieldId`")
        operator = rule.get("operator")
        if operator not in OPERATORS:
            raise CompileError(
                f"Filter on {field_id!r}: operator {operator!r} is not one of "
                f"{', '.join(sorted(OPERATORS))}"
            )
        values = rule.get("values")
        if values is None:
            values = []
        if not isinstance(values, list):
            raise CompileError(f"Filter on {field_id!r}: `values` must be a list")
        settings = rule.get("settings") if isinstance(rule.get("settings"), Mapping) else {}
        found = resolve(field_id)
        return _Rule(self, field_id, found, str(operator), values, settings or {}).sql()


class _Rule:
    def __init__(
        self,
        compiler: FilterCompiler,
        field_id: str,
        target: Target,
        operator: str,
        values: list[Any],
        settings: Mapping[str, Any],
    ) -> None:
        self.compiler = compiler
        self.field_id = field_id
        self.target = target
        self.operator = operator
        self.values = values
        self.settings = settings

    @property
    def x(self) -> exp.Expr:
        return self.target.expression.copy()

    def fail(self, message: str) -> CompileError:
        return CompileError(f"Filter on {self.field_id!r} ({self.operator}): {message}")

    def sql(self) -> exp.Expr:
        op = self.operator
        if op == "isNull":
            return exp.Is(this=self.x, expression=exp.Null())
        if op == "notNull":
            return exp.not_(exp.Is(this=self.x, expression=exp.Null()))
        if op in _RELATIVE:
            return self._relative()
        if op in ("equals", "notEquals"):
            literals = [self.literal(v) for v in self.values]
            if not literals:
                return exp.false() if op == "equals" else exp.true()
            inside = exp.In(this=self.x, expressions=literals)
            if op == "equals":
                return inside
            return exp.paren(exp.or_(exp.not_(inside), exp.Is(this=self.x, expression=exp.Null())))
        if op in ("include", "doesNotInclude", "startsWith", "endsWith"):
            return self._like()
        if op in ("lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual"):
            if not self.values:
                raise self.fail("needs a value")
            comparison = {
                "lessThan": exp.LT,
                "lessThanOrEqual": exp.LTE,
                "greaterThan": exp.GT,
                "greaterThanOrEqual": exp.GTE,
            }[op]
            return comparison(this=self.x, expression=self.literal(self.values[0]))
        if op in ("inBetween", "notInBetween"):
            if len(self.values) < 2:
                raise self.fail("needs two values, the start and the end")
            low, high = self.literal(self.values[0]), self.literal(self.values[1])
            if op == "inBetween":
                return exp.paren(
                    exp.and_(
                        exp.GTE(this=self.x, expression=low), exp.LTE(this=self.x, expression=high)
                    )
                )
            return exp.paren(
                exp.or_(
                    exp.LT(this=self.x, expression=low),
                    exp.GT(this=self.x, expression=high),
                    exp.Is(this=self.x, expression=exp.Null()),
                )
            )
        raise self.fail("is not supported")  # pragma: no cover - OPERATORS is checked first

    # -- strings ----------------------------------------------------------------------------

    def _like(self) -> exp.Expr:
        if self.target.type not in ("string",):
            raise self.fail(f"applies to text fields, not to a {self.target.type} field")
        texts = [self._text(v) for v in self.values]
        if not texts:
            return exp.true()
        escaped = [t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for t in texts]
        op = self.operator
        parts: list[exp.Expr] = []
        for text in escaped:
            if op in ("include", "doesNotInclude"):
                subject: exp.Expr = exp.Lower(this=self.x)
                pattern = f"%{text.lower()}%"
            elif op == "startsWith":
                subject, pattern = self.x, f"{text}%"
            else:
                subject, pattern = self.x, f"%{text}"
            like = exp.Escape(
                this=exp.Like(this=subject, expression=exp.Literal.string(pattern)),
                expression=exp.Literal.string("\\"),
            )
            parts.append(exp.not_(like) if op == "doesNotInclude" else like)
        combined = exp.and_(*parts) if op == "doesNotInclude" else exp.or_(*parts)
        return exp.paren(combined) if len(parts) > 1 else combined

    def _text(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(f"{value!r} is not text")
        return str(value)

    # -- values -----------------------------------------------------------------------------

    def literal(self, value: Any) -> exp.Expr:
        kind = self.target.type
        if kind == "number":
            return number_literal(value, self.fail)
        if kind == "boolean":
            if isinstance(value, bool):
                return exp.true() if value else exp.false()
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return exp.true() if value.strip().lower() == "true" else exp.false()
            raise self.fail(f"{value!r} is not true or false")
        if kind == "date":
            return date_literal(self._date(value))
        if kind == "timestamp":
            return timestamp_literal(self._timestamp(value))
        if isinstance(value, bool):
            return exp.true() if value else exp.false()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return number_literal(value, self.fail)
        if isinstance(value, str):
            if "\x00" in value:
                raise self.fail("values cannot contain NUL characters")
            return exp.Literal.string(value)
        raise self.fail(f"{value!r} is not a text value")

    def _date(self, value: Any) -> date:
        if isinstance(value, str):
            text = value.strip()
            try:
                if len(text) == 10:
                    return date.fromisoformat(text)
                return self._timestamp(text).date()
            except (ValueError, CompileError):
                pass
        raise self.fail(f"{value!r} is not a date (YYYY-MM-DD)")

    def _timestamp(self, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                moment = None
            if moment is not None:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=self.compiler.zone)
                return self._frame(moment)
        raise self.fail(f"{value!r} is not an ISO-8601 date and time")

    def _frame(self, moment: datetime) -> datetime:
        """An aware moment as the naive timestamp the target's SQL holds."""
        zone = UTC if self.target.utc else self.compiler.zone
        return moment.astimezone(zone).replace(tzinfo=None)

    # -- relative dates ---------------------------------------------------------------------

    def _relative(self) -> exp.Expr:
        if self.target.type not in ("date", "timestamp"):
            raise self.fail(
                f"applies to date and timestamp fields, not to a {self.target.type} field"
            )
        unit = str(self.settings.get("unitOfTime") or "days")
        if not unit.endswith("s"):
            unit += "s"
        if unit not in UNITS:
            raise self.fail(f"unitOfTime {unit!r} is not one of {', '.join(UNITS)}")
        completed = self.settings.get("completed") is True
        now = self.compiler.now_local
        op = self.operator
        if op in ("inThePast", "notInThePast", "inTheNext"):
            n = self._count()
            if op == "inTheNext":
                if completed:
                    start = shift(start_of(now, unit), 1, unit)
                    low, high, open_high = start, shift(start, n, unit), True
                else:
                    low, high, open_high = now, shift(now, n, unit), False
            elif completed:
                current = start_of(now, unit)
                low, high, open_high = shift(current, -n, unit), current, True
            else:
                low, high, open_high = shift(now, -n, unit), now, False
        elif op in ("inTheCurrent", "notInTheCurrent"):
            low = start_of(now, unit)
            high, open_high = shift(low, 1, unit), True
        else:  # inPeriodToDate
            low, high, open_high = start_of(now, unit), now, False
        condition = self._range(low, high, open_high=open_high)
        if op in ("notInThePast", "notInTheCurrent"):
            return exp.paren(
                exp.or_(exp.not_(condition), exp.Is(this=self.x, expression=exp.Null()))
            )
        return condition

    def _count(self) -> int:
        value = self.values[0] if self.values else None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
            raise self.fail("needs a whole number of units as its first value (e.g. [14])")
        return value

    def _range(self, low: datetime, high: datetime, *, open_high: bool) -> exp.Expr:
        low_sql: exp.Expr
        high_sql: exp.Expr
        if self.target.type == "date":
            low_sql, high_sql = date_literal(low.date()), date_literal(high.date())
            # Whole days: an open end other than midnight still includes its own day.
            open_high = open_high and high.time() == datetime.min.time()
        else:
            low_sql = timestamp_literal(self._frame(low.replace(tzinfo=self.compiler.zone)))
            high_sql = timestamp_literal(self._frame(high.replace(tzinfo=self.compiler.zone)))
        upper: exp.Expr = (
            exp.LT(this=self.x, expression=high_sql)
            if open_high
            else exp.LTE(this=self.x, expression=high_sql)
        )
        return exp.paren(exp.and_(exp.GTE(this=self.x, expression=low_sql), upper))


def number_literal(value: Any, fail: Callable[[str], CompileError]) -> exp.Expr:
    if isinstance(value, bool):
        raise fail(f"{value!r} is not a number")
    if isinstance(value, int):
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise fail(f"{value!r} is not a finite number")
        return exp.Literal.number(repr(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite():
            return exp.Literal.number(str(number))
    raise fail(f"{value!r} is not a number")


def date_literal(value: date) -> exp.Expr:
    return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)


def timestamp_literal(value: datetime) -> exp.Expr:
    text = value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return exp.cast(exp.Literal.string(text), exp.DataType.Type.TIMESTAMP)


def start_of(moment: datetime, unit: str) -> datetime:
    """The start of the unit that holds ``moment`` (weeks start on Monday)."""
    if unit == "milliseconds":
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    if unit == "seconds":
        return moment.replace(microsecond=0)
    if unit == "minutes":
        return moment.replace(second=0, microsecond=0)
    if unit == "hours":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "days":
        return day
    if unit == "weeks":
        return day - timedelta(days=day.weekday())
    if unit == "months":
        return day.replace(day=1)
    if unit == "quarters":
        return day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
    return day.replace(day=1, month=1)


def shift(moment: datetime, n: int, unit: str) -> datetime:
    """``moment`` moved by ``n`` units (months keep the day, clamped to the month's end)."""
    small = {
        "milliseconds": timedelta(milliseconds=1),
        "seconds": timedelta(seconds=1),
        "minutes": timedelta(minutes=1),
        "hours": timedelta(hours=1),
        "days": timedelta(days=1),
        "weeks": timedelta(weeks=1),
    }
    if unit in small:
        return moment + n * small[unit]
    months = n * {"months": 1, "quarters": 3, "years": 12}[unit]
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (following - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))
