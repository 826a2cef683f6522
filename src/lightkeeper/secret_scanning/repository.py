"""Every query of the leaked-token response: live credentials by keyed hash."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lightkeeper.models import PersonalAccessToken, ServiceAccount, ServiceAccountToken, User


def service_account_by_hash(session: Session, digest: str) -> ServiceAccount | None:
    return session.scalar(select(ServiceAccount).where(ServiceAccount.token_hash == digest))


def extra_token_by_hash(session: Session, digest: str) -> ServiceAccountToken | None:
    """A grace-period or exchanged token of a service account."""
    return session.scalar(
        select(ServiceAccountToken).where(ServiceAccountToken.token_hash == digest)
    )


def personal_token_by_hash(
    session: Session, digest: str
) -> tuple[PersonalAccessToken, User] | None:
    row = session.execute(
        select(PersonalAccessToken, User)
        .join(User, User.uuid == PersonalAccessToken.user_uuid)
        .where(PersonalAccessToken.token_hash == digest)
    ).first()
    return (row[0], row[1]) if row is not None else None
