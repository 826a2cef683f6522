"""Personal-token routes: one's own tokens under /api/v1/user, a member's under /api/v1/org/users."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request

from lightkeeper.auth.credentials import read_authorization
from lightkeeper.deps import (
    CurrentPrincipal,
    RequestRoute,
    RuntimeDep,
    SessionDep,
    SessionPrincipal,
)
from lightkeeper.kit.schemas import Envelope, OkResponse, ok
from lightkeeper.personal_token import service
from lightkeeper.personal_token.schemas import (
    PersonalTokenCreate,
    PersonalTokenOut,
    PersonalTokenRotate,
    PersonalTokenWithValue,
)

router = APIRouter(tags=["Identity"], route_class=RequestRoute)

_SESSION_ONLY: dict[str, Any] = {"security": [{"SessionCookie": []}]}
_SESSION_OR_PAT: dict[str, Any] = {
    "security": [{"SessionCookie": []}, {"ApiKeyAuth": []}, {"BearerAuth": []}]
}

TokenUuid = Annotated[UUID, Path(alias="uuid")]
UserUuid = Annotated[UUID, Path(alias="userUuid")]


@router.get(
    "/api/v1/user/me/personal-access-tokens",
    response_model=Envelope[list[PersonalTokenOut]],
    openapi_extra=_SESSION_OR_PAT,
)
@router.get(
    "/api/v1/user/personal-access-tokens",
    response_model=Envelope[list[PersonalTokenOut]],
    openapi_extra=_SESSION_OR_PAT,
)
def list_personal_tokens(
    principal: CurrentPrincipal, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """The caller's own personal tokens (never their values)."""
    tokens = service.list_personal_tokens(runtime, session, principal)
    return ok([PersonalTokenOut.of(t) for t in tokens])


@router.post(
    "/api/v1/user/me/personal-access-tokens",  # Lightdash's path (the CLI's login mints here)
    response_model=Envelope[PersonalTokenWithValue],
    openapi_extra=_SESSION_ONLY,
)
@router.post(
    "/api/v1/user/personal-access-tokens",
    response_model=Envelope[PersonalTokenWithValue],
    openapi_extra=_SESSION_ONLY,
)
def create_personal_token(
    body: PersonalTokenCreate, principal: SessionPrincipal, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Create a personal token; its value is in this response only."""
    pat, raw = service.create_personal_token(
        runtime, session, principal, description=body.description, expires_at=body.expires_at
    )
    return ok(PersonalTokenWithValue.of(pat, raw))


@router.delete(
    "/api/v1/user/me/personal-access-tokens/{uuid}",  # Lightdash's path
    response_model=OkResponse,
    response_model_exclude_none=True,
    openapi_extra=_SESSION_OR_PAT,
)
@router.delete(
    "/api/v1/user/personal-access-tokens/{uuid}",
    response_model=OkResponse,
    response_model_exclude_none=True,
    openapi_extra=_SESSION_OR_PAT,
)
def delete_personal_token(
    token_uuid: TokenUuid, principal: CurrentPrincipal, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Revoke one of the caller's personal tokens."""
    service.delete_personal_token(runtime, session, principal, str(token_uuid))
    return {"status": "ok"}


@router.patch(
    "/api/v1/user/me/personal-access-tokens/{uuid}/rotate",  # Lightdash's path
    response_model=Envelope[PersonalTokenWithValue],
    openapi_extra=_SESSION_OR_PAT,
)
@router.patch(
    "/api/v1/user/personal-access-tokens/{uuid}/rotate",
    response_model=Envelope[PersonalTokenWithValue],
    openapi_extra=_SESSION_OR_PAT,
)
def rotate_personal_token(
    token_uuid: TokenUuid,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    body: PersonalTokenRotate | None = None,
) -> dict[str, Any]:
    """Give a personal token a new value and expiry; the old value stops working at once."""
    presented = read_authorization(request.headers.get("authorization"))
    pat, raw = service.rotate_personal_token(
        runtime,
        session,
        principal,
        str(token_uuid),
        expires_at=body.expires_at if body else None,
        presented_token=presented.token if presented else None,
    )
    return ok(PersonalTokenWithValue.of(pat, raw))


@router.get(
    "/api/v1/org/users/{userUuid}/personal-access-tokens",
    response_model=Envelope[list[PersonalTokenOut]],
)
def list_member_tokens(
    user_uuid: UserUuid, principal: CurrentPrincipal, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """An admin's view of a member's personal tokens (never their values)."""
    tokens = service.list_member_tokens(runtime, session, principal, str(user_uuid))
    return ok([PersonalTokenOut.of(t) for t in tokens])


@router.delete(
    "/api/v1/org/users/{userUuid}/personal-access-tokens/{uuid}",
    response_model=OkResponse,
    response_model_exclude_none=True,
)
def revoke_member_token(
    user_uuid: UserUuid,
    token_uuid: TokenUuid,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """An admin revokes one of a member's personal tokens."""
    service.revoke_member_token(runtime, session, principal, str(user_uuid), str(token_uuid))
    return {"status": "ok"}
