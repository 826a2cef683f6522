"""What a route needs, as typed dependencies: `CurrentPrincipal`, `SessionPrincipal`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lightkeeper.auth.credentials import SESSION_COOKIE, read_authorization
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.service import authenticate_session, authenticate_token
from lightkeeper.deps import RuntimeDep, SessionDep
from lightkeeper.kit.errors import AuthorizationError, ForbiddenError
from lightkeeper.kit.request_context import current_request


def optional_principal(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> Principal | None:
    """The caller, if any credential is presented; the `Authorization` header wins over a cookie."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    presented = read_authorization(request.headers.get("authorization"))
    principal: Principal | None = None
    if presented is not None:
        principal = authenticate_token(runtime, session, presented, current_request.get())
    elif cookie := request.cookies.get(SESSION_COOKIE):
        principal = authenticate_session(runtime, session, cookie)
    request.state.principal = principal
    return principal


def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise AuthorizationError()
    return principal


def require_session_principal(
    principal: Annotated[Principal, Depends(require_principal)],
) -> Principal:
    """Routes that only a person in a browser session may use (e.g. minting personal tokens)."""
    if principal.is_service_account:
        raise ForbiddenError("Service accounts cannot have personal access tokens")
    if principal.credential != "session":
        raise ForbiddenError(
            "This action needs a browser session: log in with your email and password"
        )
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
SessionPrincipal = Annotated[Principal, Depends(require_session_principal)]
