"""Every query of invite links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lightkeeper.models import InviteLink


def invite_by_code(session: Session, invite_code: str) -> InviteLink | None:
    return session.get(InviteLink, invite_code)


def open_invites(session: Session, organization_uuid: str, now: datetime) -> list[InviteLink]:
    return list(
        session.scalars(
            select(InviteLink)
            .where(InviteLink.organization_uuid == organization_uuid, InviteLink.expires_at > now)
            .order_by(InviteLink.created_at.desc(), InviteLink.invite_code)
        )
    )


def delete_invites_for(session: Session, organization_uuid: str, email: str) -> None:
    session.execute(
        delete(InviteLink).where(
            InviteLink.organization_uuid == organization_uuid,
            func.lower(InviteLink.email) == email.lower(),
        )
    )


def delete_invite(session: Session, invite_code: str) -> None:
    session.execute(delete(InviteLink).where(InviteLink.invite_code == invite_code))
