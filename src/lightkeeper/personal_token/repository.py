"""Every query of personal access tokens (and of the people who hold them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.orm import Session

from lightkeeper.models import PersonalAccessToken, User


def human_in_organization(session: Session, organization_uuid: str, user_uuid: str) -> User | None:
    """A person (never a service account's principal) of one organization."""
    return session.scalar(
        select(User).where(
            User.uuid == user_uuid,
            User.organization_uuid == organization_uuid,
            User.is_service_account.is_(False),
        )
    )


def personal_tokens(session: Session, user_uuid: str) -> list[PersonalAccessToken]:
    return list(
        session.scalars(
            select(PersonalAccessToken)
            .where(PersonalAccessToken.user_uuid == user_uuid)
            .order_by(PersonalAccessToken.created_at.desc(), PersonalAccessToken.uuid)
        )
    )


def personal_token(session: Session, user_uuid: str, token_uuid: str) -> PersonalAccessToken | None:
    """One of `user_uuid`'s tokens; another person's token is indistinguishable from none."""
    return session.scalar(
        select(PersonalAccessToken).where(
            PersonalAccessToken.uuid == token_uuid, PersonalAccessToken.user_uuid == user_uuid
        )
    )


def delete_personal_token(session: Session, token_uuid: str) -> None:
    session.execute(delete(PersonalAccessToken).where(PersonalAccessToken.uuid == token_uuid))


def rotate_personal_token(
    session: Session,
    token_uuid: str,
    *,
    key_id: str,
    digest: str,
    token_hint: str,
    expires_at: datetime,
    now: datetime,
    not_rotated_since: datetime,
) -> bool:
    """Swap the token's hash only if it was not rotated after `not_rotated_since`.

    The condition is decided by the database in the UPDATE itself, so of many
    concurrent rotations (in any number of processes) exactly one matches.
    """
    result = session.execute(
        update(PersonalAccessToken)
        .where(
            PersonalAccessToken.uuid == token_uuid,
            or_(
                PersonalAccessToken.rotated_at.is_(None),
                PersonalAccessToken.rotated_at <= not_rotated_since,
            ),
        )
        .values(
            token_hash=digest,
            token_key_id=key_id,
            token_hint=token_hint,
            expires_at=expires_at,
            rotated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def revoke_personal_tokens(session: Session, user_uuid: str) -> None:
    session.execute(delete(PersonalAccessToken).where(PersonalAccessToken.user_uuid == user_uuid))
