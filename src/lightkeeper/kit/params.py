"""Query parameters Lightdash's clients send as numbers (`2`, or `2.0` from a JavaScript float)."""

from __future__ import annotations

import math

from lightkeeper.kit.errors import ParameterError


def whole_number(value: str | None, field: str, *, minimum: int, maximum: int) -> int | None:
    """A query parameter that is a whole number (Lightdash's clients send `2` or `2.0`); 400 else."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not number.is_integer() or not minimum <= number <= maximum:
        message = f"{field} must be a whole number between {minimum} and {maximum}"
        raise ParameterError(message, {"fields": {field: message}})
    return int(number)
