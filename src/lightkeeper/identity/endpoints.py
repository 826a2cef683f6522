"""Identity routes: login, logout, the current user, registration, passwords, tokens, invites."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import TypeAdapter

from lightkeeper.auth.credentials import SESSION_COOKIE, read_authorization
from lightkeeper.auth.dependencies import CurrentPrincipal, SessionPrincipal, require_principal
from lightkeeper.auth.principal import Principal
from lightkeeper.deps import RequestRoute, RuntimeDep, SessionDep
from lightkeeper.identity import service
from lightkeeper.identity.schemas import (
    InviteCreate,
    InviteOut,
    LoginRequest,
    PasswordChange,
    PersonalTokenCreate,
    PersonalTokenOut,
    PersonalTokenRotate,
    PersonalTokenWithValue,
    RegisterRequest,
    UserOut,
)
from lightkeeper.kit.errors import AuthorizationError, ForbiddenError
from lightkeeper.kit.memo import PerObject
from lightkeeper.kit.schemas import Envelope, OkResponse, ok
from lightkeeper.runtime import Runtime

router = APIRouter(tags=["Identity"], route_class=RequestRoute)

_PUBLIC: dict[str, Any] = {"security": []}
_SESSION_ONLY: dict[str, Any] = {"security": [{"SessionCookie": []}]}
_SESSION_OR_PAT: dict[str, Any] = {
    "security": [{"SessionCookie": []}, {"ApiKeyAuth": []}, {"BearerAuth": []}]
}


def cookie_is_secure(request: Request, runtime: Runtime) -> bool:
    """Secure when configured or over HTTPS (a trusted proxy's X-Forwarded-Proto counts: kit.http)."""
    return runtime.settings.secure_cookies or request.url.scheme == "https"


def set_session_cookie(
    request: Request, response: Response, runtime: Runtime, new: service.NewSession
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        max_age=int(runtime.settings.cookies_max_age_hours * 3600),
        path="/",
        secure=cookie_is_secure(request, runtime),
        httponly=True,
        samesite="lax",
    )


async def require_password_owner(
    principal: Annotated[Principal, Depends(require_principal)],
) -> Principal:
    """Changing a password needs the person's own browser session."""
    if principal.is_service_account:
        raise ForbiddenError("Service accounts have no password")
    if principal.credential != "session":
        raise ForbiddenError(
            "Changing your password needs a browser session: log in with your email and password"
        )
    return principal


PasswordOwner = Annotated[Principal, Depends(require_password_owner)]
TokenUuid = Annotated[UUID, Path(alias="uuid")]
UserUuid = Annotated[UUID, Path(alias="userUuid")]
InviteCode = Annotated[str, Path(alias="inviteCode")]


# -- sessions and the current user -------------------------------------------------


@router.post("/api/v1/login", response_model=Envelope[UserOut], openapi_extra=_PUBLIC)
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Log in with email and password: the principal, and an HTTP-only session cookie."""
    user, new = service.login(
        runtime,
        session,
        body.email,
        body.password,
        previous_cookie=request.cookies.get(SESSION_COOKIE),
    )
    set_session_cookie(request, response, runtime, new)
    return ok(UserOut.of(service.session_principal(runtime, session, user, new)))


@router.get(
    "/api/v1/logout",
    response_model=OkResponse,
    response_model_exclude_none=True,
    openapi_extra=_SESSION_ONLY,
)
def logout(
    request: Request, response: Response, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """End the browser session and clear its cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise AuthorizationError("No session to end: you are not logged in")
    service.end_session(runtime, session, cookie)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=cookie_is_secure(request, runtime),
        httponly=True,
        samesite="lax",
    )
    return {"status": "ok"}


_USER_ENVELOPE = TypeAdapter(Envelope[UserOut])
# The body is derived from the principal alone: serialised once per cached principal
# (the same bytes FastAPI would write for the response model).
_user_body: PerObject[Principal, bytes] = PerObject(
    lambda principal: _USER_ENVELOPE.dump_json(
        Envelope[UserOut](results=UserOut.of(principal)), by_alias=True
    )
)


@router.get("/api/v1/user", response_model=Envelope[UserOut])
async def current_user(principal: CurrentPrincipal) -> Response:
    """The current principal (person or service account) with its ability rules."""
    return Response(_user_body(principal), media_type="application/json")


@router.post("/api/v1/user", response_model=Envelope[UserOut], openapi_extra=_PUBLIC)
def register(
    body: RegisterRequest,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Register: the first organization and its admin, or later a person with an invite."""
    form = service.Registration(
        first_name=body.first_name,
        last_name=body.last_name,
        email=body.email,
        password=body.password,
        organization_name=body.organization_name,
        invite_code=body.invite_code,
    )
    user, new = service.register(runtime, session, form)
    set_session_cookie(request, response, runtime, new)
    return ok(UserOut.of(service.session_principal(runtime, session, user, new)))


@router.post(
    "/api/v1/user/password",
    response_model=OkResponse,
    response_model_exclude_none=True,
    openapi_extra=_SESSION_ONLY,
)
def change_password(
    body: PasswordChange, principal: PasswordOwner, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Change one's password; every other session of the person ends."""
    service.change_password(runtime, session, principal, body.current_password, body.new_password)
    return {"status": "ok"}


# -- personal access tokens --------------------------------------------------------


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


# -- invites -----------------------------------------------------------------------


@router.post("/api/v1/invite-links", response_model=Envelope[InviteOut])
def create_invite(
    body: InviteCreate, principal: CurrentPrincipal, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Invite a person; the link lets them register with the invite's email and role."""
    invite = service.create_invite(
        runtime, session, principal, email=body.email, role=body.role, expires_at=body.expires_at
    )
    return ok(InviteOut.of(invite, service.invite_url(runtime, invite)))


@router.get("/api/v1/invite-links", response_model=Envelope[list[InviteOut]])
def list_invites(
    principal: CurrentPrincipal, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """The organization's open invites."""
    invites = service.list_invites(session, principal)
    return ok([InviteOut.of(i, service.invite_url(runtime, i)) for i in invites])


@router.delete(
    "/api/v1/invite-links/{inviteCode}",
    response_model=OkResponse,
    response_model_exclude_none=True,
)
def delete_invite(
    invite_code: InviteCode, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Withdraw an invite."""
    service.delete_invite(session, principal, invite_code)
    return {"status": "ok"}
