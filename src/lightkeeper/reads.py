"""Reads on the event loop: the hot read-only lists, without a thread hop or SQLAlchemy's execution path.

A `Read` is a statement built once in SQLAlchemy Core (the same tables, the same
bound parameters as everywhere else) and how a row becomes a value. It runs
two ways, and both give the same values:
- in a request's session, `read.run(session, params)`, in a sync handler's one
  thread hop, like every other query;
- on the event loop, `await reads.run(read, params)`, for an `async def`
  handler whose whole database work is a few such reads (docs/decisions.md,
  "Request path", sixth pass): the statement is compiled once per dialect and
  executed by the driver itself, with SQLAlchemy's own bind and result
  processors, so a value comes back as the session would return it.

On SQLite the driver is `sqlite3`, one read-only connection per thread in WAL
mode: a read from the page cache costs less than any hand-off, and a WAL reader
never waits for a writer. On PostgreSQL it is psycopg's async connection, from
a small pool of autocommit connections. Each read is one statement on its own
(on PostgreSQL's READ COMMITTED, what a request's transaction gives as well).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import CompoundSelect, DateTime, Engine, Select, TypeDecorator, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from lightkeeper.kit.clock import iso

R = TypeVar("R")
Processor = Callable[[Any], Any]

# Event-loop read connections per process on PostgreSQL (besides the sync pool's 10 + 20 and
# the invalidation listener's one): the reads are short, so a few serve many requests.
READ_CONNECTIONS = 10

# A reader that finds the database busy (only while another connection recovers the WAL)
# waits this long, on the event loop, before the request fails.
SQLITE_READ_BUSY_MS = 1000


class _WireTextType(TypeDecorator[str]):
    """How `WireTime`'s column comes back (see there): text already, or SQLite's stored text."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return iso(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Processor | None:
        if dialect.name == "postgresql":
            return None  # to_char's text is the wire text
        general = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or general is None:
            return general

        def rearranged(value: Any) -> Any:
            if type(value) is str and len(value) == 26 and value[10] == " " and value[19] == ".":
                return f"{value[:10]}T{value[11:23]}Z"
            return general(value)

        return rearranged


class WireTime(_WireTextType):
    """A time column read as the API writes it (`kit.clock.iso`): for lists, which write one a row.

    PostgreSQL writes the text itself (`to_char` in UTC, milliseconds truncated as
    `iso` truncates them). On SQLite the stored text (SQLAlchemy's
    `YYYY-MM-DD HH:MM:SS.ffffff`, in UTC) is rearranged rather than parsed into a
    `datetime` and formatted back; any other text SQLite holds takes the general way.
    Either way saves a list of 50 rows ~100 µs.
    """

    cache_ok = True

    def column_expression(self, colexpr: Any) -> Any:
        return _WireText(colexpr)


class _WireText(FunctionElement[Any]):
    """A time column as the database gives it for `WireTime` (see there)."""

    name = "wire_text"
    type = _WireTextType()
    inherit_cache = True


@compiles(_WireText)
def _as_stored(element: _WireText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_WireText, "postgresql")
def _as_wire_text(element: _WireText, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


def wire_time(column: Any) -> Any:
    """`column` (a DateTime) read as its wire text, `WireTime`."""
    return type_coerce(column, WireTime())


@dataclass(frozen=True, eq=False)
class Read(Generic[R]):
    """A read-only statement (bound parameters, no `expanding` ones) and the maker of its rows."""

    statement: Select[Any] | CompoundSelect[Any]
    make: Callable[[Sequence[Any]], R]

    def run(self, session: Session, params: Mapping[str, Any]) -> list[R]:
        """The rows, in the request's session (and transaction)."""
        return list(map(self.make, session.connection().execute(self.statement, params).all()))


@dataclass(frozen=True)
class _Compiled:
    """A statement as its driver takes it: SQL text, parameter order and SQLAlchemy's processors."""

    sql: str
    names: tuple[str, ...] | None  # positional drivers (sqlite3): bind names in order
    defaults: dict[str, Any]  # values the statement carries itself (literals)
    binds: dict[str, Processor]
    results: tuple[tuple[int, Processor], ...]  # (column index, processor): the columns to convert

    @classmethod
    def of(cls, statement: Select[Any] | CompoundSelect[Any], dialect: Dialect) -> _Compiled:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise TypeError("A read on the event loop takes no expanding (IN-list) parameter")
        binds: dict[str, Processor] = {
            name: processor
            for name, processor in compiled._bind_processors.items()
            if callable(processor)  # a sequence of processors is for tuples, which no read takes
        }
        processors = (
            column.type._cached_result_processor(dialect, None)
            for column in compiled._result_columns
        )
        results = tuple((i, p) for i, p in enumerate(processors) if p is not None)
        positions = compiled.positiontup
        return cls(
            sql=compiled.string,
            names=tuple(positions) if positions is not None else None,
            defaults={
                name: value
                for name, value in compiled.construct_params(_check=False).items()
                if value is not None
            },
            binds=binds,
            results=results,
        )

    def parameters(self, params: Mapping[str, Any]) -> Any:
        values = {**self.defaults, **params} if self.defaults else dict(params)
        for name, processor in self.binds.items():
            if name in values:
                values[name] = processor(values[name])
        if self.names is None:
            return values
        return [values[name] for name in self.names]

    def rows(self, rows: list[Any], make: Callable[[Sequence[Any]], R]) -> list[R]:
        if not self.results:
            return list(map(make, rows))
        if len(self.results) == 1:  # the common case: one time column
            [(i, p)] = self.results
            return [make((*row[:i], p(row[i]), *row[i + 1 :])) for row in rows]
        made = []
        for row in rows:
            values = list(row)
            for i, p in self.results:
                if values[i] is not None:  # a processor gives None for None, called or not
                    values[i] = p(values[i])
            made.append(make(values))
        return made


class Reads(Protocol):
    """Where `async def` handlers read: the process's connections outside the request's session."""

    async def run(self, read: Read[R], params: Mapping[str, Any]) -> list[R]: ...

    def close(self) -> None: ...


@dataclass(eq=False)
class _Statements:
    dialect: Dialect
    compiled: dict[int, tuple[Read[Any], _Compiled]] = field(default_factory=dict)

    def __call__(self, read: Read[Any]) -> _Compiled:
        entry = self.compiled.get(id(read))
        if entry is None:
            entry = self.compiled[id(read)] = (read, _Compiled.of(read.statement, self.dialect))
        return entry[1]


class SqliteReads:
    """Reads through `sqlite3` on the calling thread (the event loop's), read-only, one connection per thread."""

    def __init__(self, path: str, dialect: Dialect) -> None:
        self._path = path
        self._statements = _Statements(dialect)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[sqlite3.Connection] = []

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # Autocommit (each read its own statement); the file must exist: migrations made it.
            connection = sqlite3.connect(
                f"file:{quote(self._path)}?mode=rw",  # a path may hold '?', '#' or '%'
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            connection.execute(f"PRAGMA busy_timeout={SQLITE_READ_BUSY_MS}")
            connection.execute("PRAGMA query_only=ON")
            with self._lock:
                self._opened.append(connection)
            self._local.connection = connection
        return connection

    async def run(self, read: Read[R], params: Mapping[str, Any]) -> list[R]:
        compiled = self._statements(read)
        rows = self._connection().execute(compiled.sql, compiled.parameters(params)).fetchall()
        return compiled.rows(rows, read.make)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()


class PostgresReads:
    """Reads through psycopg's async connections: autocommit, pooled, at most `limit` at once.

    Not bound to one event loop (psycopg waits on the loop that is running), so
    the pool serves whichever loop calls it; a waiter is woken on its own loop.
    A connection that failed is dropped, and a read that failed on a connection
    taken from the pool is tried once more on a new one (the database may have
    restarted since it was opened).
    """

    def __init__(
        self,
        conninfo: str,
        dialect: Dialect,
        *,
        idle: int = READ_CONNECTIONS,
        limit: int = READ_CONNECTIONS,
    ) -> None:
        # Times come back in UTC as `datetime.UTC`, which `kit.clock.iso` formats fastest.
        params = conninfo_to_dict(conninfo)
        params["options"] = f"{params.get('options') or ''} -c TimeZone=UTC".strip()
        params.setdefault("application_name", "lightkeeper-reads")  # as pg_stat_activity shows them
        self._conninfo = make_conninfo("", **params)
        self._statements = _Statements(dialect)
        self._idle: deque[psycopg.AsyncConnection[Any]] = deque()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        self._lock = threading.Lock()
        self._open = 0  # connections open or being opened
        self._max_idle = idle
        self._limit = limit

    async def run(self, read: Read[R], params: Mapping[str, Any]) -> list[R]:
        compiled = self._statements(read)
        parameters = compiled.parameters(params)
        connection, pooled = await self._acquire()
        try:
            try:
                cursor = await connection.execute(compiled.sql, parameters)
            except psycopg.OperationalError:
                if not pooled:
                    raise
                self._discard(connection)
                connection, pooled = await self._acquire(fresh=True)
                cursor = await connection.execute(compiled.sql, parameters)
            rows = await cursor.fetchall()
        except BaseException:
            self._discard(connection)
            raise
        self._release(connection)
        return compiled.rows(rows, read.make)

    async def _acquire(self, *, fresh: bool = False) -> tuple[psycopg.AsyncConnection[Any], bool]:
        while True:
            with self._lock:
                if self._idle and not fresh:
                    return self._idle.pop(), True
                if self._open < self._limit:
                    self._open += 1
                    break
                loop = asyncio.get_running_loop()
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, waiter))
            try:
                await waiter
            except asyncio.CancelledError:
                with self._lock:
                    if (loop, waiter) in self._waiters:
                        self._waiters.remove((loop, waiter))
                    else:
                        self._wake()  # woken, then cancelled: the turn goes to the next waiter
                raise
        try:
            connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        except BaseException:
            self._closed_one()
            raise
        return connection, False

    def _release(self, connection: psycopg.AsyncConnection[Any]) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle and not connection.closed:
                self._idle.append(connection)
                self._wake()
                return
        self._discard(connection)

    def _discard(self, connection: psycopg.AsyncConnection[Any]) -> None:
        connection.pgconn.finish()  # closes the socket; no I/O to wait for
        self._closed_one()

    def _closed_one(self) -> None:
        with self._lock:
            self._open -= 1
            self._wake()

    def _wake(self) -> None:
        """Wake one waiter (lock held): a connection is idle or may be opened."""
        while self._waiters:
            loop, waiter = self._waiters.popleft()
            if not waiter.done() and not loop.is_closed():
                loop.call_soon_threadsafe(_set_done, waiter)
                return

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, deque()
        for connection in idle:
            self._discard(connection)


def _set_done(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def reads_for(engine: Engine) -> Reads:
    """The event-loop reads of the engine's database (its file, or its server with the same credentials)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            raise ValueError("Lightkeeper needs a SQLite database file, not an in-memory database")
        return SqliteReads(database, engine.dialect)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresReads(conninfo, engine.dialect)
