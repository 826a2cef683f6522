"""Every query of the identity domain: users, sessions, personal tokens, invites."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lightkeeper.models import Organization, PersonalAccessToken, User, UserSession


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


def end_sessions(session: Session, user_uuid: str, *, keep: str | None = None) -> None:
    statement = delete(UserSession).where(UserSession.user_uuid == user_uuid)
    if keep is not None:
        statement = statement.where(UserSession.token_hash != keep)
    session.execute(statement)


def revoke_personal_tokens(session: Session, user_uuid: str) -> None:
    session.execute(delete(PersonalAccessToken).where(PersonalAccessToken.user_uuid == user_uuid))
