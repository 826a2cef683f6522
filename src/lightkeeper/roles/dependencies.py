"""What a custom-roles route requires: an authenticated principal (401), then the Enterprise gate."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from lightkeeper.auth.principal import Principal
from lightkeeper.deps import CurrentPrincipal, SettingsDep
from lightkeeper.roles.service import require_enabled


async def _custom_roles_principal(principal: CurrentPrincipal, settings: SettingsDep) -> Principal:
    """Authenticated first (401), then the Enterprise gate (403)."""
    require_enabled(settings)
    return principal


RolesPrincipal = Annotated[Principal, Depends(_custom_roles_principal)]
