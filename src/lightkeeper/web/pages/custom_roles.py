"""`/generalSettings/customRoles`, `…/new`, `…/{roleUuid}`: list, create, edit, delete custom roles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.authz.access import require_org
from lightkeeper.deps import RuntimeDep, SessionDep
from lightkeeper.kit.errors import ForbiddenError, LightkeeperError, NotFoundError
from lightkeeper.roles import service as roles_service
from lightkeeper.roles.schemas import RoleCreate, RoleUpdate
from lightkeeper.runtime import Runtime
from lightkeeper.web.core import (
    PAGE_DEPENDENCIES,
    Csrf,
    Failure,
    PageRoute,
    SignedIn,
    redirect,
    render,
    render_failure,
)
from lightkeeper.web.forms import FormList, FormText, page_uuid

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

PAGE = "/generalSettings/customRoles"


def _gate(request: Request, runtime: Runtime, principal: Principal) -> Response | None:
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


@router.get(PAGE)
def custom_roles_page(
    request: Request, principal: SignedIn, runtime: RuntimeDep, session: SessionDep
) -> Response:
    gate = _gate(request, runtime, principal)
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
    role: Any = None,
    values: dict[str, Any] | None = None,
    failure: Failure | None = None,
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
            "error": failure.message if failure else None,
            "error_fields": failure.fields if failure else (),
        },
        status=failure.status if failure else 200,
        active="customRoles",
    )


def _custom_role(session: Session, principal: Principal, role_uuid: str) -> Any:
    role = roles_service.get_role(session, principal, principal.organization_uuid, role_uuid)
    if role.owner_type != "user":
        raise NotFoundError("Role not found")
    return role


@router.get(PAGE + "/new")
def new_custom_role_page(
    request: Request, principal: SignedIn, runtime: RuntimeDep, session: SessionDep
) -> Response:
    gate = _gate(request, runtime, principal)
    return gate or _role_form(request, session, principal)


@router.post(PAGE + "/new")
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
    except LightkeeperError as error:
        values = {"name": name, "description": description, "scopes": set(scopes or [])}
        return render_failure(
            request,
            session,
            lambda failure: _role_form(request, session, principal, None, values, failure),
            error,
        )
    return redirect(f"{PAGE}/{created.role_uuid}?notice=role_created")


@router.get(PAGE + "/{role_uuid}")
def custom_role_page(
    request: Request,
    role_uuid: str,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    gate = _gate(request, runtime, principal)
    if gate is not None:
        return gate
    role = _custom_role(session, principal, page_uuid(role_uuid, "Role"))
    return _role_form(request, session, principal, role)


@router.post(PAGE + "/{role_uuid}")
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
    role_uuid = page_uuid(role_uuid, "Role")
    body = RoleUpdate(name=name, description=description, scopes=scopes or [])
    try:
        roles_service.update_role(session, principal, principal.organization_uuid, role_uuid, body)
    except LightkeeperError as error:
        values = {"name": name, "description": description, "scopes": set(scopes or [])}
        return render_failure(
            request,
            session,
            lambda failure: _role_form(
                request,
                session,
                principal,
                _custom_role(session, principal, role_uuid),
                values,
                failure,
            ),
            error,
        )
    return redirect(f"{PAGE}/{role_uuid}?notice=role_updated")


@router.post(PAGE + "/{role_uuid}/delete")
def delete_custom_role(
    request: Request,
    role_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    roles_service.require_enabled(runtime.settings)
    role_uuid = page_uuid(role_uuid, "Role")
    try:
        roles_service.delete_role(session, principal, principal.organization_uuid, role_uuid)
    except LightkeeperError as error:
        return render_failure(
            request,
            session,
            lambda failure: _role_form(
                request,
                session,
                principal,
                _custom_role(session, principal, role_uuid),
                failure=failure,
            ),
            error,
        )
    return redirect(PAGE + "?notice=role_deleted")
