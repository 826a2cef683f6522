"""A per-process cache of verified tokens and resolved principals that keeps the revocation promise.

The promise: deleting or rotating a credential, expiry, and any change to
what a principal may do take effect on the very next request of the same
process and within one second on every other process sharing the database.

How: session events (installed once on the sessionmaker, so no endpoint has
to remember) mark every write to a table that decides authentication or
permissions. After such a commit this process empties its cache at once.
Expiry is checked on every hit. Other processes hear of the change by one
mechanism per backend:

- PostgreSQL: the writing transaction sends `NOTIFY lightkeeper_auth` just
  before it commits, so the notice is delivered exactly when the change
  becomes visible (and never for a rollback). Each process keeps one listener
  thread on its own autocommit connection that empties the cache on every
  notice. A highest-id poll would not do here: ids are taken at insert, so a
  slow transaction holding id N can commit after one holding N+1 and a poller
  that saw N+1 would never hear of N. While the listener is not connected
  (starting, or reconnecting after losing its connection) notices may be
  missed, so the cache serves nothing: every sync empties it. Reconnecting
  empties it once more, after LISTEN, so nothing resolved in the gap stays.
  A connection dropped without a word is noticed by TCP keepalives (~8 s).
- SQLite: the same transaction adds a row to `auth_changes`; other processes
  notice the new highest id within `poll_interval` (one tiny indexed query
  per interval, not per request). Writers hold the database's single write
  lock from BEGIN IMMEDIATE to commit, so ids become visible in order.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
import structlog
from sqlalchemy import Engine, delete, event, func, inspect, select
from sqlalchemy.orm import InstanceState, Session, sessionmaker

from lightkeeper.auth.principal import Principal
from lightkeeper.kit.clock import utcnow
from lightkeeper.models import (
    AuthChange,
    CustomRole,
    Group,
    GroupMembership,
    Organization,
    PersonalAccessToken,
    ProjectGroupAccess,
    ProjectMembership,
    ServiceAccount,
    ServiceAccountToken,
    User,
)

AUTH_MODELS = (
    User,
    ProjectMembership,
    CustomRole,
    ServiceAccount,
    ServiceAccountToken,
    PersonalAccessToken,
    Organization,
    # Groups: membership and project access are part of every member's grants (auth/grants.py).
    Group,
    GroupMembership,
    ProjectGroupAccess,
)
AUTH_TABLES = frozenset(m.__tablename__ for m in AUTH_MODELS)
# Columns whose change alone never alters who may do what.
NEUTRAL_COLUMNS = frozenset({"last_used_at", "last_used_ip", "last_used_user_agent", "updated_at"})
AUTH_NEUTRAL = "auth_neutral"  # execution option for bookkeeping writes (lastUsedAt)
CHANNEL = "lightkeeper_auth"
LISTENER_NAME = "lightkeeper-auth-listener"  # application_name of the listener's connection

log = structlog.get_logger()

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class CachedPrincipal:
    principal: Principal
    expires_at: datetime | None
    credential_uuid: str
    last_used_written: float  # monotonic time of our last lastUsedAt write
    # A service account's allowedIpRanges, checked on every request (empty: any address).
    networks: tuple[Network, ...] = ()


class ChangeListener:
    """PostgreSQL: one thread that calls `on_change` for every notice on CHANNEL, and on connect."""

    def __init__(self, url: str, on_change: Callable[[], None], retry_after: float = 0.5) -> None:
        self._url = url
        self._on_change = on_change
        self._retry_after = retry_after
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stopping = threading.Event()
        self._connection: psycopg.Connection[Any] | None = None
        self.connected = False

    def start(self) -> None:
        """Start the thread once (on first use, so a process that serves nothing opens nothing)."""
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._run, name=LISTENER_NAME, daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            # Wake the thread's wait at once: shutting the socket down is safe from
            # another thread, unlike closing a connection that is in use.
            with (
                suppress(OSError, psycopg.Error),
                socket.socket(fileno=os.dup(connection.fileno())) as sock,
            ):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(
                    self._url,
                    autocommit=True,
                    connect_timeout=5,
                    application_name=LISTENER_NAME,
                    # A connection that silently died (no reset from the far end) errors out.
                    keepalives_idle=5,
                    keepalives_interval=1,
                    keepalives_count=3,
                ) as connection:
                    self._connection = connection
                    connection.execute(f"LISTEN {CHANNEL}")
                    # Empty before trusting: an entry stored from here on was read after LISTEN.
                    self._on_change()
                    self.connected = True
                    while not self._stopping.is_set():
                        for _notice in connection.notifies(timeout=1.0):
                            self._on_change()
            except psycopg.Error as error:
                if not self._stopping.is_set():
                    log.warning("auth.listener_disconnected", error=type(error).__name__)
            finally:
                self.connected = False
                self._connection = None
                self._on_change()
            self._stopping.wait(self._retry_after)


class PrincipalCache:
    def __init__(
        self,
        poll_interval: float = 0.25,
        max_entries: int = 50_000,
        listen_url: str | None = None,
    ) -> None:
        """`listen_url` (a PostgreSQL URL) selects LISTEN/NOTIFY; without it, polling."""
        self.poll_interval = poll_interval
        self.max_entries = max_entries
        self._entries: dict[str, CachedPrincipal] = {}
        self._lock = threading.Lock()
        self._epoch = 0  # bumped on every clear: a resolution that straddles a clear is not stored
        self._seen_change: int | None = None
        self._last_poll = float("-inf")
        self._listener = ChangeListener(listen_url, self.clear) if listen_url else None

    @classmethod
    def for_engine(cls, engine: Engine) -> PrincipalCache:
        """The cache for this database: listening on PostgreSQL, polling on SQLite."""
        if engine.dialect.name != "postgresql":
            return cls()
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(listen_url=url)

    @property
    def epoch(self) -> int:
        return self._epoch

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._epoch += 1

    @property
    def listening(self) -> bool:
        """PostgreSQL: the listener is connected, so the cache may serve entries."""
        return self._listener is not None and self._listener.connected

    def close(self) -> None:
        """Stop the listener thread and close its connection (the cache then serves nothing)."""
        if self._listener is not None:
            self._listener.stop()

    def sync_due(self) -> bool:
        """Whether `sync` needs the database now (callers skip a thread hop when it does not).

        With a listener nothing is polled: starting it, and distrusting every entry while it
        is disconnected, need no query, so they happen here and the answer is no.
        """
        if self._listener is not None:
            self._follow_listener()
            return False
        return time.monotonic() - self._last_poll >= self.poll_interval

    def _follow_listener(self) -> None:
        assert self._listener is not None
        self._listener.start()
        if not self._listener.connected:
            self.clear()

    def sync(self, session: Session) -> None:
        """Empty the cache if another process may have changed auth state since we last knew."""
        if self._listener is not None:
            self._follow_listener()
            return
        now = time.monotonic()
        if now - self._last_poll < self.poll_interval:
            return
        self._last_poll = now
        latest = session.scalar(select(func.max(AuthChange.id)))
        if latest != self._seen_change:
            self.clear()
            self._seen_change = latest

    def get(self, key: str) -> CachedPrincipal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= utcnow():
            with self._lock:
                self._entries.pop(key, None)
            return None
        return entry

    def put(self, key: str, entry: CachedPrincipal, epoch: int) -> None:
        with self._lock:
            if epoch != self._epoch:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = entry


def _is_auth_change(session: Session) -> bool:
    if any(isinstance(obj, AUTH_MODELS) for obj in session.new | session.deleted):
        return True
    for obj in session.dirty:
        if isinstance(obj, AUTH_MODELS):
            state: InstanceState[Any] = inspect(obj)
            changed = {a.key for a in state.attrs if a.history.has_changes()}
            if changed - NEUTRAL_COLUMNS:
                return True
    return False


def _notifies(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _mark(session: Session, reason: str) -> None:
    session.info["auth_changed"] = True
    if not session.info.get("auth_change_added") and not _notifies(session):
        session.info["auth_change_added"] = True
        session.add(AuthChange(reason=reason))


def install_invalidation(factory: sessionmaker[Session], cache: PrincipalCache) -> None:
    """Announce every auth-relevant write to other processes and empty the cache after its commit."""

    @event.listens_for(factory, "before_flush")
    def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
        if _is_auth_change(session):
            _mark(session, "orm")

    @event.listens_for(factory, "do_orm_execute")
    def _on_execute(state: Any) -> None:
        if not (state.is_update or state.is_delete) or state.execution_options.get(AUTH_NEUTRAL):
            return
        table = getattr(state.statement, "table", None)
        if table is not None and table.name in AUTH_TABLES:
            _mark(state.session, f"{'update' if state.is_update else 'delete'}:{table.name}")

    @event.listens_for(factory, "before_commit")
    def _before_commit(session: Session) -> None:
        if not _notifies(session):
            return
        session.flush()  # commit flushes only after this event; those writes count too
        if session.info.get("auth_changed"):
            session.execute(select(func.pg_notify(CHANNEL, "")))

    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        session.info.pop("auth_change_added", None)
        if session.info.pop("auth_changed", False):
            cache.clear()

    @event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop("auth_change_added", None)
        session.info.pop("auth_changed", None)


def prune_changes(session: Session, keep_seconds: int = 3600) -> int:
    """Delete change rows older than `keep_seconds`, always keeping the newest one.

    Rows are written on SQLite only. Only the highest id matters to the caches; keeping the newest row means the
    highest id never goes backwards (SQLite would reuse ids of an emptied table).
    Run by `lightkeeper serve` at start. Returns how many rows went.
    """
    newest = session.scalar(select(func.max(AuthChange.id)))
    if newest is None:
        return 0
    result = session.execute(
        delete(AuthChange).where(
            AuthChange.id < newest,
            AuthChange.occurred_at < utcnow() - timedelta(seconds=keep_seconds),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
