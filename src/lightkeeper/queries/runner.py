"""The query runner of one process: a bounded thread pool, a run-time limit, cancel that reaches
the warehouse.

Rules:
- At most `LIGHTKEEPER_QUERY_CONCURRENCY` queries run at once in a process; up to
  `LIGHTKEEPER_QUERY_QUEUE_SIZE` more wait their turn. Beyond that a new query is refused at
  once with 429 (nothing is written), never left to pile up.
- A background query starts only once the request that created its record has committed
  (a session `after_commit` hook), so the runner always finds the record.
- One watcher thread per process reads, every `WATCH_SECONDS`, the status of the queries this
  process is running (one SELECT): a `cancelled` written by any process, or a run past
  `LIGHTKEEPER_QUERY_TIMEOUT_SECONDS`, calls the warehouse's own cancel.
- A cancel is never lost: the watcher calls the warehouse's cancel again on every round until
  the run ends (a cancel that lands before the statement starts would otherwise do nothing),
  and the body checks for it before it starts the statement and between two batches of rows.
- The outcome is written with a conditional update (queries/repository.py): a cancel that
  commits first wins and the result is thrown away.
- Results are stored as each row's wire JSON text (chunks of `CHUNK_ROWS` rows, a row per
  line), so a page is served by joining texts. The query is `ready` once the chunks of its
  first `LIGHTDASH_QUERY_MAX_PAGE_SIZE` rows are committed with it; the rest follow in later
  transactions, and a page beyond them waits for its chunks (queries/service.py). Those later
  writes give way, up to `YIELD_SECONDS` a transaction, while another query of this process
  has no outcome yet: a new query's answer comes before an old query's remaining rows.
"""

from __future__ import annotations

import contextvars
import math
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session

from lightkeeper.db import transaction
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import TooManyRequestsError
from lightkeeper.queries import repository
from lightkeeper.runtime import Runtime

log = structlog.get_logger()

WATCH_SECONDS = 0.25
CHUNK_ROWS = 2500
# Chunks written per transaction once the query is ready.
CHUNKS_PER_WRITE = 8
YIELD_SECONDS = 0.5
BUSY_MESSAGE = (
    "The server is running as many queries as it may (LIGHTKEEPER_QUERY_CONCURRENCY) and its "
    "queue is full: try again in a few seconds"
)


class QueryCancelled(Exception):
    """The run was stopped: cancelled by its principal, or past the run-time limit."""


class QueryFailed(Exception):
    """The warehouse refused or failed the query; the message goes to the caller as is."""


@dataclass
class Outcome:
    """What a finished run hands back: the warehouse's rows, how a row is written on the wire
    (its JSON text), the result's columns, warehouse time."""

    rows: list[tuple[Any, ...]]
    encode: Callable[[Sequence[Sequence[Any]]], list[str]]
    columns: dict[str, Any]
    warehouse_ms: int

    def wire_rows(self) -> list[dict[str, Any]]:
        """The rows as objects (the legacy synchronous route answers them in its body)."""
        rows: list[dict[str, Any]] = orjson.loads("[" + ",".join(self.encode(self.rows)) + "]")
        return rows


@dataclass
class CancelScope:
    """What a running body sees of cancellation: register the warehouse's cancel, ask if stopped."""

    query_uuid: str
    started: float = field(default_factory=time.monotonic)
    reason: str | None = None
    _cancel: Callable[[], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_cancel(self, cancel: Callable[[], None]) -> None:
        with self._lock:
            self._cancel = cancel
            stop_now = self.reason is not None
        if stop_now:
            cancel()

    def stop(self, reason: str) -> None:
        with self._lock:
            if self.reason is not None:
                return
            self.reason = reason
            cancel = self._cancel
        if cancel is not None:
            try:
                cancel()
            except Exception:
                log.warning("query.cancel_failed", query_uuid=self.query_uuid, exc_info=True)

    def cancel_again(self) -> None:
        """Call the warehouse's cancel once more (it did nothing if the statement had not
        started yet)."""
        with self._lock:
            cancel = self._cancel if self.reason is not None else None
        if cancel is not None:
            try:
                cancel()
            except Exception:
                log.warning("query.cancel_failed", query_uuid=self.query_uuid, exc_info=True)

    def raise_if_stopped(self) -> None:
        if self.reason is not None:
            raise QueryCancelled(self.reason)


Body = Callable[[CancelScope], Outcome]
Finisher = Callable[[Session, str, int | None, int], None]  # (session, status, rows, ms)


@dataclass
class Job:
    """One query to run: its record's uuid, the work, and what to record when it ends."""

    query_uuid: str
    body: Body
    # Called in the transaction that writes the outcome (the audit event goes there).
    on_finish: Finisher
    # Recorded as started with its record (a worker was free): no mark_started of its own.
    started: bool = False


def chunk_rows(outcome: Outcome, start: int, stop: int) -> list[tuple[int, int, str]]:
    """Rows `start` … `stop - 1` as chunks of CHUNK_ROWS: (first row, row count, the rows'
    JSON texts one per line)."""
    encode, rows = outcome.encode, outcome.rows
    stop = min(stop, len(rows))
    chunks = []
    for first in range(start, stop, CHUNK_ROWS):
        part = rows[first : min(first + CHUNK_ROWS, stop)]
        chunks.append((first, len(part), "\n".join(encode(part))))
    return chunks


class QueryRunner:
    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self._sessions = runtime.sessions
        self.concurrency = settings.query_concurrency
        self.capacity = settings.query_concurrency + settings.query_queue_size
        self.timeout = settings.query_timeout_seconds
        self.ttl_seconds = settings.query_results_ttl_seconds
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="lightkeeper-query")
        self._lock = threading.Lock()
        self._in_flight = 0
        self._running: dict[str, CancelScope] = {}
        # Set when a query this process runs has its outcome committed (results long-poll).
        self._finished: dict[str, threading.Event] = {}
        # Rows stored with the outcome: a first page of any allowed size, in whole chunks.
        self._first_rows = CHUNK_ROWS * math.ceil(settings.query_max_page_size / CHUNK_ROWS)
        self._closed = threading.Event()
        self._watcher: threading.Thread | None = None
        self._pruned = -math.inf

    # -- admission ----------------------------------------------------------------

    def reserve(self) -> bool:
        """Take a place for one query, or refuse with 429 when the process is full; True when
        a worker is free for it (it starts without waiting its turn)."""
        with self._lock:
            if self._in_flight >= self.capacity:
                raise TooManyRequestsError(BUSY_MESSAGE, retry_after_seconds=5)
            self._in_flight += 1
            return self._in_flight <= self.concurrency

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def start_after_commit(self, session: Session, job: Job) -> bool:
        """Take a place for `job` (429 when full: the request rolls back, nothing is written),
        run it in the background once `session` commits, give the place back on rollback.

        True when a worker is free: the job then starts at once, and the caller records it as
        started in its own transaction (one write fewer; a cancel that lands before the run
        begins is seen by the watcher). Otherwise the job marks itself started when its turn
        comes, unless it was cancelled meanwhile."""
        job.started = self.reserve()
        decided = threading.Event()
        context = contextvars.copy_context()

        def committed(_session: Session) -> None:
            if not decided.is_set():
                decided.set()
                with self._lock:
                    self._finished[job.query_uuid] = threading.Event()
                self._pool.submit(context.run, self._background, job)

        def rolled_back(_session: Session, _previous: Any = None) -> None:
            if not decided.is_set():
                decided.set()
                self._release()

        event.listen(session, "after_commit", committed, once=True)
        event.listen(session, "after_soft_rollback", rolled_back, once=True)
        return job.started

    # -- running ------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._closed.wait(WATCH_SECONDS):
            with self._lock:
                running = dict(self._running)
            if not running:
                continue
            now = time.monotonic()
            for scope in running.values():
                if scope.reason is not None:
                    scope.cancel_again()  # until the run ends: a cancel is never lost
                elif now - scope.started > self.timeout:
                    scope.stop(
                        f"Query exceeded the maximum run time of {self.timeout:g} seconds "
                        "(LIGHTKEEPER_QUERY_TIMEOUT_SECONDS)"
                    )
            try:
                with self._sessions() as session:
                    found = repository.statuses(session, list(running))
            except Exception:
                log.warning("query.watch_failed", exc_info=True)
                continue
            for uuid, status in found.items():
                if status == repository.CANCELLED:
                    running[uuid].stop("Query was cancelled")

    def _ensure_watcher(self) -> None:
        with self._lock:
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(
                    target=self._watch, name="lightkeeper-query-watch", daemon=True
                )
                self._watcher.start()

    def run_body(self, job: Job) -> tuple[str, Outcome | None, str | None, int]:
        """Run the work under watch: (status, outcome, error message, elapsed ms)."""
        scope = CancelScope(job.query_uuid)
        with self._lock:
            self._running[job.query_uuid] = scope
        self._ensure_watcher()
        try:
            outcome = job.body(scope)
            scope.raise_if_stopped()
            return repository.READY, outcome, None, outcome.warehouse_ms
        except QueryCancelled as stopped:
            timed_out = "maximum run time" in str(stopped)
            status = repository.ERROR if timed_out else repository.CANCELLED
            return status, None, str(stopped) if timed_out else None, _ms(scope.started)
        except QueryFailed as failed:
            if scope.reason is not None:  # the warehouse failed because we interrupted it
                timed_out = "maximum run time" in scope.reason
                status = repository.ERROR if timed_out else repository.CANCELLED
                return status, None, scope.reason if timed_out else None, _ms(scope.started)
            return repository.ERROR, None, str(failed), _ms(scope.started)
        finally:
            with self._lock:
                self._running.pop(job.query_uuid, None)

    def write_outcome(
        self,
        session: Session,
        job: Job,
        status: str,
        outcome: Outcome | None,
        error: str | None,
        elapsed_ms: int,
    ) -> bool:
        """Store the outcome if the query is still pending; False when a cancel came first.

        With an outcome only the chunks of its first rows (a first page of any allowed size)
        are written here; `store_rest` writes the others."""
        values: dict[str, Any] = {"finished_at": utcnow(), "warehouse_ms": elapsed_ms}
        if outcome is not None:
            # A list: JSONB (PostgreSQL) does not keep the order of an object's keys.
            values.update(total_rows=len(outcome.rows), columns=list(outcome.columns.values()))
        if error is not None:
            values["error"] = error
        if not repository.finish(session, job.query_uuid, status, **values):
            return False
        if outcome is not None:
            repository.add_chunks(session, job.query_uuid, chunk_rows(outcome, 0, self._first_rows))
        job.on_finish(session, status, len(outcome.rows) if outcome else None, elapsed_ms)
        return True

    def store_rest(self, query_uuid: str, outcome: Outcome) -> None:
        """Write the chunks `write_outcome` left, a few per transaction (a page past the
        first waits for its chunks)."""
        step = CHUNK_ROWS * CHUNKS_PER_WRITE
        for start in range(self._first_rows, len(outcome.rows), step):
            waited = 0.0
            while self._finished and waited < YIELD_SECONDS and not self._closed.is_set():
                time.sleep(0.01)
                waited += 0.01
            chunks = chunk_rows(outcome, start, start + step)  # outside the write lock (SQLite)
            with transaction(self._sessions) as session:
                repository.add_chunks(session, query_uuid, chunks)

    def wait_finished(self, query_uuid: str, timeout: float) -> bool | None:
        """Wait until this process has committed the query's outcome: True when it has,
        False at the timeout, None when this process is not running it."""
        with self._lock:
            finished = self._finished.get(query_uuid)
        return None if finished is None else finished.wait(timeout)

    def _announce(self, query_uuid: str) -> None:
        with self._lock:
            finished = self._finished.pop(query_uuid, None)
        if finished is not None:
            finished.set()

    def _background(self, job: Job) -> None:
        try:
            if not job.started:
                with transaction(self._sessions) as session:
                    started = repository.mark_started(session, job.query_uuid, utcnow())
                    if not started:  # cancelled while it waited: recorded as such
                        job.on_finish(session, repository.CANCELLED, None, 0)
                if not started:
                    return
            status, outcome, error, elapsed = self.run_body(job)
            with transaction(self._sessions) as session:
                written = self.write_outcome(session, job, status, outcome, error, elapsed)
            self._announce(job.query_uuid)
            if not written:
                # Cancelled after the warehouse answered: the record says cancelled; audit that.
                with transaction(self._sessions) as session:
                    job.on_finish(session, repository.CANCELLED, None, elapsed)
            elif outcome is not None:
                self.store_rest(job.query_uuid, outcome)
            log.info("query.finished", query_uuid=job.query_uuid, status=status, ms=elapsed)
        except Exception:
            log.exception("query.runner_failed", query_uuid=job.query_uuid)
            try:
                with transaction(self._sessions) as session:
                    repository.finish(
                        session,
                        job.query_uuid,
                        repository.ERROR,
                        error="The server failed while running this query",
                        finished_at=utcnow(),
                    )
            except Exception:
                log.exception("query.runner_failed_twice", query_uuid=job.query_uuid)
        finally:
            self._announce(job.query_uuid)
            self._release()
            self._prune()

    def run_inline(self, session: Session, job: Job) -> tuple[str, Outcome | None, str | None]:
        """Run in the caller's thread and transaction (the legacy synchronous route): every
        chunk is written in that transaction."""
        self.reserve()
        try:
            status, outcome, error, elapsed = self.run_body(job)
            if self.write_outcome(session, job, status, outcome, error, elapsed) and outcome:
                rest = chunk_rows(outcome, self._first_rows, len(outcome.rows))
                repository.add_chunks(session, job.query_uuid, rest)
            return status, outcome, error
        finally:
            self._release()

    def _prune(self) -> None:
        """Housekeeping, at most once a minute: expired results go (their records stay as
        history), and queries abandoned by a stopped process end in `error`."""
        now = time.monotonic()
        if now - self._pruned < 60:
            return
        self._pruned = now
        now_utc = utcnow()
        # No run outlives the timeout, and no wait outlives the queue draining at worst.
        waits = self.timeout * (1 + self.capacity / self.concurrency)
        try:
            with transaction(self._sessions) as session:
                repository.drop_expired_results(session, now_utc)
                repository.fail_abandoned(
                    session,
                    now=now_utc,
                    started_before=now_utc - timedelta(seconds=self.timeout + 60),
                    created_before=now_utc - timedelta(seconds=waits + 60),
                    message="The server running this query stopped before it finished: run it again",
                )
        except Exception:
            log.warning("query.prune_failed", exc_info=True)

    @property
    def in_flight(self) -> int:
        """Queries this process holds a place for: waiting or running."""
        return self._in_flight

    @property
    def running_count(self) -> int:
        """Queries this process is running in a warehouse right now."""
        return len(self._running)

    def close(self, wait: bool = True) -> None:
        self._closed.set()
        with self._lock:
            running = list(self._running.values())
        for scope in running:
            scope.stop("The server is shutting down")
        self._pool.shutdown(wait=wait, cancel_futures=True)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# One runner per runtime, by identity (a Runtime is an unhashable dataclass); an entry goes
# with its runtime.
_RUNNERS: dict[int, QueryRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def runner_for(runtime: Runtime) -> QueryRunner:
    """The runner of this process (one per runtime), made on first use."""
    key = id(runtime)
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
        if runner is None:
            runner = _RUNNERS[key] = QueryRunner(runtime)
            weakref.finalize(runtime, _forget, key)
        return runner


def _forget(key: int, wait: bool = False) -> None:
    with _RUNNERS_LOCK:
        runner = _RUNNERS.pop(key, None)
    if runner is not None:
        runner.close(wait=wait)


def close_runner(runtime: Runtime) -> None:
    """Stop this runtime's runner: running queries are cancelled in their warehouses."""
    _forget(id(runtime), wait=True)
