"""One project's API: settings, members (`/access`) and explores (deploy)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path

from lightkeeper.auth.dependencies import CurrentPrincipal
from lightkeeper.deps import RequestRoute, RuntimeDep, SessionDep, SettingsDep
from lightkeeper.kit.schemas import Envelope, OkResponse, ok
from lightkeeper.project import service
from lightkeeper.project.schemas import (
    ExploresDeployed,
    ExploreSummaryOut,
    ProjectMemberCreate,
    ProjectMemberOut,
    ProjectMemberUpdate,
    ProjectOut,
    ProjectUpdate,
)

router = APIRouter(prefix="/api/v1/projects", tags=["projects"], route_class=RequestRoute)

ProjectUuid = Annotated[UUID, Path(alias="projectUuid")]
UserUuid = Annotated[UUID, Path(alias="userUuid")]
ExploreName = Annotated[str, Path(alias="exploreName")]


@router.get("/{projectUuid}", response_model=Envelope[ProjectOut])
def get_project(
    project_uuid: ProjectUuid, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    project = service.get_project(session, principal, str(project_uuid))
    return ok(service.project_out(runtime, project))


@router.patch("/{projectUuid}", response_model=Envelope[ProjectOut])
def update_project(
    project_uuid: ProjectUuid,
    body: ProjectUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    project = service.update_project(runtime, session, principal, str(project_uuid), body)
    return ok(service.project_out(runtime, project))


@router.get("/{projectUuid}/access", response_model=Envelope[list[ProjectMemberOut]])
def list_members(
    project_uuid: ProjectUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(service.list_members(session, principal, str(project_uuid)))


@router.post("/{projectUuid}/access", response_model=Envelope[ProjectMemberOut])
def add_member(
    project_uuid: ProjectUuid,
    body: ProjectMemberCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    membership, user = service.add_member(session, principal, str(project_uuid), body)
    return ok(service.member_out(membership, user))


@router.patch("/{projectUuid}/access/{userUuid}", response_model=Envelope[ProjectMemberOut])
def change_member_role(
    project_uuid: ProjectUuid,
    user_uuid: UserUuid,
    body: ProjectMemberUpdate,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    session: SessionDep,
) -> dict[str, Any]:
    membership, user = service.change_member_role(
        settings, session, principal, str(project_uuid), str(user_uuid), body.role
    )
    return ok(service.member_out(membership, user))


@router.delete("/{projectUuid}/access/{userUuid}", response_model=OkResponse)
def remove_member(
    project_uuid: ProjectUuid,
    user_uuid: UserUuid,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    session: SessionDep,
) -> dict[str, Any]:
    service.remove_member(settings, session, principal, str(project_uuid), str(user_uuid))
    return ok()


@router.put("/{projectUuid}/explores", response_model=Envelope[ExploresDeployed])
def deploy_explores(
    project_uuid: ProjectUuid,
    body: Annotated[list[dict[str, Any]] | dict[str, Any], Body()],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """Replace the project's explores: a list of Lightdash explores, or `{"explores": [...]}`."""
    count = service.deploy_explores(session, principal, str(project_uuid), body)
    return ok(ExploresDeployed(explores=count))


@router.get("/{projectUuid}/explores", response_model=Envelope[list[ExploreSummaryOut]])
def list_explores(
    project_uuid: ProjectUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(service.list_explores(session, principal, str(project_uuid)))


@router.get("/{projectUuid}/explores/{exploreName}", response_model=Envelope[dict[str, Any]])
def get_explore(
    project_uuid: ProjectUuid,
    explore_name: ExploreName,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    return ok(service.get_explore(session, principal, str(project_uuid), explore_name))
