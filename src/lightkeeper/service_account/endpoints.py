"""Service-account API: `/api/v1/service-accounts` (Enterprise; needs manage:Organization)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from lightkeeper.auth.principal import Principal
from lightkeeper.deps import CurrentPrincipal, RequestRoute, RuntimeDep, SessionDep, SettingsDep
from lightkeeper.identity.attribution import user_ref
from lightkeeper.kit.schemas import Envelope, OkResponse, ok
from lightkeeper.service_account import service
from lightkeeper.service_account.repository import AccountRow
from lightkeeper.service_account.schemas import (
    ProjectAccessIn,
    ServiceAccountCreate,
    ServiceAccountOut,
    ServiceAccountProjectOut,
    ServiceAccountRotate,
    ServiceAccountUpdate,
    ServiceAccountWithToken,
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "ParameterError: invalid input (the message says what to fix)"},
    401: {"description": "AuthorizationError: no or invalid credential"},
    403: {"description": "ForbiddenError: feature disabled, not permitted, or beyond one's own"},
    404: {"description": "NotFoundError: no such service account (or project/role) here"},
}
router = APIRouter(
    prefix="/api/v1/service-accounts",
    tags=["Service accounts"],
    responses=_ERRORS,
    route_class=RequestRoute,
)

_GATE = (
    " Needs `SERVICE_ACCOUNT_ENABLED=true` with an Enterprise license (else 403) and "
    "`manage:Organization`."
)


async def _manager(principal: CurrentPrincipal, settings: SettingsDep) -> Principal:
    """Authentication first (401), then the feature (403), then manage:Organization (403)."""
    service.check_access(settings, principal)
    return principal


Manager = Annotated[Principal, Depends(_manager)]


def _out(row: AccountRow) -> ServiceAccountOut:
    account, creator = row.account, row.creator
    return ServiceAccountOut(
        uuid=account.uuid,
        organization_uuid=account.organization_uuid,
        description=account.description,
        created_at=account.created_at,
        created_by_user_uuid=account.created_by_user_uuid,
        created_by=user_ref(creator),
        expires_at=account.expires_at,
        last_used_at=account.last_used_at,
        rotated_at=account.rotated_at,
        rotated_by_user_uuid=account.rotated_by_user_uuid,
        scopes=list(account.scopes),
        role_uuid=account.role_uuid,
        user_uuid=account.user_uuid,
        project_access_count=row.project_access_count,
        last_used_ip=account.last_used_ip,
        last_used_user_agent=account.last_used_user_agent,
        token_hint=account.token_hint,
        previous_token_expires_at=row.previous_token_expires_at,
        allowed_ip_ranges=list(account.allowed_ip_ranges or []),
    )


def _with_token(row: AccountRow, token: str) -> Envelope[ServiceAccountWithToken]:
    return Envelope[ServiceAccountWithToken](
        results=ServiceAccountWithToken(**dict(_out(row)), token=token)
    )


def _grants(items: list[ProjectAccessIn] | None) -> list[service.GrantRequest] | None:
    if items is None:
        return None
    return [
        service.GrantRequest(
            project_uuid=str(item.project_uuid),
            role=item.role,
            role_uuid=str(item.role_uuid) if item.role_uuid is not None else None,
        )
        for item in items
    ]


@router.get(
    "",
    response_model=Envelope[list[ServiceAccountOut]],
    summary="List the organization's service accounts",
    description="Newest first, each with `projectAccessCount`." + _GATE,
)
def list_service_accounts(
    principal: Manager, session: SessionDep
) -> Envelope[list[ServiceAccountOut]]:
    rows = service.list_service_accounts(session, principal)
    return Envelope[list[ServiceAccountOut]](results=[_out(r) for r in rows])


@router.post(
    "",
    status_code=201,
    response_model=Envelope[ServiceAccountWithToken],
    summary="Create a service account",
    description=(
        'Exactly one shape: `scopes: ["system:<role>"]` (or legacy `org:*` scopes), `roleUuid` '
        '(a custom role), or `scopes: ["system:member"]` with `projectAccess`. Answers 201 with '
        "the token, shown only here." + _GATE
    ),
)
def create_service_account(
    body: ServiceAccountCreate, principal: Manager, runtime: RuntimeDep, session: SessionDep
) -> Envelope[ServiceAccountWithToken]:
    account, token = service.create_service_account(
        runtime,
        session,
        principal,
        description=body.description,
        expires_at=body.expires_at,
        scopes=body.scopes,
        role_uuid=str(body.role_uuid) if body.role_uuid is not None else None,
        project_access=_grants(body.project_access),
        allowed_ip_ranges=body.allowed_ip_ranges,
    )
    return _with_token(service.get_service_account(session, principal, account.uuid), token)


@router.get(
    "/{uuid}",
    response_model=Envelope[ServiceAccountOut],
    summary="Get a service account",
    description="Another organization's service account is 404." + _GATE,
)
def get_service_account(
    uuid: UUID, principal: Manager, session: SessionDep
) -> Envelope[ServiceAccountOut]:
    return Envelope[ServiceAccountOut](
        results=_out(service.get_service_account(session, principal, str(uuid)))
    )


@router.patch(
    "/{uuid}",
    response_model=Envelope[ServiceAccountOut],
    summary="Edit a service account in place",
    description=(
        "`description` is required. `scopes` (not system:member) → organization scope; "
        '`roleUuid` → custom role; `projectAccess` or `scopes: ["system:member"]` → project '
        "scope with its grants replaced; none of them → rename only. Token and expiry are "
        "untouched." + _GATE
    ),
)
def update_service_account(
    uuid: UUID,
    body: ServiceAccountUpdate,
    principal: Manager,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Envelope[ServiceAccountOut]:
    account = service.update_service_account(
        runtime,
        session,
        principal,
        str(uuid),
        description=body.description,
        scopes=body.scopes,
        role_uuid=str(body.role_uuid) if body.role_uuid is not None else None,
        project_access=_grants(body.project_access),
        allowed_ip_ranges=body.allowed_ip_ranges,
        set_ip_ranges="allowed_ip_ranges" in body.model_fields_set,
    )
    return Envelope[ServiceAccountOut](
        results=_out(service.get_service_account(session, principal, account.uuid))
    )


@router.patch(
    "/{uuid}/rotate",
    response_model=Envelope[ServiceAccountWithToken],
    summary="Rotate a service account's token",
    responses={429: {"description": "TooManyRequestsError: rotated less than an hour ago"}},
    description=(
        "Only for a token with an expiry; the new `expiresAt` is required and in the future. At "
        "most once per hour (429 with `Retry-After`). The old token stops working at once, or "
        "after `gracePeriodMinutes` (0-1440; a later rotation ends that grace at once); the "
        "new one is shown only here." + _GATE
    ),
)
def rotate_service_account(
    uuid: UUID,
    principal: Manager,
    runtime: RuntimeDep,
    session: SessionDep,
    body: ServiceAccountRotate | None = None,
) -> Envelope[ServiceAccountWithToken]:
    # No body is a missing expiry: the service's rule gives the spec's message for both.
    expires_at = body.expires_at if body is not None else None
    account, token = service.rotate_token(
        runtime,
        session,
        principal,
        str(uuid),
        expires_at=expires_at,
        grace_period_minutes=body.grace_period_minutes if body is not None else 0,
    )
    return _with_token(service.get_service_account(session, principal, account.uuid), token)


@router.delete(
    "/{uuid}",
    response_model=OkResponse,
    summary="Delete a service account",
    description="Its token stops working on the very next request." + _GATE,
)
def delete_service_account(
    uuid: UUID, principal: Manager, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    service.delete_service_account(runtime, session, principal, str(uuid))
    return ok()


@router.get(
    "/{uuid}/projects",
    response_model=Envelope[list[ServiceAccountProjectOut]],
    response_model_exclude_none=True,
    summary="List a service account's project grants",
    description="Each grant with its project name and system role or custom role." + _GATE,
)
def service_account_projects(
    uuid: UUID, principal: Manager, session: SessionDep
) -> Envelope[list[ServiceAccountProjectOut]]:
    grants = service.project_grants(session, principal, str(uuid))
    return Envelope[list[ServiceAccountProjectOut]](
        results=[
            ServiceAccountProjectOut(
                project_uuid=g.project_uuid,
                project_name=g.project_name,
                role=g.role,
                role_uuid=g.role_uuid,
                role_name=g.role_name,
            )
            for g in grants
        ]
    )
