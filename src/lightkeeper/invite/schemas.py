"""Wire models of invite links."""

from __future__ import annotations

from lightkeeper.kit.schemas import CamelModel, InputTime, UTCTime
from lightkeeper.models import InviteLink


class InviteCreate(CamelModel):
    email: str
    role: str | None = None  # the organization's default role when absent
    expires_at: InputTime | None = None  # a week when absent


class InviteOut(CamelModel):
    invite_code: str
    invite_url: str
    email: str
    role: str
    expires_at: UTCTime
    created_at: UTCTime

    @classmethod
    def of(cls, invite: InviteLink, url: str) -> InviteOut:
        return cls(
            invite_code=invite.invite_code,
            invite_url=url,
            email=invite.email,
            role=invite.role,
            expires_at=invite.expires_at,
            created_at=invite.created_at,
        )
