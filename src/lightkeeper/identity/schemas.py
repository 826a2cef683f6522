"""Wire models of identity: the principal, login, registration, personal tokens, invites."""

from __future__ import annotations

from typing import Any

from lightkeeper.auth.principal import Principal
from lightkeeper.authz.abilities import ability_rules
from lightkeeper.kit.schemas import CamelModel, InputTime, UTCTime
from lightkeeper.models import InviteLink, PersonalAccessToken


class UserOut(CamelModel):
    """`GET /api/v1/user`: the current principal, as Lightdash's clients read it."""

    user_uuid: str
    organization_uuid: str
    organization_name: str
    email: str | None
    first_name: str
    last_name: str
    role: str
    is_service_account: bool
    service_account_uuid: str | None
    is_active: bool = True
    ability_rules: list[dict[str, Any]]

    @classmethod
    def of(cls, principal: Principal) -> UserOut:
        # Whoever authenticates is active: deactivated people have no credential that works.
        return cls(
            user_uuid=principal.user_uuid,
            organization_uuid=principal.organization_uuid,
            organization_name=principal.organization_name,
            email=principal.email,
            first_name=principal.first_name,
            last_name=principal.last_name,
            role=principal.role,
            is_service_account=principal.is_service_account,
            service_account_uuid=principal.service_account_uuid,
            is_active=True,
            ability_rules=ability_rules(principal),
        )


class LoginRequest(CamelModel):
    email: str
    password: str


class RegisterRequest(CamelModel):
    """`POST /api/v1/user`: the first organization, or a person with an invite.

    Which fields are required depends on the case, so the service checks them
    and names what is missing.
    """

    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    password: str | None = None
    organization_name: str | None = None
    invite_code: str | None = None


class PasswordChange(CamelModel):
    current_password: str
    new_password: str


class PersonalTokenCreate(CamelModel):
    """Absent `expiresAt` means null: a token that never expires (if the server allows it)."""

    description: str = ""
    expires_at: InputTime | None = None


class PersonalTokenRotate(CamelModel):
    expires_at: InputTime | None = None


class PersonalTokenOut(CamelModel):
    """A personal token as lists show it: never its value."""

    uuid: str
    description: str
    expires_at: UTCTime | None
    created_at: UTCTime
    last_used_at: UTCTime | None
    rotated_at: UTCTime | None
    token_hint: str

    @classmethod
    def of(cls, pat: PersonalAccessToken) -> PersonalTokenOut:
        return cls(
            uuid=pat.uuid,
            description=pat.description,
            expires_at=pat.expires_at,
            created_at=pat.created_at,
            last_used_at=pat.last_used_at,
            rotated_at=pat.rotated_at,
            token_hint=pat.token_hint,
        )


class PersonalTokenWithValue(PersonalTokenOut):
    """Create and rotate answers: the plaintext `token`, shown this once."""

    token: str

    @classmethod
    def of(cls, pat: PersonalAccessToken, token: str) -> PersonalTokenWithValue:  # type: ignore[override]
        return cls(**PersonalTokenOut.of(pat).model_dump(), token=token)


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
