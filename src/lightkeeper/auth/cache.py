"""A per-process cache of verified tokens and resolved principals that keeps the revocation promise.

The promise: deleting or rotating a credential, expiry, and any change to
what a principal may do take effect on the very next request of the same
process and within one second on every other process sharing the database.

How: every write to a table that decides authentication or permissions adds
a row to `auth_changes` in the same transaction (installed once on the
sessionmaker, so no endpoint has to remember). After such a commit this
process empties its cache at once; other processes notice the new highest id
of `auth_changes` within `poll_interval` (one tiny indexed query per interval,
not per request) and empty theirs. Expiry is checked on every hit.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, func, inspect, select
from sqlalchemy.orm import InstanceState, Session, sessionmaker

from lightkeeper.auth.principal import Principal
from lightkeeper.kit.clock import utcnow
from lightkeeper.models import (
    AuthChange,
    CustomRole,
    Organization,
    PersonalAccessToken,
    ProjectMembership,
    ServiceAccount,
    User,
)

AUTH_MODELS = (
    User,
    ProjectMembership,
    CustomRole,
    ServiceAccount,
    PersonalAccessToken,
    Organization,
)
AUTH_TABLES = frozenset(m.__tablename__ for m in AUTH_MODELS)
# Columns whose change alone never alters who may do what.
NEUTRAL_COLUMNS = frozenset({"last_used_at", "last_used_ip", "last_used_user_agent", "updated_at"})
AUTH_NEUTRAL = "auth_neutral"  # execution option for bookkeeping writes (lastUsedAt)


@dataclass
class CachedPrincipal:
    principal: Principal
    expires_at: datetime | None
    credential_uuid: str
    last_used_written: float  # monotonic time of our last lastUsedAt write


class PrincipalCache:
    def __init__(self, poll_interval: float = 0.25, max_entries: int = 50_000) -> None:
        self.poll_interval = poll_interval
        self.max_entries = max_entries
        self._entries: dict[str, CachedPrincipal] = {}
        self._lock = threading.Lock()
        self._epoch = 0  # bumped on every clear: a resolution that straddles a clear is not stored
        self._seen_change: int | None = None
        self._last_poll = float("-inf")

    @property
    def epoch(self) -> int:
        return self._epoch

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._epoch += 1

    def sync_due(self) -> bool:
        """Whether `sync` would query now (callers skip a thread hop when it would not)."""
        return time.monotonic() - self._last_poll >= self.poll_interval

    def sync(self, session: Session) -> None:
        """Empty the cache if another process changed auth state (checked at most every interval)."""
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


def _mark(session: Session, reason: str) -> None:
    if not session.info.get("auth_change_added"):
        session.info["auth_change_added"] = True
        session.add(AuthChange(reason=reason))
    session.info["auth_changed"] = True


def install_invalidation(factory: sessionmaker[Session], cache: PrincipalCache) -> None:
    """Record every auth-relevant write in `auth_changes` and empty the cache after its commit."""

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

    Only the highest id matters to the caches; keeping the newest row means the
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
