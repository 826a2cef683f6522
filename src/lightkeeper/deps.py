"""Request-scoped plumbing: typed dependencies (`SessionDep`, `RuntimeDep`, `CurrentPrincipal`,
`SessionPrincipal`) and `RequestRoute`.

One thread hop per request at most (docs/decisions.md, "Request path"): every
dependency is `async def` and does no blocking I/O on the event loop; the sync
handler, its commit and its close run together in the one threadpool call that
`RequestRoute` makes. Authentication reaches the database only on a cache miss
(`optional_principal`), in one threadpool call of its own.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from lightkeeper.auth.credentials import SESSION_COOKIE, read_authorization
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.service import authenticate_session, authenticate_token, cached_principal
from lightkeeper.config import Settings
from lightkeeper.kit.errors import AuthorizationError, ForbiddenError
from lightkeeper.kit.request_context import current_request
from lightkeeper.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The request's session, for RequestRoute: a handler may reach it only through
# a dependency (e.g. CurrentPrincipal) and still needs its commit. Each request
# runs in its own task, so a value never leaks into another request.
_request_session: ContextVar[Session | None] = ContextVar("request_session", default=None)


async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_settings(request: Request) -> Settings:
    return runtime_of(request).settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One session per request; `RequestRoute` commits it once, after the handler succeeds.

    Making it does no I/O. A writing request's session is bound to the writer
    engine, so its transaction begins as a writer (BEGIN IMMEDIATE on SQLite)
    whichever query comes first. The commit happens before the response is
    sent: a client never sees success for a change that did not commit, and any
    error rolls everything back.
    """
    runtime = runtime_of(request)
    if request.method in SAFE_METHODS:
        session = runtime.sessions()
    else:
        session = runtime.sessions(bind=runtime.writer_engine)
    _request_session.set(session)
    try:
        yield session
    except BaseException:
        if session.in_transaction():
            await run_in_threadpool(session.rollback)
        raise
    else:
        # RequestRoute has committed a sync handler's work already; what is left
        # is an async handler's (e.g. a lastUsedAt write during authentication).
        if session.in_transaction():
            await run_in_threadpool(session.commit)
    finally:
        session.close()  # no I/O: the transaction has ended either way


def _in_request_transaction(endpoint: Callable[..., Any], route: APIRoute) -> Callable[..., Any]:
    """The sync `endpoint` as a coroutine whose one threadpool call runs it in the request's transaction.

    In that call: the handler, the validation of its result against the
    response model (while the session is open, so lazy attributes still load),
    then commit; on any error, rollback; always close. FastAPI then only
    serialises the validated value, on the event loop, without another hop.
    """

    def run(kwargs: dict[str, Any]) -> Any:
        session = _request_session.get()
        try:
            result = endpoint(**kwargs)
            field = route.response_field
            if field is not None and not isinstance(result, Response):
                value, errors = field.validate(result, {}, loc=("response",))
                if errors:
                    raise ResponseValidationError(errors=errors, body=result)
                result = value
            if session is not None:
                session.commit()
        except BaseException:
            if session is not None:
                session.rollback()
            raise
        finally:
            if session is not None:
                session.close()
        return result

    @functools.wraps(endpoint)
    async def in_transaction(**kwargs: Any) -> Any:
        return await run_in_threadpool(run, kwargs)

    return in_transaction


class RequestRoute(APIRoute):
    """The route class of every router: a sync handler costs one thread hop, transaction included."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint) and not inspect.isgeneratorfunction(endpoint):
            endpoint = _in_request_transaction(endpoint, self)
        super().__init__(path, endpoint, **kwargs)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


# -- the caller -------------------------------------------------------------------


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


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
SessionPrincipal = Annotated[Principal, Depends(require_session_principal)]
