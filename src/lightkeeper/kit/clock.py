"""The one clock. Every "now" in Lightkeeper comes from here so tests can move time."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import orjson


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    # Test controls ------------------------------------------------------
    def advance(self, delta: timedelta) -> None:
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta

    def freeze(self, at: datetime | None = None) -> None:
        self._frozen = as_utc(at) if at else self.now()

    def reset(self) -> None:
        self._offset = timedelta(0)
        self._frozen = None


clock = Clock()


def utcnow() -> datetime:
    return clock.now()


def as_utc(value: datetime) -> datetime:
    """Times read back from SQLite come without tzinfo; they are stored in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_UTC_Z = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC  # SQLite reads back UTC without tzinfo


def iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with milliseconds and a Z suffix, as the API promises."""
    if value is None:
        return None
    if value.tzinfo is not None and value.tzinfo is not UTC:  # e.g. psycopg's zone of the server
        value = value.astimezone(UTC)
    if value.year >= 1000:  # orjson cannot write earlier years
        # orjson's C formatter is several times faster than isoformat (and that than strftime),
        # and lists format a time per row. It writes microseconds only when there are some.
        text = orjson.dumps(value, option=_UTC_Z)  # b'"2030-01-02T03:04:05.678999Z"'
        return text[1:24].decode() + "Z" if len(text) > 22 else text[1:20].decode() + ".000Z"
    value = as_utc(value)  # ISO-8601 years have four digits, which strftime's %Y does not pad to
    return (
        f"{value.year:04d}"
        + value.strftime("-%m-%dT%H:%M:%S.")
        + f"{value.microsecond // 1000:03d}Z"
    )


def seconds_until(moment: datetime) -> int:
    """Whole seconds from now until `moment`, at least 1: a Retry-After value."""
    return max(1, math.ceil((as_utc(moment) - utcnow()).total_seconds()))
