"""One project's API: settings and explores (deploy). Its members (`/access`) are membership routes."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path

from lightkeeper.deps import CurrentPrincipal, RequestRoute, RuntimeDep, SessionDep
from lightkeeper.kit.schemas import Envelope, ok
from lightkeeper.project import service
from lightkeeper.project.schemas import (
    ExploresDeployed,
    ExploreSummaryOut,
    ProjectOut,
    ProjectUpdate,
)

router = APIRouter(prefix="/api/v1/projects", tags=["projects"], route_class=RequestRoute)

ProjectUuid = Annotated[UUID, Path(alias="projectUuid")]
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
