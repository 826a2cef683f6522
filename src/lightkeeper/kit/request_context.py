"""Who sent this request and how: recorded with audit events and log lines."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip: str
    user_agent: str | None
    client_kind: str | None  # the Lightdash-Request-Method header


SYSTEM_CONTEXT = RequestContext(
    request_id="system", ip="127.0.0.1", user_agent=None, client_kind="SYSTEM"
)
current_request: ContextVar[RequestContext] = ContextVar("current_request", default=SYSTEM_CONTEXT)
