"""Request-scoped plumbing as typed dependencies (`SessionDep`, `RuntimeDep`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from lightkeeper.config import Settings
from lightkeeper.db import begin_writer
from lightkeeper.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_settings(request: Request) -> Settings:
    return get_runtime(request).settings


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; it commits once, after the handler succeeds.

    The dependency's scope is the handler call, so the commit happens before
    the response is sent: a client never sees success for a change that did
    not commit, and any error rolls everything back.
    """
    session = get_runtime(request).sessions()
    if request.method not in SAFE_METHODS:
        begin_writer(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
