"""Recording audit events.

`record` adds the event to the caller's session, so it commits or rolls back
with the change it describes: no change without its event, no event without
its change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.kit.request_context import current_request
from lightkeeper.models import AuditEvent


@dataclass(frozen=True)
class Target:
    type: str
    uuid: str | None
    label: str = ""


@dataclass(frozen=True)
class Actor:
    """Who acted when there is no principal (setup, failed authentication, CLI)."""

    type: str
    uuid: str | None
    label: str
    token_hint: str | None = None


def actor_of(principal: Principal) -> Actor:
    if principal.is_service_account:
        return Actor("service_account", principal.service_account_uuid, principal.label, principal.token_hint)
    return Actor("user", principal.user_uuid, principal.label, principal.token_hint)


def record(
    session: Session,
    *,
    organization_uuid: str,
    actor: Principal | Actor,
    action: str,
    target: Target,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to `session`; the request's context supplies IP, agent and ids."""
    who = actor_of(actor) if isinstance(actor, Principal) else actor
    ctx = current_request.get()
    event = AuditEvent(
        organization_uuid=organization_uuid,
        actor_type=who.type,
        actor_uuid=who.uuid,
        actor_label=who.label,
        token_hint=who.token_hint,
        action=action,
        target_type=target.type,
        target_uuid=target.uuid,
        target_label=target.label,
        ip=ctx.ip,
        user_agent=ctx.user_agent,
        client_kind=ctx.client_kind,
        request_id=ctx.request_id,
        details=details or {},
    )
    session.add(event)
    return event


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Before/after details limited to the fields that changed."""
    keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return {"before": {k: before.get(k) for k in keys}, "after": {k: after.get(k) for k in keys}}
