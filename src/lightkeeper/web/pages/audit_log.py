"""`/generalSettings/auditLog`: filter the organization's audit log; export links to the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lightkeeper.audit import service as audit_service
from lightkeeper.audit.actions import AuditAction, TargetType, action_families
from lightkeeper.authz.access import require_org
from lightkeeper.deps import RuntimeDep, SessionDep
from lightkeeper.kit.errors import LightkeeperError, NotFoundError
from lightkeeper.kit.names import display_name
from lightkeeper.organization import service as organization_service
from lightkeeper.service_account import service as sa_service
from lightkeeper.web.core import (
    PAGE_DEPENDENCIES,
    FormProblem,
    PageRoute,
    SignedIn,
    error_message,
    render,
)
from lightkeeper.web.forms import local_time, page_uuid

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

PAGE = "/generalSettings/auditLog"
PAGE_SIZE = 50


def action_choices() -> list[str]:
    """The action filter's suggestions: each family (`service_account.*`), then its actions."""
    choices: list[str] = []
    for family in action_families():
        choices.append(family)
        choices += [a.value for a in AuditAction if f"{a.family}.*" == family]
    return choices


@router.get(PAGE)
def audit_log_page(
    request: Request, principal: SignedIn, runtime: RuntimeDep, session: SessionDep
) -> Response:
    require_org(principal, "manage", "Organization")
    query = request.query_params
    form = {
        key: query.get(key, "").strip()
        for key in ("actorUuid", "action", "targetType", "targetUuid", "from", "to")
    }
    cursor = query.get("cursor") or None
    error: str | None = None
    events: list[Any] = []
    next_cursor: str | None = None
    export_query: dict[str, str] = {}
    try:
        actor = page_uuid(form["actorUuid"], "Actor") if form["actorUuid"] else None
        occurred_from = local_time(form["from"], "From")
        occurred_to = local_time(form["to"], "To")
        filters = audit_service.AuditFilters(
            actor_uuid=actor,
            action=form["action"] or None,
            target_type=form["targetType"] or None,
            target_uuid=form["targetUuid"] or None,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
        )
        page = audit_service.list_events(
            runtime,
            session,
            principal.organization_uuid,
            filters,
            cursor=cursor,
            limit=PAGE_SIZE,
        )
        events, next_cursor = page.events, page.next_cursor
        export_query = {
            k: v
            for k, v in {
                "actorUuid": actor or "",
                "action": filters.action or "",
                "targetType": filters.target_type or "",
                "targetUuid": filters.target_uuid or "",
                "from": occurred_from.isoformat() if occurred_from else "",
                "to": occurred_to.isoformat() if occurred_to else "",
            }.items()
            if v
        }
    except FormProblem as problem:
        error = problem.message
    except NotFoundError:
        error = "Actor must be chosen from the list"
    except LightkeeperError as problem:
        error = error_message(problem)
    members = organization_service.list_members(session, principal, None).data
    actors = [(m.user_uuid, display_name(m.first_name, m.last_name, m.email)) for m in members] + [
        (row.account.uuid, f"{row.account.description} (service account)")
        for row in sa_service.list_service_accounts(session, principal)
    ]
    filter_query = {k: v for k, v in form.items() if v}
    return render(
        request,
        "audit_log.html",
        {
            "form": form,
            "events": events,
            "actors": actors,
            "actions": action_choices(),
            "target_types": [t.value for t in TargetType],
            "next_url": (
                PAGE + "?" + urlencode({**filter_query, "cursor": next_cursor})
                if next_cursor
                else None
            ),
            "first_url": PAGE + ("?" + urlencode(filter_query) if filter_query else ""),
            "paged": bool(cursor),
            "export_csv": "/api/v1/org/audit-log?" + urlencode({**export_query, "format": "csv"}),
            "export_jsonl": "/api/v1/org/audit-log?"
            + urlencode({**export_query, "format": "jsonl"}),
            "error": error,
        },
        status=400 if error else 200,
        active="auditLog",
    )
