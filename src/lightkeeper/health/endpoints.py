"""`GET /api/v1/health`: what a client needs to know before it authenticates."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from sqlalchemy import exists, select

from lightkeeper import __version__
from lightkeeper.config import Settings
from lightkeeper.deps import RequestRoute, optional_principal, runtime_of
from lightkeeper.kit.errors import AuthorizationError
from lightkeeper.kit.memo import PerObject
from lightkeeper.kit.schemas import ok
from lightkeeper.kit.threadpool import run_sync
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


def health_results(settings: Settings, *, authenticated: bool, has_org: bool) -> dict[str, Any]:
    """The health answer: the settings a client reads before it authenticates."""
    return {
        "version": __version__,
        "mode": "default",
        "isAuthenticated": authenticated,
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


def _bodies(settings: Settings) -> dict[tuple[bool, bool], bytes]:
    # Settings do not change while a process runs: the four possible answers, serialised once.
    return {
        (authenticated, has_org): orjson.dumps(
            ok(health_results(settings, authenticated=authenticated, has_org=has_org))
        )
        for authenticated in (False, True)
        for has_org in (False, True)
    }


_health_bodies = PerObject(_bodies, max_entries=64)


@router.get("/api/v1/health", response_model=dict[str, Any], openapi_extra={"security": []})
async def health(request: Request) -> Response:
    """Open to everyone; a rejected credential just means "not authenticated" here.

    Async with no database work once an organization exists and the caller's
    token (if any) is cached: a health check costs no thread hop.
    """
    runtime = runtime_of(request)
    try:
        principal = await optional_principal(request)
    except AuthorizationError:
        principal = None
    has_org = runtime.organization_exists or await run_sync(_organization_exists, runtime)
    body = _health_bodies(runtime.settings)[(principal is not None, has_org)]
    return Response(body, media_type="application/json")
