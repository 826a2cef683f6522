"""Recording and reading audit events.

`record` adds the event to the caller's session, so it commits or rolls back
with the change it describes: no change without its event, no event without
its change. Its action and target type come from `audit.actions` (anything
else is refused: a new event needs its name there first). `list_events` and `export` read one organization's log, newest
first, with opaque keyset cursors.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hmac
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit import repository
from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.repository import AuditFilters as AuditFilters  # re-exported for callers
from lightkeeper.audit.schemas import AuditEventOut
from lightkeeper.auth.principal import Principal
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import ParameterError
from lightkeeper.kit.request_context import current_request
from lightkeeper.kit.tokens import Keyring
from lightkeeper.models import AuditEvent, new_uuid
from lightkeeper.runtime import Runtime

log = structlog.get_logger()

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
EXPORT_BATCH = 1000
ExportFormat = Literal["csv", "jsonl"]


@dataclass(frozen=True)
class Target:
    type: TargetType
    uuid: str | None
    label: str = ""

    def __post_init__(self) -> None:
        TargetType(self.type)  # an unknown type is a ValueError where the target is built


@dataclass(frozen=True)
class Actor:
    """Who acted when there is no principal (setup, failed authentication, CLI)."""

    type: str
    uuid: str | None
    label: str
    token_hint: str | None = None


def actor_of(principal: Principal) -> Actor:
    """How a principal appears in the log: a service account as itself, never as its creator."""
    if principal.is_service_account:
        return Actor(
            "service_account", principal.service_account_uuid, principal.label, principal.token_hint
        )
    return Actor("user", principal.user_uuid, principal.label, principal.token_hint)


def record(
    session: Session,
    *,
    organization_uuid: str,
    actor: Principal | Actor,
    action: AuditAction,
    target: Target,
    details: dict[str, Any] | None = None,
) -> str:
    """Store one audit event in `session`'s transaction and return its uuid; the request's context
    supplies IP, agent and ids.

    Rules: `action` is an `AuditAction` (an unknown name is a ValueError, a bug of
    the caller, never stored); the target's type is a `TargetType`.
    """
    action = AuditAction(action)
    who = actor_of(actor) if isinstance(actor, Principal) else actor
    ctx = current_request.get()
    values: dict[str, Any] = {
        "uuid": new_uuid(),
        "organization_uuid": organization_uuid,
        "occurred_at": utcnow(),
        "actor_type": who.type,
        "actor_uuid": who.uuid,
        "actor_label": who.label,
        "token_hint": who.token_hint,
        "action": action.value,
        "target_type": str(target.type),
        "target_uuid": target.uuid,
        "target_label": target.label,
        "ip": ctx.ip,
        "user_agent": ctx.user_agent,
        "client_kind": ctx.client_kind,
        "request_id": ctx.request_id,
        "details": details or {},
    }
    repository.add_event(session, values)
    return str(values["uuid"])


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Before/after details limited to the fields that changed."""
    keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return {"before": {k: before.get(k) for k in keys}, "after": {k: after.get(k) for k in keys}}


# -- reading the log ---------------------------------------------------------

_CURSOR_PREFIX = "audit-cursor/v1"
INVALID_CURSOR = "Invalid cursor: pass the nextCursor of a previous page unchanged, or omit it"


def _cursor_signature(key_digest: str) -> str:
    # 16 hex characters (64 bits) make a forged cursor unguessable; it is a
    # position in a log the caller may read anyway, not a credential.
    return key_digest[:16]


def encode_cursor(keyring: Keyring, organization_uuid: str, event_id: int) -> str:
    """An opaque cursor for "events older than `event_id`" in one organization.

    Signed with the server secret and bound to the organization, so a
    tampered or borrowed cursor is refused instead of silently skipping rows.
    """
    _key_id, digest = keyring.hash(f"{_CURSOR_PREFIX}:{organization_uuid}:{event_id}")
    raw = f"{event_id}.{_cursor_signature(digest)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(keyring: Keyring, organization_uuid: str, cursor: str) -> int:
    """The event id a cursor points below. Rules: well-formed, signed by this server
    (current or previous secret), issued for this organization; else 400."""
    invalid = ParameterError(INVALID_CURSOR, {"fields": {"cursor": "invalid"}})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    id_text, _, signature = raw.partition(".")
    if not id_text.isdigit() or len(id_text) > 19 or not signature:
        raise invalid
    event_id = int(id_text)
    message = f"{_CURSOR_PREFIX}:{organization_uuid}:{event_id}"
    if not any(
        hmac.compare_digest(_cursor_signature(digest), signature)
        for _key_id, digest in keyring.candidates(message)
    ):
        raise invalid
    return event_id


def check_filters(filters: AuditFilters) -> None:
    """Reject filter combinations that can match nothing by mistake: `from` must precede `to`."""
    if (
        filters.occurred_from is not None
        and filters.occurred_to is not None
        and filters.occurred_from >= filters.occurred_to
    ):
        raise ParameterError(
            "`from` must be earlier than `to`",
            {"fields": {"from": "must be earlier than to", "to": "must be later than from"}},
        )


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    next_cursor: str | None


def list_events(
    runtime: Runtime,
    session: Session,
    organization_uuid: str,
    filters: AuditFilters,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> EventPage:
    """One page of an organization's audit log, newest first.

    Rules: only `organization_uuid`'s events; `limit` between 1 and 1000; the
    cursor must be one this server issued for this organization; keyset
    pagination on the id, so pages never overlap or skip events even while
    new events arrive; `nextCursor` is null on the last page.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ParameterError(
            f"limit must be between 1 and {MAX_LIMIT}", {"fields": {"limit": "out of range"}}
        )
    check_filters(filters)
    before_id = decode_cursor(runtime.keyring, organization_uuid, cursor) if cursor else None
    # One row more than asked tells whether another page exists without a count(*).
    rows = repository.events_before(
        session, organization_uuid, filters, before_id=before_id, limit=limit + 1
    )
    events, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(runtime.keyring, organization_uuid, events[-1].id) if more else None
    return EventPage(events, next_cursor)


CSV_COLUMNS = (
    "uuid",
    "occurredAt",
    "organizationUuid",
    "actorType",
    "actorUuid",
    "actorLabel",
    "actorTokenHint",
    "action",
    "targetType",
    "targetUuid",
    "targetLabel",
    "ip",
    "userAgent",
    "clientKind",
    "requestId",
    "details",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Labels and user agents are user-controlled: a cell that a spreadsheet
    # would run as a formula is prefixed with ' (OWASP CSV injection advice).
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_row(event: AuditEventOut) -> list[str]:
    wire = event.model_dump(mode="json", by_alias=True)
    actor, target = wire["actor"], wire["target"]
    values = (
        wire["uuid"],
        wire["occurredAt"],
        wire["organizationUuid"],
        actor["type"],
        actor["uuid"],
        actor["label"],
        actor["tokenHint"],
        wire["action"],
        target["type"],
        target["uuid"],
        target["label"],
        wire["ip"],
        wire["userAgent"],
        wire["clientKind"],
        wire["requestId"],
        json.dumps(wire["details"], separators=(",", ":"), sort_keys=True),
    )
    return [_csv_cell(v) for v in values]


def export(
    runtime: Runtime, organization_uuid: str, filters: AuditFilters, fmt: ExportFormat
) -> Iterator[str]:
    """The whole filtered log of one organization as CSV or JSON lines, newest first, in chunks.

    Rules: the same filters and order as `list_events`, but every matching
    event (no cursor, no limit); read in keyset batches, each in its own
    short session, so a large export never holds a connection or loads the
    log into memory; events recorded after the export started are not in it.
    """
    check_filters(filters)
    log.info(
        "audit.exported", organization_uuid=organization_uuid, format=fmt, **filters.describe()
    )

    def chunks() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if fmt == "csv":
            writer.writerow(CSV_COLUMNS)
        before_id: int | None = None
        while True:
            with runtime.sessions() as session:
                batch = repository.events_before(
                    session, organization_uuid, filters, before_id=before_id, limit=EXPORT_BATCH
                )
            for event in batch:
                wire = AuditEventOut.of(event)
                if fmt == "csv":
                    writer.writerow(_csv_row(wire))
                else:
                    buffer.write(wire.model_dump_json(by_alias=True) + "\n")
            if buffer.tell():
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
            if len(batch) < EXPORT_BATCH:
                return
            before_id = batch[-1].id

    return chunks()
