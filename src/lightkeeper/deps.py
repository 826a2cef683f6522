"""Request-scoped plumbing: typed dependencies (`SessionDep`, `RuntimeDep`) and `RequestRoute`.

One thread hop per request at most (docs/decisions.md, "Request path"): every
dependency is `async def` and does no blocking I/O on the event loop; the sync
handler, its commit and its close run together in the one threadpool call that
`RequestRoute` makes. Authentication reaches the database only on a cache miss
(auth/dependencies.py), in one threadpool call of its own.
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

from lightkeeper.config import Settings
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
