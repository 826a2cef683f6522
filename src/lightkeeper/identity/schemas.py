"""Wire models of identity: the principal, login, registration, passwords."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from lightkeeper.auth.principal import Principal
from lightkeeper.authz.abilities import ability_rules
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.schemas import CamelModel, UTCTime


class UserOut(CamelModel):
    """`GET /api/v1/user` (and login, registration): Lightdash's `LightdashUser` with its
    ability rules (`SessionUser`), every field its type requires.

    A service account has no email: `email` (optional in Lightdash's type) is then omitted,
    never null (docs/decisions.md). Lightkeeper tracks nothing and asks no setup questions,
    so `isTrackingAnonymized` and `isMarketingOptedIn` are false and `isSetupComplete` true.
    """

    user_uuid: str
    organization_uuid: str
    organization_name: str
    organization_created_at: UTCTime
    email: str | None = Field(default=None, exclude_if=lambda v: v is None)
    first_name: str
    last_name: str
    role: str
    is_service_account: bool
    service_account_uuid: str | None
    is_active: bool = True
    is_pending: bool = False
    is_tracking_anonymized: bool = False
    is_marketing_opted_in: bool = False
    is_setup_complete: bool = True
    created_at: UTCTime
    updated_at: UTCTime
    ability_rules: list[dict[str, Any]]

    @classmethod
    def of(cls, principal: Principal) -> UserOut:
        # Whoever authenticates is active: deactivated people have no credential that works.
        now: datetime = utcnow()
        return cls(
            user_uuid=principal.user_uuid,
            organization_uuid=principal.organization_uuid,
            organization_name=principal.organization_name,
            organization_created_at=principal.organization_created_at or now,
            email=principal.email,
            first_name=principal.first_name,
            last_name=principal.last_name,
            role=principal.role,
            is_service_account=principal.is_service_account,
            service_account_uuid=principal.service_account_uuid,
            is_active=True,
            created_at=principal.created_at or now,
            updated_at=principal.updated_at or now,
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
