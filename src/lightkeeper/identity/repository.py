"""Every query of identity: organizations and people, sessions, login failures, the first registration."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from lightkeeper.models import AuthFailure, Organization, User, UserSession

# One advisory-lock key for "the first registration": a stable 31-bit number.
_FIRST_REGISTRATION_LOCK = zlib.crc32(b"lightkeeper/first-registration") & 0x7FFFFFFF


def organization_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Organization)) or 0


def organization_by_name(session: Session, name: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.name == name))


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def human_count(session: Session, organization_uuid: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.organization_uuid == organization_uuid, User.is_service_account.is_(False))
        )
        or 0
    )


def lock_first_registration(session: Session) -> None:
    """Serialize first registrations until the end of the transaction.

    PostgreSQL: a transaction-level advisory lock. SQLite: nothing more to do,
    a writing request holds the database write lock from its first statement.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_FIRST_REGISTRATION_LOCK)))


# -- sessions ----------------------------------------------------------------


def end_sessions(session: Session, user_uuid: str, *, keep: str | None = None) -> None:
    statement = delete(UserSession).where(UserSession.user_uuid == user_uuid)
    if keep is not None:
        statement = statement.where(UserSession.token_hash != keep)
    session.execute(statement)


def end_session(session: Session, token_hash: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))


def end_expired_sessions(session: Session, user_uuid: str, now: datetime) -> None:
    session.execute(
        delete(UserSession).where(UserSession.user_uuid == user_uuid, UserSession.expires_at <= now)
    )


# -- login failures ------------------------------------------------------------


def nth_recent_failure(
    session: Session,
    *,
    kinds: Sequence[str],
    since: datetime,
    nth: int,
    email: str | None = None,
    ip: str | None = None,
) -> datetime | None:
    """When the `nth` most recent failure (of an email, or of an IP) since `since` happened.

    None means fewer than `nth` failures: under the limit. Otherwise the
    limit lifts once that failure leaves the window.
    """
    statement = select(AuthFailure.occurred_at).where(
        AuthFailure.kind.in_(kinds), AuthFailure.occurred_at > since
    )
    if email is not None:
        statement = statement.where(AuthFailure.email == email)
    if ip is not None:
        statement = statement.where(AuthFailure.ip == ip)
    return session.scalar(
        statement.order_by(AuthFailure.occurred_at.desc()).offset(nth - 1).limit(1)
    )


def add_failure(
    session: Session, *, kind: str, email: str, ip: str, at: datetime, prune_before: datetime
) -> None:
    """Count one failure; rows of this email and IP that left the window go (both indexed)."""
    session.execute(
        delete(AuthFailure).where(
            or_(AuthFailure.email == email, AuthFailure.ip == ip),
            AuthFailure.occurred_at <= prune_before,
        )
    )
    session.add(AuthFailure(kind=kind, email=email, ip=ip[:64], occurred_at=at))


def clear_failures(session: Session, *, email: str, kinds: Sequence[str]) -> None:
    session.execute(
        delete(AuthFailure).where(AuthFailure.email == email, AuthFailure.kind.in_(kinds))
    )


def first_organization(session: Session) -> Organization | None:
    """The instance's oldest organization (the one first-run setup or registration made)."""
    return session.scalar(select(Organization).order_by(Organization.created_at).limit(1))


def first_admin(session: Session, organization_uuid: str) -> User | None:
    """The organization's longest-standing active admin (a person, never a service account)."""
    return session.scalar(
        select(User)
        .where(
            User.organization_uuid == organization_uuid,
            User.role == "admin",
            User.is_active.is_(True),
            User.is_service_account.is_(False),
        )
        .order_by(User.created_at)
        .limit(1)
    )
