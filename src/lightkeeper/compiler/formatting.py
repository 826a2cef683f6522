"""`formatted` values: a raw cell as Lightdash shows it, following the field's format.

- NULL is ``∅``; booleans ``True``/``False``; text as is.
- Dates and timestamps by time interval: day and week ``2024-03-05``, month ``2024-03``,
  quarter ``2024-Q1``, year ``2024``, hour ``2024-03-05, 14``, minute ``2024-03-05, 14:30``;
  a plain date ``2024-03-05``, a plain timestamp ``2024-03-05, 14:30:00:000 (+00:00)``.
- Numbers: the field's ``formatOptions`` (Lightdash's CustomFormat: ``type`` default, number,
  percent, currency, id; ``round``, ``separator``, ``compact``, ``prefix``, ``suffix``,
  ``currency``) or else its legacy ``format`` (usd, gbp, eur, jpy, dkk, percent, km, mi, id),
  ``round`` and ``compact`` (thousands/K, millions/M, billions/B, trillions/T). Without a round,
  numbers show up to three decimals and currencies two; separators are ``1,234.5`` by default.
  Number format expressions (``$#,##0.00``, ``#,##0.0%``, ``[$£]#,##0``) give prefix, suffix,
  decimals, grouping and percent; other expressions (dates) are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

NULL = "∅"
_CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "JPY": "¥", "CNY": "¥", "INR": "₹"}
_LEGACY_CURRENCIES = {"usd": "USD", "gbp": "GBP", "eur": "EUR", "jpy": "JPY", "dkk": "DKK"}
_COMPACT = {
    "thousands": (Decimal(10) ** 3, "K"),
    "K": (Decimal(10) ** 3, "K"),
    "thousand": (Decimal(10) ** 3, "K"),
    "millions": (Decimal(10) ** 6, "M"),
    "M": (Decimal(10) ** 6, "M"),
    "million": (Decimal(10) ** 6, "M"),
    "billions": (Decimal(10) ** 9, "B"),
    "B": (Decimal(10) ** 9, "B"),
    "billion": (Decimal(10) ** 9, "B"),
    "trillions": (Decimal(10) ** 12, "T"),
    "T": (Decimal(10) ** 12, "T"),
    "trillion": (Decimal(10) ** 12, "T"),
}
_LEGACY_FORMATS = frozenset({*_LEGACY_CURRENCIES, "percent", "id", "km", "mi"})
_SEPARATORS = {
    "default": (",", "."),
    "commaPeriod": (",", "."),
    "spacePeriod": (" ", "."),
    "periodComma": (".", ","),
    "noSeparatorPeriod": ("", "."),
}


def format_value(field: Mapping[str, Any] | None, raw: Any) -> str:
    """The ``formatted`` string Lightdash shows for ``raw`` in ``field`` (rules: module doc)."""
    if raw is None:
        return NULL
    field = field or {}
    if isinstance(raw, bool):
        return "True" if raw else "False"
    options = field.get("formatOptions")
    if not isinstance(options, Mapping):
        table_calc_format = field.get("format")
        options = table_calc_format if isinstance(table_calc_format, Mapping) else {}
    kind = str(field.get("valueType") or field.get("type") or "")
    options_type = str(options.get("type") or "default")
    if (
        isinstance(raw, datetime | date)
        or kind in ("date", "timestamp")
        or options_type in ("date", "timestamp")
    ):
        moment = _as_moment(raw)
        if moment is not None:
            interval = options.get("timeInterval") or field.get("timeInterval")
            return _format_moment(
                moment,
                str(interval or "").upper(),
                kind == "timestamp" or isinstance(moment, datetime),
            )
    number = _as_number(raw)
    if number is None or (isinstance(raw, str) and kind not in ("number", "")) or kind == "string":
        return str(raw)
    try:
        with localcontext() as context:
            # Doubles reach 1e308: enough digits that rounding never overflows the context.
            context.prec = 1100
            return _format_number(number, options, field)
    except (InvalidOperation, ValueError, OverflowError):
        return str(raw)


def _as_moment(raw: Any) -> date | datetime | None:
    if isinstance(raw, datetime | date):
        return raw
    if isinstance(raw, str):
        text = raw.strip().replace("Z", "+00:00")
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return datetime.fromisoformat(text)
        except ValueError:
            return None
    return None


def _format_moment(moment: date | datetime, interval: str, is_timestamp: bool) -> str:
    day = moment.date() if isinstance(moment, datetime) else moment
    if interval in ("DAY", "WEEK"):
        return day.isoformat()
    if interval == "MONTH":
        return f"{day.year:04d}-{day.month:02d}"
    if interval == "QUARTER":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    if interval == "YEAR":
        return f"{day.year:04d}"
    if not isinstance(moment, datetime):
        return day.isoformat()
    if interval == "HOUR":
        return moment.strftime("%Y-%m-%d, %H")
    if interval == "MINUTE":
        return moment.strftime("%Y-%m-%d, %H:%M")
    if interval == "SECOND":
        return moment.strftime("%Y-%m-%d, %H:%M:%S")
    if not is_timestamp and moment.time() == datetime.min.time():
        return day.isoformat()
    offset = moment.strftime("%z") or "+0000"
    return (
        moment.strftime("%Y-%m-%d, %H:%M:%S")
        + f":{moment.microsecond // 1000:03d} ({offset[:3]}:{offset[3:]})"
    )


def _as_number(raw: Any) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return None
        return Decimal(repr(raw))
    if isinstance(raw, int | Decimal):
        return Decimal(raw)
    if isinstance(raw, str):
        try:
            number = Decimal(raw.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _format_number(number: Decimal, options: Mapping[str, Any], field: Mapping[str, Any]) -> str:
    legacy = field.get("format") if isinstance(field.get("format"), str) else None
    kind = str(options.get("type") or "default")
    round_to = options.get("round", field.get("round"))
    compact = options.get("compact", field.get("compact"))
    currency = options.get("currency")
    separator = str(options.get("separator") or "default")
    prefix, suffix = str(options.get("prefix") or ""), str(options.get("suffix") or "")
    if kind == "default" and legacy and legacy.lower() not in _LEGACY_FORMATS:
        expression = _spreadsheet_format(legacy)
        if expression is not None:
            return _format_spreadsheet(number, expression)
        legacy = None
    if kind == "default" and legacy:
        legacy = legacy.lower()
        if legacy in _LEGACY_CURRENCIES:
            kind, currency = "currency", _LEGACY_CURRENCIES[legacy]
        elif legacy == "percent":
            kind = "percent"
        elif legacy == "id":
            kind = "id"
        elif legacy in ("km", "mi"):
            suffix = f" {legacy}"
    if kind == "id":
        return (
            prefix
            + (
                str(number.to_integral_value())
                if number == number.to_integral_value()
                else str(number)
            )
            + suffix
        )
    if kind == "percent":
        number *= 100
        suffix = "%" + suffix
    compact_suffix = ""
    if isinstance(compact, str) and compact in _COMPACT:
        divisor, compact_suffix = _COMPACT[compact]
        number /= divisor
    places = round_to if isinstance(round_to, int) and not isinstance(round_to, bool) else None
    if places is not None:
        places = max(-20, min(20, places))
    if kind == "currency":
        code = str(currency or "USD").upper()
        text = _digits(number, places if places is not None else 2, fixed=True, separator=separator)
        symbol = _CURRENCY_SYMBOLS.get(code)
        sign = "-" if text.startswith("-") else ""
        text = text.lstrip("-")
        money = f"{sign}{symbol}{text}" if symbol else f"{sign}{code} {text}"
        return prefix + money + compact_suffix + suffix
    if places is None:
        text = _digits(number, 3 if kind != "percent" else 2, fixed=False, separator=separator)
    else:
        text = _digits(number, places, fixed=True, separator=separator)
    return prefix + text + compact_suffix + suffix


def _digits(number: Decimal, places: int, *, fixed: bool, separator: str) -> str:
    """``number`` rounded half-up to ``places`` (trailing zeros kept when ``fixed``), grouped."""
    thousands, decimal_point = _SEPARATORS.get(separator, _SEPARATORS["default"])
    if places < 0:
        step = Decimal(10) ** (-places)
        number = (number / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
        places = 0
    quantum = Decimal(1).scaleb(-places)
    rounded = number.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    text = f"{abs(rounded):f}"
    whole, _, fraction = text.partition(".")
    if not fixed:
        fraction = fraction.rstrip("0")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    result = thousands.join(groups)
    if fraction:
        result += decimal_point + fraction
    if result in ("0", "") and sign:
        sign = ""
    return sign + result


def _spreadsheet_format(expression: str) -> tuple[str, str, int, bool, bool] | None:
    """A number format expression (``$#,##0.00``, ``#,##0.0%``, ``[$£]#,##0``) read as
    (prefix, suffix, decimals, thousands separator, percent); None for anything else."""
    text = expression.strip()
    prefix = ""
    if text.startswith("[$"):
        end = text.find("]")
        if end < 0:
            return None
        prefix = text[2:end].split("-", 1)[0]
        text = text[end + 1 :]
    digits = [i for i, c in enumerate(text) if c in "#0"]
    if not digits or any(c in text for c in "ymdhsYMDHS"):
        return None
    pattern = text[digits[0] : digits[-1] + 1]
    if any(c not in "#0,." for c in pattern):
        return None
    prefix += text[: digits[0]].replace('"', "")
    suffix = text[digits[-1] + 1 :].replace('"', "")
    percent = "%" in suffix
    decimals = len(pattern.split(".", 1)[1]) if "." in pattern else 0
    return prefix, suffix, decimals, "," in pattern, percent


def _format_spreadsheet(number: Decimal, expression: tuple[str, str, int, bool, bool]) -> str:
    prefix, suffix, decimals, grouped, percent = expression
    if percent:
        number *= 100
    text = _digits(
        number, decimals, fixed=True, separator="default" if grouped else "noSeparatorPeriod"
    )
    sign = "-" if text.startswith("-") else ""
    return sign + prefix + text.lstrip("-") + suffix
