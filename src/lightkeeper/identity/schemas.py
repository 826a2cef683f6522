"""Wire models of identity: the principal, login, registration, passwords."""

from __future__ import annotations

from typing import Any

from lightkeeper.auth.principal import Principal
from lightkeeper.authz.abilities import ability_rules
from lightkeeper.kit.schemas import CamelModel


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
