"""`GET /api/v1/health`: what a client needs to know before it authenticates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import exists, select

from lightkeeper import __version__
from lightkeeper.auth.dependencies import optional_principal
from lightkeeper.deps import RuntimeDep, SessionDep, SettingsDep
from lightkeeper.kit.errors import AuthorizationError
from lightkeeper.kit.schemas import ok
from lightkeeper.models import Organization

router = APIRouter(tags=["Health"])


@router.get("/api/v1/health", openapi_extra={"security": []})
def health(
    request: Request, runtime: RuntimeDep, settings: SettingsDep, session: SessionDep
) -> dict[str, Any]:
    """Open to everyone; a rejected credential just means "not authenticated" here."""
    try:
        principal = optional_principal(request, runtime, session)
    except AuthorizationError:
        principal = None
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
