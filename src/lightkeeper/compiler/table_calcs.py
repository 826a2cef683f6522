"""Table calculations: an expression over the selected fields, and nothing else.

The text is the caller's, so it is never pasted into the statement. Each ``${table.field}``
must name a selected dimension or metric (or ``${name}`` an earlier table calculation); it is
swapped for a placeholder, the text is parsed by sqlglot as ONE expression for the dialect,
and every node of the tree is checked against an allow-list: literals, arithmetic,
comparisons, boolean logic, CASE/IF, casts, a list of scalar functions, and window functions
(``SUM(${orders.total}) OVER ()``). A statement, a subquery, a column or table the caller named
directly, or any other function (``read_csv``, ``pg_sleep``, ``current_setting``…) is a 400.
The placeholders then become the quoted columns of the fields, and the tree is used as is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from lightkeeper.compiler.errors import TableCalculationError
from lightkeeper.compiler.explore import REFERENCE, Dialect

MAX_SQL = 10_000
_PLACEHOLDER = "__lk_ref_{}__"
_PLACEHOLDER_NAME = re.compile(r"^__lk_ref_(\d+)__$")

_ALLOWED_NODES: tuple[type[exp.Expr], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Neg,
    exp.Not,
    exp.And,
    exp.Or,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.Pow,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Case,
    exp.If,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.DataTypeParam,
    exp.DPipe,
    exp.Concat,
    exp.Coalesce,
    exp.Nullif,
    exp.Round,
    exp.Abs,
    exp.Ceil,
    exp.Floor,
    exp.Sqrt,
    exp.Ln,
    exp.Log,
    exp.Exp,
    exp.Greatest,
    exp.Least,
    exp.Upper,
    exp.Lower,
    exp.Length,
    exp.Substring,
    exp.Trim,
    exp.DateTrunc,
    exp.TimestampTrunc,
    exp.Extract,
    exp.Var,
    exp.Interval,
    exp.Sign,
    exp.SafeDivide,
    # window functions
    exp.Window,
    exp.WindowSpec,
    exp.Order,
    exp.Ordered,
    exp.Sum,
    exp.Avg,
    exp.Count,
    exp.Min,
    exp.Max,
    exp.RowNumber,
    exp.Lag,
    exp.Lead,
    exp.FirstValue,
    exp.LastValue,
    exp.Star,
)
# Functions sqlglot does not model, by name: harmless scalar and ranking functions only.
_ALLOWED_ANONYMOUS = frozenset(
    {
        "RANK",
        "DENSE_RANK",
        "PERCENT_RANK",
        "CUME_DIST",
        "NTILE",
        "POWER",
        "TRUNC",
        "MOD",
        "DIV",
        "LOG10",
        "CBRT",
    }
)


def compile_table_calculation(
    name: str,
    sql: str,
    *,
    columns: Mapping[str, str],
    earlier: Mapping[str, exp.Expr],
    dialect: Dialect,
) -> exp.Expr:
    """The table calculation as an expression over quoted field columns.

    ``columns`` maps ``table.field`` references of the selected fields to their field ids;
    ``earlier`` holds the compiled expressions of the table calculations before this one.
    Raises `TableCalculationError` saying what is wrong.
    """

    def resolve(reference: str) -> exp.Expr | None:
        if reference in columns:
            return exp.column(columns[reference], quoted=True)
        if "." not in reference and reference in earlier:
            return exp.paren(earlier[reference].copy())
        return None

    return checked_expression(
        f"Table calculation {name!r}",
        sql,
        resolve=resolve,
        dialect=dialect,
        unknown="is not a selected field; a table calculation may only refer to the query's "
        "dimensions and metrics as ${table.field}",
        data={"tableCalculation": name},
    )


def checked_expression(
    what: str,
    sql: str,
    *,
    resolve: Callable[[str], exp.Expr | None],
    dialect: Dialect,
    unknown: str,
    data: dict[str, Any] | None = None,
) -> exp.Expr:
    """The caller's SQL ``sql`` as one allowed expression, ``${…}`` replaced by ``resolve``.

    Rules: see the module docstring; ``resolve`` returns None for a reference that is not
    allowed (then the error says ``${ref} <unknown>``).
    """

    def fail(message: str) -> TableCalculationError:
        return TableCalculationError(f"{what}: {message}", data or {})

    if not isinstance(sql, str) or not sql.strip():
        raise fail("`sql` must be a non-empty expression")
    if len(sql) > MAX_SQL:
        raise fail(f"`sql` is longer than {MAX_SQL} characters")
    if "\x00" in sql:
        raise fail("`sql` contains a NUL character")
    replacements: list[exp.Expr] = []

    def swap(match: re.Match[str]) -> str:
        reference = match.group(1).strip()
        found = resolve(reference)
        if found is None:
            raise fail(f"${{{reference}}} {unknown}")
        replacements.append(found)
        return _PLACEHOLDER.format(len(replacements) - 1)

    text = REFERENCE.sub(swap, sql)
    if "${" in text:
        raise fail("an unclosed ${ reference")
    try:
        statements = sqlglot.parse(text, read=dialect)
    except (ParseError, TokenError) as error:
        raise fail(f"not a valid SQL expression ({_first_line(error)})") from None
    found = [s for s in statements if s is not None]
    if len(found) != 1:
        raise fail("must be one expression (no `;`, no statements)")
    tree = found[0]
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            if str(node.name).upper() not in _ALLOWED_ANONYMOUS:
                raise fail(f"the function {node.name!r} is not allowed")
            continue
        if not isinstance(node, _ALLOWED_NODES):
            statement = isinstance(node, exp.Query | exp.DDL | exp.DML | exp.Command | exp.Block)
            kind = "a statement or subquery" if statement else f"{type(node).__name__}"
            raise fail(f"{kind} is not allowed; only an expression over fields is")
        if isinstance(node, exp.Column):
            match = _PLACEHOLDER_NAME.match(node.name) if not node.table else None
            if match is None or int(match.group(1)) >= len(replacements):
                raise fail(
                    f"{node.sql(dialect)!r} is not a field reference; refer to fields as "
                    "${table.field}"
                )
    if tree.find(exp.Star) is not None and not _star_in_count(tree):
        raise fail("`*` is only allowed as COUNT(*)")

    def restore(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table:
            match = _PLACEHOLDER_NAME.match(node.name)
            if match is not None:
                return replacements[int(match.group(1))].copy()
        return node

    return tree.transform(restore)


def _star_in_count(tree: exp.Expr) -> bool:
    return all(isinstance(star.parent, exp.Count) for star in tree.find_all(exp.Star))


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:200] if str(error).strip() else "syntax error"
