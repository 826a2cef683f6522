"""Request-scoped plumbing: typed dependencies (`SessionDep`, `RuntimeDep`, `CurrentPrincipal`,
`SessionPrincipal`) and `RequestRoute`.

One thread hop per request at most (docs/decisions.md, "Request path"): every
dependency is `async def` and does no blocking I/O on the event loop; the sync
handler, its commit and its close run together in the one threadpool call that
`RequestRoute` makes. Authentication reaches the database only on a cache miss
(`optional_principal`), in one threadpool call of its own.

FastAPI resolves dependencies on every request, at a cost per dependency, so
each of these is one flat dependency on the `Request` alone: the session is
made on first use (`request_session`) and ended by `RequestRoute`, not by a
generator dependency, and the principal asks for the session only when the
cache cannot answer.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from lightkeeper.auth.credentials import SESSION_COOKIE, read_authorization
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.service import authenticate_session, authenticate_token, cached_principal
from lightkeeper.config import Settings
from lightkeeper.kit.errors import AuthorizationError, ForbiddenError
from lightkeeper.kit.request_context import current_request
from lightkeeper.kit.threadpool import run_sync
from lightkeeper.kit.unstorable import reject_unstorable_input
from lightkeeper.reads import Reads
from lightkeeper.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The request's session, once made: the handler's hop commits it and RequestRoute
# ends it. Each request runs in its own task, so a value never leaks into another
# request; RequestRoute clears it when the request ends.
_request_session: ContextVar[Session | None] = ContextVar("request_session", default=None)
_PRINCIPAL_KEY = "lightkeeper.principal"  # request scope: the caller, once resolved


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


async def get_settings(request: Request) -> Settings:
    return runtime_of(request).settings


def reads_of(request: Request) -> Reads:
    """The event loop's reads (lightkeeper.reads), for an `async def` handler whose database work
    is all `Read`s: no thread hop, no session. A plain call on the handler's `request`, not a
    dependency: FastAPI's solving of one costs ~35 µs a request on the benchmark machine."""
    return runtime_of(request).reads


def request_session(request: Request) -> Session:
    """The request's one session, made on first use; `RequestRoute` commits it once, after the handler succeeds.

    Making it does no I/O. A writing request's session is bound to the writer
    engine, so its transaction begins as a writer (BEGIN IMMEDIATE on SQLite)
    whichever query comes first. The commit happens before the response is
    sent: a client never sees success for a change that did not commit, and any
    error rolls everything back.
    """
    session = _request_session.get()
    if session is None:
        runtime = runtime_of(request)
        if request.method in SAFE_METHODS:
            session = runtime.sessions()
        else:
            session = runtime.sessions(bind=runtime.writer_engine)
        _request_session.set(session)
    return session


async def get_db(request: Request) -> Session:
    return request_session(request)


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
        return await run_sync(run, kwargs)

    return in_transaction


async def _end_session(session: Session, *, succeeded: bool) -> None:
    """What is left of the session after the handler: an async handler's work, or a failed dependency's."""
    if session.in_transaction():
        # e.g. a lastUsedAt write during authentication before an async handler
        await run_sync(session.commit if succeeded else session.rollback)
    session.close()  # no I/O: the transaction has ended either way


class RequestRoute(APIRoute):
    """The route class of every router: a sync handler costs one thread hop, transaction included.

    It also refuses input no database can store (`kit.unstorable`) before anything else runs.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint) and not inspect.isgeneratorfunction(endpoint):
            endpoint = _in_request_transaction(endpoint, self)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def in_request_session(request: Request) -> Response:
            token = _request_session.set(None)
            succeeded = False
            try:
                # Before the route's own parameters and dependencies touch the database; here
                # rather than as an app-wide dependency, which costs every request a node.
                await reject_unstorable_input(request)
                response = await handler(request)
                succeeded = True
                return response
            finally:
                session = _request_session.get()
                _request_session.reset(token)
                if session is not None:
                    await _end_session(session, succeeded=succeeded)

        return in_request_session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]


# -- the caller -------------------------------------------------------------------


async def optional_principal(request: Request) -> Principal | None:
    """The caller, if any credential is presented; the `Authorization` header wins over a cookie.

    A token the cache answers costs no thread hop and no session; the database
    work of a miss (or of a due lastUsedAt write) runs in one threadpool call,
    in the request's session. Browser sessions are looked up in the database on
    every request. Resolved once per request.
    """
    scope = request.scope
    if _PRINCIPAL_KEY in scope:
        resolved: Principal | None = scope[_PRINCIPAL_KEY]
        return resolved
    runtime = runtime_of(request)
    presented = read_authorization(request.headers.get("authorization"))
    principal: Principal | None = None
    if presented is not None:
        ctx = current_request.get()
        principal = cached_principal(runtime, presented, ctx)
        if principal is None:
            principal = await run_sync(
                authenticate_token, runtime, request_session(request), presented, ctx
            )
    elif cookie := request.cookies.get(SESSION_COOKIE):
        principal = await run_sync(authenticate_session, runtime, request_session(request), cookie)
        if principal is not None:
            refuse_cross_site_form(request)
    scope[_PRINCIPAL_KEY] = principal
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


async def require_principal(request: Request) -> Principal:
    principal = await optional_principal(request)
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
