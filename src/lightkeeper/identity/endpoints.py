"""Identity routes: login, logout, the current user, passwords (registration: registration/)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from lightkeeper.auth.credentials import SESSION_COOKIE
from lightkeeper.auth.principal import Principal
from lightkeeper.deps import (
    CurrentPrincipal,
    RequestRoute,
    RuntimeDep,
    SessionDep,
    require_principal,
)
from lightkeeper.identity import sessions
from lightkeeper.identity.schemas import LoginRequest, PasswordChange, UserOut
from lightkeeper.kit.errors import AuthorizationError, ForbiddenError
from lightkeeper.kit.memo import PerObject
from lightkeeper.kit.schemas import Envelope, OkResponse, ok, ok_bytes
from lightkeeper.runtime import Runtime

router = APIRouter(tags=["Identity"], route_class=RequestRoute)

_PUBLIC: dict[str, Any] = {"security": []}
_SESSION_ONLY: dict[str, Any] = {"security": [{"SessionCookie": []}]}


def cookie_is_secure(request: Request, runtime: Runtime) -> bool:
    """Secure when configured or over HTTPS (a trusted proxy's X-Forwarded-Proto counts: kit.http)."""
    return runtime.settings.secure_cookies or request.url.scheme == "https"


def set_session_cookie(
    request: Request, response: Response, runtime: Runtime, new: sessions.NewSession
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
    user, new = sessions.login(
        runtime,
        session,
        body.email,
        body.password,
        previous_cookie=request.cookies.get(SESSION_COOKIE),
    )
    set_session_cookie(request, response, runtime, new)
    return ok(UserOut.of(sessions.session_principal(runtime, session, user, new)))


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
    sessions.end_session(runtime, session, cookie)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=cookie_is_secure(request, runtime),
        httponly=True,
        samesite="lax",
    )
    return {"status": "ok"}


# The body is derived from the principal alone: serialised once per cached principal
# (the same bytes FastAPI would write for the response model).
_user_body: PerObject[Principal, bytes] = PerObject(
    lambda principal: ok_bytes(UserOut, UserOut.of(principal))
)


@router.get("/api/v1/user", response_model=Envelope[UserOut])
async def current_user(principal: CurrentPrincipal) -> Response:
    """The current principal (person or service account) with its ability rules."""
    return Response(_user_body(principal), media_type="application/json")


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
    sessions.change_password(runtime, session, principal, body.current_password, body.new_password)
    return {"status": "ok"}
