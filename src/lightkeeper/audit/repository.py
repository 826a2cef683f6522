"""Every query of the audit log.

Reads are keyset queries on the event id, newest first: each filter that
has an index of its own (`actor_uuid`, `action`, `target_uuid`) walks that
`(organization_uuid, <column>, id)` index, everything else walks
`(organization_uuid, id)`, so a page costs the same on page 1 and page 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session

from lightkeeper.models import AuditEvent

_INSERT_EVENT = insert(AuditEvent)


def add_event(session: Session, values: dict[str, Any]) -> None:
    """Insert one event row now, in the session's transaction, after whatever it has pending.

    A Core insert: the ORM's unit of work costs several times more for a row that is
    never read back in the same request. Pending objects are flushed first, so a row
    the event refers to (its organization, say) is there before it.
    """
    session.flush()
    session.connection().execute(_INSERT_EVENT, values)


@dataclass(frozen=True)
class AuditFilters:
    """What the caller narrows the log to; `None` means "any". The time range is [from, to)."""

    actor_uuid: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_uuid: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None

    def describe(self) -> dict[str, Any]:
        """The filters that are set, for log lines."""
        return {
            k: v.isoformat() if isinstance(v, datetime) else v
            for k, v in self.__dict__.items()
            if v is not None
        }


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(organization_uuid: str, filters: AuditFilters) -> Select[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.organization_uuid == organization_uuid)
    if filters.actor_uuid is not None:
        statement = statement.where(AuditEvent.actor_uuid == filters.actor_uuid)
    if filters.action is not None:
        if filters.action.endswith(".*"):
            # `service_account.*`: every action of one kind of thing.
            prefix = _escape_like(filters.action[:-1])
            statement = statement.where(AuditEvent.action.like(prefix + "%", escape="\\"))
        else:
            statement = statement.where(AuditEvent.action == filters.action)
    if filters.target_type is not None:
        statement = statement.where(AuditEvent.target_type == filters.target_type)
    if filters.target_uuid is not None:
        statement = statement.where(AuditEvent.target_uuid == filters.target_uuid)
    if filters.occurred_from is not None:
        statement = statement.where(AuditEvent.occurred_at >= filters.occurred_from)
    if filters.occurred_to is not None:
        statement = statement.where(AuditEvent.occurred_at < filters.occurred_to)
    return statement


def events_before(
    session: Session,
    organization_uuid: str,
    filters: AuditFilters,
    *,
    before_id: int | None,
    limit: int,
) -> list[AuditEvent]:
    """Up to `limit` matching events of the organization older than `before_id`, newest first."""
    statement = _filtered(organization_uuid, filters)
    if before_id is not None:
        statement = statement.where(AuditEvent.id < before_id)
    # Ordering by id alone (not occurred_at) keeps the order total and index-backed.
    statement = statement.order_by(AuditEvent.id.desc()).limit(limit)
    return list(session.scalars(statement))
