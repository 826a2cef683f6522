"""The audit-log API: `GET /api/v1/org/audit-log` (read and export one organization's log)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError

from lightkeeper.audit import service
from lightkeeper.audit.repository import AuditFilters
from lightkeeper.audit.schemas import AuditEventOut, AuditLogPage
from lightkeeper.authz.access import require_org
from lightkeeper.deps import CurrentPrincipal, RequestRoute, RuntimeDep, SessionDep
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import ParameterError
from lightkeeper.kit.schemas import Envelope, InputTime

router = APIRouter(tags=["Audit log"], route_class=RequestRoute)

_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
_AWARE: TypeAdapter[datetime] = TypeAdapter(InputTime)
# `?from=2026-03-01T12:00:00+01:00` typed into a URL arrives with a space for the
# unescaped "+"; the intent is unambiguous, so the offset is restored.
_SPACED_OFFSET = re.compile(r"^(\d{4}-\d{2}-\d{2}T[0-9:.]+) (\d{2}(?::?\d{2})?)$")
_TIME_DOC = "ISO-8601 with an offset, e.g. 2026-03-01T12:00:00Z"
_TIME_SCHEMA = {"format": "date-time"}


def _input_time(raw: str | None, field: str) -> datetime | None:
    """An input time: ISO-8601 with an offset; without one it is a 400, never local time."""
    if raw is None or not raw.strip():
        return None
    text = _SPACED_OFFSET.sub(r"\1+\2", raw.strip())
    try:
        return _AWARE.validate_python(text)
    except ValidationError:
        raise ParameterError(
            f"`{field}` must be an ISO-8601 time with an offset, e.g. 2026-03-01T12:00:00Z",
            {"fields": {field: "expected an ISO-8601 time with an offset"}},
        ) from None


@router.get(
    "/api/v1/org/audit-log",
    response_model=Envelope[AuditLogPage],
    summary="Read or export the organization's audit log",
    description=(
        "Newest first. Filters combine with AND; `action` also accepts a prefix such as "
        "`service_account.*`; the time range is `from` (inclusive) to `to` (exclusive), both "
        "ISO-8601 with an offset. `format=json` answers one page (`?cursor=&limit=`, pass "
        "`nextCursor` back unchanged); `format=csv` or `jsonl` downloads every matching event. "
        "Needs `manage:Organization`."
    ),
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            }
        }
    },
)
def audit_log(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    actor_uuid: Annotated[UUID | None, Query(alias="actorUuid")] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(alias="targetType", max_length=32)] = None,
    target_uuid: Annotated[str | None, Query(alias="targetUuid", max_length=64)] = None,
    occurred_from: Annotated[
        str | None,
        Query(alias="from", description=_TIME_DOC + " (inclusive)", json_schema_extra=_TIME_SCHEMA),
    ] = None,
    occurred_to: Annotated[
        str | None,
        Query(alias="to", description=_TIME_DOC + " (exclusive)", json_schema_extra=_TIME_SCHEMA),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = service.DEFAULT_LIMIT,
    format: Annotated[Literal["json", "csv", "jsonl"], Query()] = "json",
) -> Any:
    require_org(principal, "manage", "Organization")
    filters = AuditFilters(
        actor_uuid=str(actor_uuid) if actor_uuid is not None else None,
        action=action or None,
        target_type=target_type or None,
        target_uuid=target_uuid or None,
        occurred_from=_input_time(occurred_from, "from"),
        occurred_to=_input_time(occurred_to, "to"),
    )
    if format != "json":
        chunks = service.export(runtime, principal.organization_uuid, filters, format)
        filename = f"audit-log-{utcnow().strftime('%Y%m%dT%H%M%SZ')}.{format}"
        return StreamingResponse(
            chunks,
            media_type=_MEDIA_TYPES[format],
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )
    page = service.list_events(
        runtime, session, principal.organization_uuid, filters, cursor=cursor, limit=limit
    )
    body = Envelope[AuditLogPage](
        results=AuditLogPage(
            data=[AuditEventOut.of(e) for e in page.events], next_cursor=page.next_cursor
        )
    )
    # Serialized once here: handing FastAPI the model would validate 1,000 events a second time.
    return Response(body.model_dump_json(by_alias=True), media_type="application/json")
