"""`/generalSettings/projects` and `…/{uuid}`: visible projects; a project's members and roles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import PROJECT_ROLES, ROLE_LABELS
from lightkeeper.authz import tenancy
from lightkeeper.authz.access import allows
from lightkeeper.deps import SessionDep, SettingsDep
from lightkeeper.kit.errors import LightkeeperError
from lightkeeper.membership import service as membership_service
from lightkeeper.membership.schemas import ProjectMemberCreate
from lightkeeper.organization import service as organization_service
from lightkeeper.roles import service as roles_service
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
            "role_names": roles_service.role_names(session, principal),
            "can_manage": can_manage,
            "candidates": candidates,
            "roles": [(r, ROLE_LABELS[r]) for r in PROJECT_ROLES],
            "error": failure.message if failure else None,
        },
        status=failure.status if failure else 200,
        active="projects",
    )


def _failed(
    request: Request,
    session: Session,
    principal: Principal,
    project_uuid: str,
    error: LightkeeperError,
) -> Response:
    return render_failure(
        request,
        session,
        lambda failure: _project_page(request, session, principal, project_uuid, failure),
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
