"""Every query of the queries domain: query records and their result chunks.

A record's status moves `pending` → `ready | error | cancelled` exactly once:
every change of status is a conditional UPDATE on `status = 'pending'`, so a
cancel written by one process and a result written by another cannot both
win (whichever commits first is the outcome; the other changes nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from lightkeeper.models import QueryRecord, QueryResultChunk

PENDING = "pending"
READY = "ready"
ERROR = "error"
CANCELLED = "cancelled"


def add_record(session: Session, record: QueryRecord) -> QueryRecord:
    session.add(record)
    session.flush()
    return record


# The statements of a results poll (every poll and page runs them) are built once, with
# bound parameters: building one per call costs more than running it.
_RECORD_IN_PROJECT = select(QueryRecord).where(
    QueryRecord.uuid == bindparam("query_uuid"),
    QueryRecord.project_uuid == bindparam("project_uuid"),
)


def record_in_project(session: Session, project_uuid: str, query_uuid: str) -> QueryRecord | None:
    """A record by uuid, only within the project of the URL (the project is already tenant-checked)."""
    found: QueryRecord | None = session.scalar(
        _RECORD_IN_PROJECT, {"query_uuid": query_uuid, "project_uuid": project_uuid}
    )
    return found


def record_in_organization(
    session: Session, organization_uuid: str, query_uuid: str
) -> QueryRecord | None:
    return session.scalar(
        select(QueryRecord).where(
            QueryRecord.uuid == query_uuid, QueryRecord.organization_uuid == organization_uuid
        )
    )


def record(session: Session, query_uuid: str) -> QueryRecord | None:
    """For the runner, which holds the uuid it was handed."""
    return session.get(QueryRecord, query_uuid)


def runs_since(session: Session, user_uuid: str, since: datetime) -> tuple[int, datetime | None]:
    """How many queries a principal started after `since`, and when the oldest of them was."""
    count, oldest = session.execute(
        select(func.count(), func.min(QueryRecord.created_at)).where(
            QueryRecord.created_by_user_uuid == user_uuid, QueryRecord.created_at > since
        )
    ).one()
    return int(count or 0), oldest


def mark_started(session: Session, query_uuid: str, now: datetime) -> bool:
    """True when the query is still pending (not cancelled while it waited)."""
    result = session.execute(
        update(QueryRecord)
        .where(QueryRecord.uuid == query_uuid, QueryRecord.status == PENDING)
        .values(started_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish(session: Session, query_uuid: str, status: str, **values: Any) -> bool:
    """Move a pending query to its outcome; False when it was no longer pending."""
    result = session.execute(
        update(QueryRecord)
        .where(QueryRecord.uuid == query_uuid, QueryRecord.status == PENDING)
        .values(status=status, **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def statuses(session: Session, query_uuids: Sequence[str]) -> dict[str, str]:
    """The current status of each of these queries (the runner's cancel watch: one query)."""
    if not query_uuids:
        return {}
    rows = session.execute(
        select(QueryRecord.uuid, QueryRecord.status).where(QueryRecord.uuid.in_(query_uuids))
    )
    return {uuid: status for uuid, status in rows}


def add_chunks(session: Session, query_uuid: str, chunks: Sequence[tuple[int, int, str]]) -> None:
    """Result chunks as (first row, row count, the rows' JSON texts one per line); a chunk's
    position is its first row, so chunks written by several transactions stay in order."""
    session.add_all(
        QueryResultChunk(
            query_uuid=query_uuid, position=first, first_row=first, row_count=count, rows=text
        )
        for first, count, text in chunks
    )


_CHUNK = QueryResultChunk.__table__.c
_CHUNKS_COVERING = (
    select(_CHUNK.first_row, _CHUNK.row_count, _CHUNK.rows)
    .where(
        _CHUNK.query_uuid == bindparam("query_uuid"),
        _CHUNK.position
        >= select(func.coalesce(func.max(_CHUNK.position), 0))
        .where(_CHUNK.query_uuid == bindparam("query_uuid"), _CHUNK.position <= bindparam("first"))
        .scalar_subquery(),
        _CHUNK.position < bindparam("last"),
    )
    .order_by(_CHUNK.position)
)


def chunks_covering(
    session: Session, query_uuid: str, first_row: int, last_row: int
) -> Sequence[Row[int, int, str]]:
    """The chunks holding rows `first_row` … `last_row - 1` (0-based), in order, as rows of
    `first_row`, `row_count` and `rows`: one query, a range of the primary key (a chunk's
    position is its first row)."""
    return (
        session.connection()
        .execute(_CHUNKS_COVERING, {"query_uuid": query_uuid, "first": first_row, "last": last_row})
        .all()
    )


def all_chunks(session: Session, query_uuid: str) -> list[QueryResultChunk]:
    return list(
        session.scalars(
            select(QueryResultChunk)
            .where(QueryResultChunk.query_uuid == query_uuid)
            .order_by(QueryResultChunk.position)
        )
    )


def set_default_page_size(session: Session, query_uuid: str, page_size: int) -> None:
    session.execute(
        update(QueryRecord)
        .where(QueryRecord.uuid == query_uuid, QueryRecord.default_page_size.is_(None))
        .values(default_page_size=page_size)
    )


def drop_expired_results(session: Session, now: datetime) -> int:
    """Delete the result rows of expired queries (records stay: they are the history)."""
    expired = select(QueryRecord.uuid).where(QueryRecord.expires_at <= now)
    result = session.execute(
        delete(QueryResultChunk).where(QueryResultChunk.query_uuid.in_(expired))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def fail_abandoned(
    session: Session,
    *,
    now: datetime,
    started_before: datetime,
    created_before: datetime,
    message: str,
) -> int:
    """End pending queries no process can still be running (their process stopped): started
    longer ago than any run may last, or never started long after any queue would have."""
    result = session.execute(
        update(QueryRecord)
        .where(
            QueryRecord.status == PENDING,
            or_(
                QueryRecord.started_at < started_before,
                and_(QueryRecord.started_at.is_(None), QueryRecord.created_at < created_before),
            ),
        )
        .values(status=ERROR, error=message, finished_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def count_records(session: Session, project_uuid: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(QueryRecord)
            .where(QueryRecord.project_uuid == project_uuid)
        )
        or 0
    )
