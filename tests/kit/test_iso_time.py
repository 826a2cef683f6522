"""`kit.clock.iso`, the one output format of times: ISO-8601 UTC, milliseconds, Z."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from lightkeeper.kit.clock import iso


def _reference(value: datetime) -> str:
    """The format spelled out: UTC, seconds, then milliseconds truncated, then Z."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


_OFFSETS = st.sampled_from(
    [
        None,
        UTC,
        timezone(timedelta(hours=2)),
        timezone(timedelta(hours=-5, minutes=-30)),
        ZoneInfo("Etc/UTC"),  # what psycopg gives for a server whose TimeZone is Etc/UTC
        ZoneInfo("Europe/Berlin"),
    ]
)


@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)), _OFFSETS)
def test_iso_matches_the_spelled_out_format(moment: datetime, tz: tzinfo | None) -> None:
    value = moment if tz is None else moment.replace(tzinfo=tz)
    assert iso(value) == _reference(value)


def test_iso_examples() -> None:
    assert iso(datetime(2030, 1, 2, 3, 4, 5, 678999)) == "2030-01-02T03:04:05.678Z"
    assert iso(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2030-01-02T03:04:05.000Z"
    offset = timezone(timedelta(hours=2))
    assert iso(datetime(2030, 1, 2, 3, 4, 5, 1000, tzinfo=offset)) == "2030-01-02T01:04:05.001Z"
    assert iso(None) is None


def test_a_year_before_1000_has_four_digits() -> None:
    assert iso(datetime(999, 1, 2, 3, 4, 5, 6000)) == "0999-01-02T03:04:05.006Z"
    assert iso(datetime(5, 1, 2, 3, 4, 5)) == "0005-01-02T03:04:05.000Z"
