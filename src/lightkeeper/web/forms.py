"""Turning form fields into service arguments: the pieces several pages share."""

from __future__ import annotations

import calendar
import uuid as uuid_module
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Form

from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import NotFoundError
from lightkeeper.web.core import FormProblem

FormText = Annotated[str, Form()]
FormList = Annotated[list[str] | None, Form()]

CHOOSE_EXPIRATION = "Choose when the token expires"
EXPIRATION_OPTIONS = (
    ("never", "No expiration"),
    ("7", "7 days"),
    ("30", "30 days"),
    ("60", "60 days"),
    ("90", "90 days"),
    ("6m", "6 months"),
    ("1y", "1 year"),
)


def page_uuid(value: str, kind: str) -> str:
    """An id from the address or a form; anything that is not a uuid is a 404 page."""
    try:
        return str(uuid_module.UUID(value))
    except ValueError:
        raise NotFoundError(f"{kind} not found") from None


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def expiry_from_choice(choice: str, *, allow_never: bool = True) -> datetime | None:
    """`never`, a number of days, `6m` or `1y`, counted from now by the server's clock."""
    now = utcnow()
    if choice == "never" and allow_never:
        return None
    if choice == "6m" and allow_never:
        return add_months(now, 6)
    if choice == "1y" and allow_never:
        return add_months(now, 12)
    if choice.isdigit() and 0 < int(choice) <= 3660:
        return now + timedelta(days=int(choice))
    raise FormProblem(CHOOSE_EXPIRATION, "expiration")


def local_time(value: str, label: str) -> datetime | None:
    """A `datetime-local` field, read as UTC (the page says so)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FormProblem(f"{label} is not a date and time", label.lower()) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
