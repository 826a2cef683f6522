"""What a setup step is, and the readers of LD_SETUP_* values every step shares.

Below `setup.service` (which runs the steps) and each step's own module
(`setup.service_account`), so the steps import these at the top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from lightkeeper.audit.service import Actor
from lightkeeper.kit.tokens import MalformedTokenError, TokenKind, check_shape
from lightkeeper.models import Organization, User
from lightkeeper.runtime import Runtime

SETUP_ACTOR = Actor("system", None, "LD_SETUP")
DEFAULT_EXPIRATION_DAYS = 30
# Longest accepted expiry: far enough for anyone, small enough that the date never overflows.
MAX_EXPIRATION_DAYS = 36_500


class SetupError(Exception):
    """A setup variable has a bad value; the message names the variable."""


def env_value(env: Mapping[str, str], name: str) -> str | None:
    """A variable's value with surrounding blanks removed; unset and blank both mean "not set"."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    return raw.strip()


def parse_expiration_days(
    env: Mapping[str, str], name: str, *, default: int = DEFAULT_EXPIRATION_DAYS
) -> int | None:
    """Days until a setup token expires: a whole number, 0 = never (None); default 30.

    Rules: digits only (`30d`, `-1`, `1.5` and `abc` are refused rather than
    half-read); at most 36,500 days.
    """
    raw = env_value(env, name)
    if raw is None:
        days = default
    elif not raw.isdecimal() or not raw.isascii():
        raise SetupError(f"{name} must be a valid number")
    else:
        days = int(raw)
    if days > MAX_EXPIRATION_DAYS:
        raise SetupError(f"{name} must be at most {MAX_EXPIRATION_DAYS} days (use 0 for never)")
    return None if days == 0 else days


def check_setup_token(env: Mapping[str, str], name: str, kind: TokenKind) -> str | None:
    """A pre-set token from `name`, or None if unset.

    Rules: the kind's prefix, then 32 to 128 characters of [A-Za-z0-9_-]; a
    token in Lightkeeper's own shape must carry a valid checksum. Messages
    name the variable and never echo the token.
    """
    raw = env_value(env, name)
    if raw is None:
        return None
    generate = f"generate one with `lightkeeper tokens new {kind.value}`"
    try:
        check_shape(raw, kind)
    except MalformedTokenError as error:
        reason = str(error)
        if reason == "wrong prefix":
            raise SetupError(f"{name} must start with {kind.value}_: {generate}") from None
        if reason == "bad checksum":
            raise SetupError(
                f"{name} looks like a Lightkeeper token but its checksum is wrong "
                f"(mistyped or truncated?): {generate}"
            ) from None
        raise SetupError(
            f"{name} must be {kind.value}_ followed by 32 to 128 characters of "
            f"A-Z, a-z, 0-9, _ or - (shorter is too weak): {generate}"
        ) from None
    return raw


def expiry(days: int | None, now: datetime) -> datetime | None:
    """When a token made `now` expires after `days` (None: never)."""
    return None if days is None else now + timedelta(days=days)


@dataclass
class SetupContext:
    """What the steps build on: the new organization and admin, in the setup transaction."""

    runtime: Runtime
    session: Session
    organization: Organization
    admin: User
    now: datetime
    actor: Actor = SETUP_ACTOR


SetupAction = Callable[[SetupContext], None]


@dataclass(frozen=True)
class SetupStep:
    """One optional piece of setup.

    `prepare(runtime, env)` validates the step's variables (raising
    SetupError naming the variable) and returns the action to run inside the
    setup transaction, or None when the step is not configured. It runs on
    every start; the action runs only on an empty instance.
    """

    name: str
    variables: tuple[str, ...]
    prepare: Callable[[Runtime, Mapping[str, str]], SetupAction | None]
