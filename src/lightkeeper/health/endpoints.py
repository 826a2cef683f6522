"""`GET /api/v1/health`: what a client needs to know before it authenticates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import exists, select
from starlette.concurrency import run_in_threadpool

from lightkeeper import __version__
from lightkeeper.deps import RequestRoute, RuntimeDep, SessionDep, SettingsDep, optional_principal
from lightkeeper.kit.errors import AuthorizationError
from lightkeeper.kit.schemas import ok
from lightkeeper.models import Organization
from lightkeeper.runtime import Runtime

router = APIRouter(tags=["Health"], route_class=RequestRoute)


def _organization_exists(runtime: Runtime) -> bool:
    """Remembered once true: organizations are never deleted, so only "none yet" is asked again."""
    if not runtime.organization_exists:
        with runtime.sessions() as session:
            found = session.scalar(select(exists().where(Organization.uuid.is_not(None))))
        runtime.organization_exists = bool(found)
    return runtime.organization_exists


@router.get("/api/v1/health", openapi_extra={"security": []})
async def health(
    request: Request, runtime: RuntimeDep, settings: SettingsDep, session: SessionDep
) -> dict[str, Any]:
    """Open to everyone; a rejected credential just means "not authenticated" here.

    Async with no database work once an organization exists and the caller's
    token is cached: a health check costs no thread hop.
    """
    try:
        principal = await optional_principal(request, runtime, session)
    except AuthorizationError:
        principal = None
    has_org = runtime.organization_exists or await run_in_threadpool(_organization_exists, runtime)
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
            "query": {
                "maxLimit": settings.query_max_limit,
                "defaultLimit": settings.query_default_limit,
                "maxPageSize": settings.query_max_page_size,
                "csvCellsLimit": settings.csv_cells_limit,
            },
        }
    )
