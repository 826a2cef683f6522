"""Engine, sessions and the SQLite pragmas."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "lightkeeper_writer"


def begin_writer(session: Session) -> None:
    """Declare the session's transaction a writer before anything runs in it.

    On SQLite this makes it BEGIN IMMEDIATE (waiting for the write lock rather
    than failing later); PostgreSQL needs nothing.
    """
    session.connection(execution_options={WRITE_OPTION: True})


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        # We emit BEGIN ourselves (pysqlite's implicit transactions are off) so that
        # a writing transaction can say BEGIN IMMEDIATE: SQLite refuses at once, with
        # no busy wait, to turn a reader into a writer after another connection
        # committed, so writers take the write lock before their first read.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            immediate = connection.get_execution_options().get(WRITE_OPTION)
            # Straight on the driver's connection: BEGIN has no result, and SQLAlchemy's
            # execution path costs more than the statement (every request begins once).
            dbapi_connection = connection.connection.dbapi_connection
            dbapi_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A writing session that commits on success and rolls back on any error."""
    session = factory()
    begin_writer(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def writer_bind(engine: Engine) -> Engine:
    """The engine a writing request's session is bound to: same pool, BEGIN IMMEDIATE on SQLite.

    Declared at bind time rather than by a first `begin_writer` query, so that
    making a request's session does no I/O and whichever query comes first
    (authentication or the handler, in whatever thread) begins the writer.
    """
    return engine.execution_options(**{WRITE_OPTION: True})
