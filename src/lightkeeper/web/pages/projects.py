"""`/generalSettings/projects` and `…/{uuid}`: visible projects; a project's members and roles,
and its warehouse connection (DuckDB or PostgreSQL; the password is never shown back)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import PROJECT_ROLES, ROLE_LABELS
from lightkeeper.authz import tenancy
from lightkeeper.authz.access import allows
from lightkeeper.deps import RuntimeDep, SessionDep, SettingsDep
from lightkeeper.kit.errors import LightkeeperError, ParameterError
from lightkeeper.membership import service as membership_service
from lightkeeper.membership.schemas import ProjectMemberCreate
from lightkeeper.organization import service as organization_service
from lightkeeper.project import service as project_service
from lightkeeper.project.schemas import ProjectUpdate
from lightkeeper.roles import service as roles_service
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
from lightkeeper.web.forms import FormText, page_uuid

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

PAGE = "/generalSettings/projects"
WAREHOUSE_TYPES = (("duckdb", "DuckDB"), ("postgres", "PostgreSQL"))
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# The form's fields per warehouse type; `password` is sent only when typed (else it is kept).
WAREHOUSE_FIELDS = {
    "duckdb": ("database", "schema"),
    "postgres": ("host", "port", "dbname", "user", "password", "schema", "sslmode"),
}


@router.get(PAGE)
def projects_page(request: Request, principal: SignedIn, session: SessionDep) -> Response:
    projects = organization_service.list_projects(session, principal)
    return render(request, "projects.html", {"projects": projects}, active="projects")


def _project_page(
    request: Request,
    session: Session,
    principal: Principal,
    project_uuid: str,
    failure: Failure | None = None,
    warehouse_form: dict[str, str] | None = None,
) -> Response:
    project, target = tenancy.visible_project(session, principal, project_uuid)
    runtime: Runtime = request.app.state.runtime
    connection = project_service.public_connection(runtime, project)
    members = membership_service.list_project_members(session, principal, project.uuid)
    can_manage = allows(principal, "manage", "Project", project=target)
    candidates: list[Any] = []
    if can_manage:
        present = {m.user_uuid for m in members}
        everyone = organization_service.list_members(session, principal, None).data
        candidates = [m for m in everyone if m.user_uuid not in present]
    return render(
        request,
        "project.html",
        {
            "project": project,
            "members": members,
            "role_names": roles_service.role_names(session, principal),
            "can_manage": can_manage,
            "candidates": candidates,
            "roles": [(r, ROLE_LABELS[r]) for r in PROJECT_ROLES],
            "error": failure.message if failure else None,
            "error_fields": failure.fields if failure else (),
            "connection": connection,
            "warehouse": warehouse_form or _warehouse_values(connection),
            "warehouse_types": WAREHOUSE_TYPES,
            "ssl_modes": SSL_MODES,
        },
        status=failure.status if failure else 200,
        active="projects",
    )


def _warehouse_values(connection: dict[str, Any] | None) -> dict[str, str]:
    """The form's values from the stored connection (which never holds the password)."""
    values = {"type": "duckdb", "port": "5432", "sslmode": "prefer"}
    for key, value in (connection or {}).items():
        if value is not None and not isinstance(value, dict | list):
            values[key] = str(value)
    return values


def _failed(
    request: Request,
    session: Session,
    principal: Principal,
    project_uuid: str,
    error: LightkeeperError,
    warehouse_form: dict[str, str] | None = None,
) -> Response:
    return render_failure(
        request,
        session,
        lambda failure: _project_page(
            request, session, principal, project_uuid, failure, warehouse_form
        ),
        error,
    )


@router.get(PAGE + "/{project_uuid}")
def project_page(
    request: Request, project_uuid: str, principal: SignedIn, session: SessionDep
) -> Response:
    return _project_page(request, session, principal, page_uuid(project_uuid, "Project"))


@router.post(PAGE + "/{project_uuid}/members")
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
    project_uuid = page_uuid(project_uuid, "Project")
    try:
        body = ProjectMemberCreate(user_uuid=page_uuid(user_uuid, "User"), role=role)
        membership_service.add_project_member(settings, session, principal, project_uuid, body)
    except LightkeeperError as error:
        return _failed(request, session, principal, project_uuid, error)
    return redirect(f"{PAGE}/{project_uuid}?notice=project_member_added")


@router.post(PAGE + "/{project_uuid}/members/{user_uuid}/role")
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
    project_uuid = page_uuid(project_uuid, "Project")
    try:
        membership_service.change_project_member_role(
            settings, session, principal, project_uuid, user_uuid, role
        )
    except LightkeeperError as error:
        return _failed(request, session, principal, project_uuid, error)
    return redirect(f"{PAGE}/{project_uuid}?notice=project_member_updated")


@router.post(PAGE + "/{project_uuid}/members/{user_uuid}/remove")
def remove_project_member(
    request: Request,
    project_uuid: str,
    user_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    settings: SettingsDep,
    session: SessionDep,
) -> Response:
    project_uuid = page_uuid(project_uuid, "Project")
    try:
        membership_service.remove_project_member(
            settings, session, principal, project_uuid, user_uuid
        )
    except LightkeeperError as error:
        return _failed(request, session, principal, project_uuid, error)
    return redirect(f"{PAGE}/{project_uuid}?notice=project_member_removed")


def _connection_from_form(values: dict[str, str]) -> dict[str, Any]:
    """Lightdash's connection document from the form: blanks left out, the port a number."""
    kind = values.get("type", "")
    if kind not in WAREHOUSE_FIELDS:
        raise ParameterError(
            "Choose a warehouse type: DuckDB or PostgreSQL",
            {"fields": {"warehouseConnection.type": "required"}},
        )
    document: dict[str, Any] = {"type": kind}
    for key in WAREHOUSE_FIELDS[kind]:
        value = values.get(key, "")
        if key != "password":
            value = value.strip()
        if not value:
            continue
        if key == "port":
            if not value.isdigit():
                raise ParameterError(
                    "Port must be a number, e.g. 5432",
                    {"fields": {"warehouseConnection.port": "not a number"}},
                )
            document[key] = int(value)
        else:
            document[key] = value
    return document


@router.post(PAGE + "/{project_uuid}/warehouse")
def save_warehouse(
    request: Request,
    project_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    warehouse_type: Annotated[str, Form(alias="type")] = "",
    database: FormText = "",
    default_schema: Annotated[str, Form(alias="schema")] = "",
    host: FormText = "",
    port: FormText = "",
    dbname: FormText = "",
    user: FormText = "",
    password: FormText = "",
    sslmode: FormText = "",
) -> Response:
    """Set or replace the connection; a PostgreSQL password left empty keeps the stored one."""
    project_uuid = page_uuid(project_uuid, "Project")
    values = {
        "type": warehouse_type,
        "database": database,
        "schema": default_schema,
        "host": host,
        "port": port,
        "dbname": dbname,
        "user": user,
        "password": password,
        "sslmode": sslmode,
    }
    shown_again = {k: v for k, v in values.items() if k != "password"}
    try:
        body = ProjectUpdate(warehouse_connection=_connection_from_form(values))
        project_service.update_project(runtime, session, principal, project_uuid, body)
    except LightkeeperError as error:
        return _failed(request, session, principal, project_uuid, error, shown_again)
    return redirect(f"{PAGE}/{project_uuid}?notice=warehouse_saved")


@router.post(PAGE + "/{project_uuid}/warehouse/remove")
def remove_warehouse(
    request: Request,
    project_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    project_uuid = page_uuid(project_uuid, "Project")
    try:
        body = ProjectUpdate(warehouse_connection=None)
        project_service.update_project(runtime, session, principal, project_uuid, body)
    except LightkeeperError as error:
        return _failed(request, session, principal, project_uuid, error)
    return redirect(f"{PAGE}/{project_uuid}?notice=warehouse_removed")
