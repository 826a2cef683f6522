"""What a route needs, as typed dependencies: `CurrentPrincipal`, `SessionPrincipal`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from lightkeeper.auth.credentials import SESSION_COOKIE, read_authorization
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.service import authenticate_session, authenticate_token, cached_principal
from lightkeeper.deps import RuntimeDep, SessionDep
from lightkeeper.kit.errors import AuthorizationError, ForbiddenError
from lightkeeper.kit.request_context import current_request


async def optional_principal(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> Principal | None:
    """The caller, if any credential is presented; the `Authorization` header wins over a cookie.

    A token the cache answers costs no thread hop; the database work of a miss
    (or of a due lastUsedAt write) runs in one threadpool call, in the request's
    session. Browser sessions are looked up in the database on every request.
    """
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    presented = read_authorization(request.headers.get("authorization"))
    principal: Principal | None = None
    if presented is not None:
        ctx = current_request.get()
        principal = cached_principal(runtime, presented, ctx)
        if principal is None:
            principal = await run_in_threadpool(
                authenticate_token, runtime, session, presented, ctx
            )
    elif cookie := request.cookies.get(SESSION_COOKIE):
        principal = await run_in_threadpool(authenticate_session, runtime, session, cookie)
        if principal is not None:
            refuse_cross_site_form(request)
    request.state.principal = principal
    return principal


def refuse_cross_site_form(request: Request) -> None:
    """CSRF defence for the JSON API when a browser cookie is the credential.

    Another site can make a browser send a cookie-carrying POST only as a form
    (urlencoded, multipart or text/plain); PATCH, PUT and DELETE, or a JSON
    content type, need a CORS preflight that this server never grants. So a
    cookie-authenticated POST must be JSON. (SameSite=Lax cookies already stop
    most of this; this holds even where they do not.)
    """
    if request.method != "POST":
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ForbiddenError(
            "A request authenticated by a browser session must send Content-Type: application/json"
        )


async def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise AuthorizationError()
    return principal


async def require_session_principal(
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
