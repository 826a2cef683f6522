"""Lightdash's filter operators (`FilterOperator`), by name: one list for the compiler and the CLI.

Pure data: the API client imports it too, so it imports nothing.
"""

from __future__ import annotations

FILTER_OPERATORS: tuple[str, ...] = (
    "isNull",
    "notNull",
    "equals",
    "notEquals",
    "startsWith",
    "endsWith",
    "include",
    "doesNotInclude",
    "lessThan",
    "lessThanOrEqual",
    "greaterThan",
    "greaterThanOrEqual",
    "inThePast",
    "notInThePast",
    "inTheNext",
    "inTheCurrent",
    "notInTheCurrent",
    "inBetween",
    "notInBetween",
    "inPeriodToDate",
)
