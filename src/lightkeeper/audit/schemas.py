"""Wire models of the audit log (camelCase on the wire)."""

from __future__ import annotations

from typing import Any

from lightkeeper.kit.schemas import CamelModel, UTCTime
from lightkeeper.models import AuditEvent


class AuditActor(CamelModel):
    type: str
    uuid: str | None
    label: str
    token_hint: str | None


class AuditTarget(CamelModel):
    type: str
    uuid: str | None
    label: str


class AuditEventOut(CamelModel):
    uuid: str
    occurred_at: UTCTime
    organization_uuid: str
    actor: AuditActor
    action: str
    target: AuditTarget
    ip: str | None
    user_agent: str | None
    client_kind: str | None
    request_id: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        return cls(
            uuid=event.uuid,
            occurred_at=event.occurred_at,
            organization_uuid=event.organization_uuid,
            actor=AuditActor(
                type=event.actor_type,
                uuid=event.actor_uuid,
                label=event.actor_label,
                token_hint=event.token_hint,
            ),
            action=event.action,
            target=AuditTarget(
                type=event.target_type, uuid=event.target_uuid, label=event.target_label
            ),
            ip=event.ip,
            user_agent=event.user_agent,
            client_kind=event.client_kind,
            request_id=event.request_id,
            details=event.details or {},
        )


class AuditLogPage(CamelModel):
    """One page of the log, newest first; `nextCursor` is null on the last page."""

    data: list[AuditEventOut]
    next_cursor: str | None
