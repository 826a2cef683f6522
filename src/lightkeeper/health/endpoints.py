"""`GET /api/v1/health`: what a client needs to know before it authenticates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import exists, select

from lightkeeper import __version__
from lightkeeper.auth.dependencies import OptionalPrincipal
from lightkeeper.deps import SessionDep, SettingsDep
from lightkeeper.kit.schemas import ok
from lightkeeper.models import Organization

router = APIRouter(tags=["Health"])


@router.get("/api/v1/health", openapi_extra={"security": []})
def health(settings: SettingsDep, session: SessionDep, principal: OptionalPrincipal) -> dict[str, Any]:
    has_org = session.scalar(select(exists().where(Organization.uuid.is_not(None))))
    return ok(
        {
            "version": __version__,
            "mode": "default",
            "isAuthenticated": principal is not None,
            "requiresOrgRegistration": not has_org,
            "isServiceAccountEnabled": settings.is_service_account_enabled,
            "isCustomRolesEnabled": settings.is_custom_roles_enabled,
            "hasEnterpriseLicense": settings.has_enterprise_license,
            "siteUrl": settings.site_url,
            "auth": {
                "pat": {
                    "enabled": settings.pat_enabled,
                    "allowedOrgRoles": list(settings.pat_allowed_roles),
                    "maxExpirationTimeInDays": settings.pat_max_expiration_time_in_days,
                }
            },
            "query": {"maxLimit": 5000, "maxPageSize": 2500},
        }
    )
