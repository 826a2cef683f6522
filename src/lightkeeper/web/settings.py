"""General Settings pages other than service accounts: personal access tokens, users,
projects, custom roles and the audit log. Each calls the same service functions as the API."""

from __future__ import annotations

import uuid as uuid_module
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lightkeeper.audit import service as audit_service
from lightkeeper.audit.repository import AuditFilters
from lightkeeper.auth.principal import Principal
from lightkeeper.authz import tenancy
from lightkeeper.authz.access import allows, allows_org, require_org
from lightkeeper.authz.roles import ORG_ROLES, PROJECT_ROLES, ROLE_LABELS
from lightkeeper.deps import RuntimeDep, SessionDep, SettingsDep
from lightkeeper.identity import service as identity_service
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import ForbiddenError, LightkeeperError, NotFoundError
from lightkeeper.membership import service as membership_service
from lightkeeper.membership.schemas import ProjectMemberCreate
from lightkeeper.organization import service as organization_service
from lightkeeper.roles import repository as roles_repository
from lightkeeper.roles import service as roles_service
from lightkeeper.roles.schemas import RoleCreate, RoleUpdate
from lightkeeper.runtime import Runtime
from lightkeeper.service_account import service as sa_service
from lightkeeper.web.core import (
    PAGE_DEPENDENCIES,
    Csrf,
    PageRoute,
    SignedIn,
    error_message,
    json_error,
    json_ok,
    person_name,
    redirect,
    render,
    wants_json,
)
from lightkeeper.web.service_accounts import (
    EXPIRATION_OPTIONS,
    FormProblem,
    add_months,
    expiry_from_choice,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

FormText = Annotated[str, Form()]
FormList = Annotated[list[str] | None, Form()]
AUDIT_PAGE_SIZE = 50
AUDIT_ACTIONS = (
    "service_account.*",
    "service_account.created",
    "service_account.updated",
    "service_account.rotated",
    "service_account.deleted",
    "service_account.authentication_failed",
    "personal_access_token.*",
    "user.*",
    "member.*",
    "invite_link.*",
    "role.*",
    "project.*",
    "organization.*",
)
AUDIT_TARGET_TYPES = (
    "service_account",
    "personal_access_token",
    "user",
    "invite_link",
    "role",
    "project",
    "organization",
    "space",
    "chart",
    "dashboard",
)


def _fields(error: LightkeeperError) -> set[str]:
    fields = error.data.get("fields") if isinstance(error.data, dict) else None
    return set(fields) if isinstance(fields, dict) else set()


# -- personal access tokens -----------------------------------------------------------------

PAT_PAGE = "/generalSettings/personalAccessTokens"


def _pat_expiration_options(runtime: Runtime) -> list[tuple[str, str]]:
    """The create choices, within PAT_MAX_EXPIRATION_TIME_IN_DAYS when it is set."""
    max_days = runtime.settings.pat_max_expiration_time_in_days
    if max_days is None:
        return list(EXPIRATION_OPTIONS)
    now = utcnow()
    days = {"6m": (add_months(now, 6) - now).days, "1y": (add_months(now, 12) - now).days}
    options = []
    for value, label in EXPIRATION_OPTIONS:
        if value == "never":
            continue
        if (days.get(value) or int(value)) <= max_days:
            options.append((value, label))
    return options or [(str(max_days), f"{max_days} days")]


def _pat_page(
    request: Request,
    runtime: Runtime,
    session: Session,
    principal: Principal,
    *,
    status: int = 200,
    error: str | None = None,
    created: dict[str, str] | None = None,
) -> Response:
    try:
        tokens = identity_service.list_personal_tokens(runtime, session, principal)
    except ForbiddenError as problem:
        return render(
            request,
            "personal_tokens.html",
            {"disabled": problem.message, "tokens": [], "options": [], "created": None},
            active="personalAccessTokens",
        )
    options = _pat_expiration_options(runtime)
    return render(
        request,
        "personal_tokens.html",
        {
            "disabled": None,
            "tokens": tokens,
            "options": options,
            "default_expiration": "30" if any(v == "30" for v, _ in options) else options[0][0],
            "created": created,
            "error": error,
        },
        status=status,
        active="personalAccessTokens",
    )


@router.get(PAT_PAGE)
def personal_tokens_page(
    request: Request, principal: SignedIn, runtime: RuntimeDep, session: SessionDep
) -> Response:
    return _pat_page(request, runtime, session, principal)


@router.post(PAT_PAGE)
def create_personal_token(
    request: Request,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    description: FormText = "",
    expiration: FormText = "30",
) -> Response:
    try:
        expires_at = expiry_from_choice(expiration)
        pat, token = identity_service.create_personal_token(
            runtime, session, principal, description=description, expires_at=expires_at
        )
    except (FormProblem, LightkeeperError) as problem:
        session.rollback()
        message = problem.message if isinstance(problem, FormProblem) else error_message(problem)
        status = 400 if isinstance(problem, FormProblem) else problem.status_code
        if wants_json(request):
            return json_error(message, status)
        return _pat_page(request, runtime, session, principal, status=status, error=message)
    if wants_json(request):
        return json_ok(uuid=pat.uuid, description=pat.description, token=token)
    created = {"description": pat.description, "token": token}
    return _pat_page(request, runtime, session, principal, created=created)


@router.post(PAT_PAGE + "/{uuid}/delete")
def delete_personal_token(
    request: Request,
    uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    try:
        identity_service.delete_personal_token(runtime, session, principal, uuid)
    except LightkeeperError as problem:
        session.rollback()
        return _pat_page(
            request,
            runtime,
            session,
            principal,
            status=problem.status_code,
            error=error_message(problem),
        )
    return redirect(PAT_PAGE + "?notice=pat_deleted")


# -- users ------------------------------------------------------------------------------

USERS_PAGE = "/generalSettings/users"


def _users_page(
    request: Request,
    runtime: Runtime,
    session: Session,
    principal: Principal,
    *,
    status: int = 200,
    error: str | None = None,
    new_invite: Any = None,
) -> Response:
    members = organization_service.list_members(session, principal, None)
    can_invite = allows_org(principal, "manage", "InviteLink")
    invites = identity_service.list_invites(session, principal) if can_invite else []
    organization = organization_service.get_organization(session, principal)
    return render(
        request,
        "users.html",
        {
            "members": members,
            "can_manage": allows_org(principal, "manage", "OrganizationMemberProfile"),
            "can_invite": can_invite,
            "invites": [(i, identity_service.invite_url(runtime, i)) for i in invites],
            "roles": [(r, ROLE_LABELS[r]) for r in ORG_ROLES],
            "default_role": organization.default_role,
            "new_invite": new_invite,
            "error": error,
        },
        status=status,
        active="users",
    )


@router.get(USERS_PAGE)
def users_page(
    request: Request, principal: SignedIn, runtime: RuntimeDep, session: SessionDep
) -> Response:
    return _users_page(request, runtime, session, principal)


def _users_failed(
    request: Request,
    runtime: Runtime,
    session: Session,
    principal: Principal,
    problem: LightkeeperError,
) -> Response:
    session.rollback()
    return _users_page(
        request,
        runtime,
        session,
        principal,
        status=problem.status_code,
        error=error_message(problem),
    )


@router.post(USERS_PAGE + "/{user_uuid}/role")
def change_member_role(
    request: Request,
    user_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    role: FormText = "",
) -> Response:
    try:
        membership_service.change_member_role(
            runtime.settings, session, principal, user_uuid, role
        )
    except LightkeeperError as problem:
        return _users_failed(request, runtime, session, principal, problem)
    return redirect(USERS_PAGE + "?notice=role_changed")


@router.post(USERS_PAGE + "/{user_uuid}/remove")
def remove_member(
    request: Request,
    user_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    try:
        membership_service.remove_member(runtime.settings, session, principal, user_uuid)
    except LightkeeperError as problem:
        return _users_failed(request, runtime, session, principal, problem)
    return redirect(USERS_PAGE + "?notice=member_removed")


@router.post(USERS_PAGE + "/invites")
def create_invite(
    request: Request,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    email: FormText = "",
    role: FormText = "",
) -> Response:
    try:
        invite = identity_service.create_invite(
            runtime, session, principal, email=email, role=role or None, expires_at=None
        )
    except LightkeeperError as problem:
        return _users_failed(request, runtime, session, principal, problem)
    new_invite = {
        "email": invite.email,
        "role": invite.role,
        "url": identity_service.invite_url(runtime, invite),
        "expires_at": invite.expires_at,
    }
    return _users_page(request, runtime, session, principal, new_invite=new_invite)


@router.post(USERS_PAGE + "/invites/{code}/delete")
def delete_invite(
    request: Request,
    code: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    try:
        identity_service.delete_invite(session, principal, code)
    except LightkeeperError as problem:
        return _users_failed(request, runtime, session, principal, problem)
    return redirect(USERS_PAGE + "?notice=invite_deleted")


# -- projects ---------------------------------------------------------------------------

PROJECTS_PAGE = "/generalSettings/projects"


@router.get(PROJECTS_PAGE)
def projects_page(request: Request, principal: SignedIn, session: SessionDep) -> Response:
    projects = organization_service.list_projects(session, principal)
    return render(request, "projects.html", {"projects": projects}, active="projects")


def _role_names(session: Session, principal: Principal) -> dict[str, str]:
    return {r.uuid: r.name for r in roles_repository.roles(session, principal.organization_uuid)}


def _project_page(
    request: Request,
    session: Session,
    principal: Principal,
    project_uuid: str,
    *,
    status: int = 200,
    error: str | None = None,
) -> Response:
    project, target = tenancy.visible_project(session, principal, project_uuid)
    members = membership_service.list_project_members(session, principal, project.uuid)
    can_manage = allows(principal, "manage", "Project", project=target)
    candidates: list[Any] = []
    if can_manage:
        present = {m.user_uuid for m in members}
        everyone = organization_service.list_members(session, principal, None)
        assert isinstance(everyone, list)
        candidates = [m for m in everyone if m.user_uuid not in present]
    return render(
        request,
        "project.html",
        {
            "project": project,
            "members": members,
            "role_names": _role_names(session, principal),
            "can_manage": can_manage,
            "candidates": candidates,
            "roles": [(r, ROLE_LABELS[r]) for r in PROJECT_ROLES],
            "error": error,
        },
        status=status,
        active="projects",
    )


@router.get(PROJECTS_PAGE + "/{project_uuid}")
def project_page(
    request: Request, project_uuid: str, principal: SignedIn, session: SessionDep
) -> Response:
    return _project_page(request, session, principal, _uuid(project_uuid, "Project"))


def _uuid(value: str, kind: str) -> str:
    try:
        return str(uuid_module.UUID(value))
    except ValueError:
        raise NotFoundError(f"{kind} not found") from None


def _project_failed(
    request: Request,
    session: Session,
    principal: Principal,
    project_uuid: str,
    problem: LightkeeperError,
) -> Response:
    session.rollback()
    return _project_page(
        request,
        session,
        principal,
        project_uuid,
        status=problem.status_code,
        error=error_message(problem),
    )


@router.post(PROJECTS_PAGE + "/{project_uuid}/members")
def add_project_member(
    request: Request,
    project_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    settings: SettingsDep,
    session: SessionDep,
    user_uuid: FormText = "",
    role: FormText = "viewer",
) -> Response:
    project_uuid = _uuid(project_uuid, "Project")
    try:
        body = ProjectMemberCreate(user_uuid=_uuid(user_uuid, "User"), role=role)
        membership_service.add_project_member(settings, session, principal, project_uuid, body)
    except LightkeeperError as problem:
        return _project_failed(request, session, principal, project_uuid, problem)
    return redirect(f"{PROJECTS_PAGE}/{project_uuid}?notice=project_member_added")


@router.post(PROJECTS_PAGE + "/{project_uuid}/members/{user_uuid}/role")
def change_project_member_role(
    request: Request,
    project_uuid: str,
    user_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    settings: SettingsDep,
    session: SessionDep,
    role: FormText = "",
) -> Response:
    project_uuid = _uuid(project_uuid, "Project")
    try:
        membership_service.change_project_member_role(
            settings, session, principal, project_uuid, user_uuid, role
        )
    except LightkeeperError as problem:
        return _project_failed(request, session, principal, project_uuid, problem)
    return redirect(f"{PROJECTS_PAGE}/{project_uuid}?notice=project_member_updated")


@router.post(PROJECTS_PAGE + "/{project_uuid}/members/{user_uuid}/remove")
def remove_project_member(
    request: Request,
    project_uuid: str,
    user_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    settings: SettingsDep,
    session: SessionDep,
) -> Response:
    project_uuid = _uuid(project_uuid, "Project")
    try:
        membership_service.remove_project_member(
            settings, session, principal, project_uuid, user_uuid
        )
    except LightkeeperError as problem:
        return _project_failed(request, session, principal, project_uuid, problem)
    return redirect(f"{PROJECTS_PAGE}/{project_uuid}?notice=project_member_removed")


# -- custom roles ------------------------------------------------------------------------

ROLES_PAGE = "/generalSettings/customRoles"


def _roles_gate(request: Request, runtime: Runtime, principal: Principal) -> Response | None:
    """Needs `manage:Organization` (else no access); a panel says how to enable the feature."""
    require_org(principal, "manage", "Organization")
    try:
        roles_service.require_enabled(runtime.settings)
    except ForbiddenError as problem:
        return render(
            request,
            "custom_roles_disabled.html",
            {
                "message": problem.message,
                "licensed": runtime.settings.has_enterprise_license,
                "enabled": runtime.settings.custom_roles_enabled,
            },
            active="customRoles",
        )
    return None


def _scope_groups(principal: Principal) -> list[tuple[str, list[Any]]]:
    groups: dict[str, list[Any]] = {}
    for scope in roles_service.list_scopes(principal, principal.organization_uuid):
        groups.setdefault(scope.group, []).append(scope)
    return list(groups.items())


@router.get(ROLES_PAGE)
def custom_roles_page(
    request: Request, principal: SignedIn, runtime: RuntimeDep, session: SessionDep
) -> Response:
    gate = _roles_gate(request, runtime, principal)
    if gate is not None:
        return gate
    org = principal.organization_uuid
    roles = roles_service.list_roles(session, principal, org, "user")
    assigned: dict[str, str] = {}
    for role in roles:
        assignees = roles_service.list_assignees(session, principal, org, role.role_uuid)
        # where_assigned() needs at least one assignee (it fails on an empty list).
        assigned[role.role_uuid] = roles_service.where_assigned(assignees) if assignees else ""
    return render(
        request,
        "custom_roles.html",
        {"roles": roles, "assigned": assigned},
        active="customRoles",
    )


def _role_form(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    role: Any = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
    error: str | None = None,
    error_fields: set[str] | None = None,
) -> Response:
    assignees = []
    if role is not None:
        assignees = roles_service.list_assignees(
            session, principal, principal.organization_uuid, role.role_uuid
        )
    if values is None:
        values = {
            "name": role.name if role else "",
            "description": (role.description or "") if role else "",
            "scopes": set(role.scopes) if role else set(),
        }
    return render(
        request,
        "custom_role_form.html",
        {
            "role": role,
            "values": values,
            "groups": _scope_groups(principal),
            "assignees": assignees,
            "error": error,
            "error_fields": error_fields or set(),
        },
        status=status,
        active="customRoles",
    )


@router.get(ROLES_PAGE + "/new")
def new_custom_role_page(
    request: Request, principal: SignedIn, runtime: RuntimeDep, session: SessionDep
) -> Response:
    gate = _roles_gate(request, runtime, principal)
    return gate or _role_form(request, session, principal)


@router.post(ROLES_PAGE + "/new")
def create_custom_role(
    request: Request,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    name: FormText = "",
    description: FormText = "",
    scopes: FormList = None,
) -> Response:
    roles_service.require_enabled(runtime.settings)
    body = RoleCreate(name=name, description=description, scopes=scopes or [])
    try:
        created = roles_service.create_role(session, principal, principal.organization_uuid, body)
    except LightkeeperError as problem:
        session.rollback()
        values = {"name": name, "description": description, "scopes": set(scopes or [])}
        return _role_form(
            request,
            session,
            principal,
            values=values,
            status=problem.status_code,
            error=error_message(problem),
            error_fields=_fields(problem),
        )
    return redirect(f"{ROLES_PAGE}/{created.role_uuid}?notice=role_created")


def _custom_role(session: Session, principal: Principal, role_uuid: str) -> Any:
    role = roles_service.get_role(session, principal, principal.organization_uuid, role_uuid)
    if role.owner_type != "user":
        raise NotFoundError("Role not found")
    return role


@router.get(ROLES_PAGE + "/{role_uuid}")
def custom_role_page(
    request: Request,
    role_uuid: str,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    gate = _roles_gate(request, runtime, principal)
    if gate is not None:
        return gate
    role = _custom_role(session, principal, _uuid(role_uuid, "Role"))
    return _role_form(request, session, principal, role=role)


@router.post(ROLES_PAGE + "/{role_uuid}")
def update_custom_role(
    request: Request,
    role_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    name: FormText = "",
    description: FormText = "",
    scopes: FormList = None,
) -> Response:
    roles_service.require_enabled(runtime.settings)
    role_uuid = _uuid(role_uuid, "Role")
    body = RoleUpdate(name=name, description=description, scopes=scopes or [])
    try:
        roles_service.update_role(session, principal, principal.organization_uuid, role_uuid, body)
    except LightkeeperError as problem:
        session.rollback()
        role = _custom_role(session, principal, role_uuid)
        values = {"name": name, "description": description, "scopes": set(scopes or [])}
        return _role_form(
            request,
            session,
            principal,
            role=role,
            values=values,
            status=problem.status_code,
            error=error_message(problem),
            error_fields=_fields(problem),
        )
    return redirect(f"{ROLES_PAGE}/{role_uuid}?notice=role_updated")


@router.post(ROLES_PAGE + "/{role_uuid}/delete")
def delete_custom_role(
    request: Request,
    role_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    roles_service.require_enabled(runtime.settings)
    role_uuid = _uuid(role_uuid, "Role")
    try:
        roles_service.delete_role(session, principal, principal.organization_uuid, role_uuid)
    except LightkeeperError as problem:
        session.rollback()
        role = _custom_role(session, principal, role_uuid)
        return _role_form(
            request,
            session,
            principal,
            role=role,
            status=problem.status_code,
            error=error_message(problem),
        )
    return redirect(ROLES_PAGE + "?notice=role_deleted")


# -- audit log ---------------------------------------------------------------------------

AUDIT_PAGE = "/generalSettings/auditLog"


def _local_time(value: str, label: str) -> datetime | None:
    """A `datetime-local` field, read as UTC (the page says so)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FormProblem(f"{label} is not a date and time", label.lower()) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@router.get(AUDIT_PAGE)
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
        actor = _uuid(form["actorUuid"], "Actor") if form["actorUuid"] else None
        occurred_from = _local_time(form["from"], "From")
        occurred_to = _local_time(form["to"], "To")
        filters = AuditFilters(
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
            limit=AUDIT_PAGE_SIZE,
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
    members = organization_service.list_members(session, principal, None)
    assert isinstance(members, list)
    actors = [(m.user_uuid, person_name(m.first_name, m.last_name, m.email)) for m in members] + [
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
            "actions": AUDIT_ACTIONS,
            "target_types": AUDIT_TARGET_TYPES,
            "next_url": (
                AUDIT_PAGE + "?" + urlencode({**filter_query, "cursor": next_cursor})
                if next_cursor
                else None
            ),
            "first_url": AUDIT_PAGE + ("?" + urlencode(filter_query) if filter_query else ""),
            "paged": bool(cursor),
            "export_csv": "/api/v1/org/audit-log?" + urlencode({**export_query, "format": "csv"}),
            "export_jsonl": "/api/v1/org/audit-log?"
            + urlencode({**export_query, "format": "jsonl"}),
            "error": error,
        },
        status=400 if error else 200,
        active="auditLog",
    )
