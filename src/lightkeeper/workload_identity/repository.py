"""Every query of workload identity: trust policies, minted tokens, used identity tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lightkeeper.models import ServiceAccountToken, TrustPolicy, UsedIdentityToken

EXCHANGED = "exchanged"


def policies_of(session: Session, service_account_uuid: str) -> list[TrustPolicy]:
    return list(
        session.scalars(
            select(TrustPolicy)
            .where(TrustPolicy.service_account_uuid == service_account_uuid)
            .order_by(TrustPolicy.created_at, TrustPolicy.uuid)
        )
    )


def policies_in_organization(session: Session, organization_uuid: str) -> list[TrustPolicy]:
    return list(
        session.scalars(
            select(TrustPolicy)
            .where(TrustPolicy.organization_uuid == organization_uuid)
            .order_by(TrustPolicy.created_at, TrustPolicy.uuid)
        )
    )


def policy_of(session: Session, service_account_uuid: str, uuid: str) -> TrustPolicy | None:
    return session.scalar(
        select(TrustPolicy).where(
            TrustPolicy.uuid == uuid, TrustPolicy.service_account_uuid == service_account_uuid
        )
    )


def issuer_is_trusted(session: Session, issuer: str) -> bool:
    """Whether any policy (of any organization) names this issuer: only then are its keys fetched."""
    return (
        session.scalar(select(TrustPolicy.uuid).where(TrustPolicy.issuer == issuer).limit(1))
        is not None
    )


def enabled_policies(session: Session, issuer: str, audience: str) -> list[TrustPolicy]:
    """The enabled policies of every organization for this exact issuer and audience, oldest first."""
    return list(
        session.scalars(
            select(TrustPolicy)
            .where(
                TrustPolicy.issuer == issuer,
                TrustPolicy.audience == audience,
                TrustPolicy.enabled.is_(True),
            )
            .order_by(TrustPolicy.created_at, TrustPolicy.uuid)
        )
    )


def remember_identity_token(
    session: Session, key: str, expires_at: datetime, now: datetime
) -> None:
    """Record an identity token as used; the primary key refuses a second use (IntegrityError).

    The insert is the decision, not a check before it: two concurrent exchanges
    of one token both insert, the database lets exactly one commit (PostgreSQL
    blocks the second insert until the first commits, then fails it; SQLite's
    writers run one at a time). Rows of expired tokens are purged first.
    """
    session.execute(delete(UsedIdentityToken).where(UsedIdentityToken.expires_at < now))
    session.add(UsedIdentityToken(key=key, expires_at=expires_at))
    session.flush()


def revoke_minted_tokens(session: Session, trust_policy_uuid: str) -> None:
    """Delete the tokens a policy minted (an ORM delete, so every process's cache hears of it)."""
    session.execute(
        delete(ServiceAccountToken).where(
            ServiceAccountToken.trust_policy_uuid == trust_policy_uuid
        )
    )
