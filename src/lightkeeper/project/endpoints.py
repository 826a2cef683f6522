"""One project's API: settings, explores (deploy) and the rest of the CLI's deploy pipeline.

Its members (`/access`) are membership routes.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path, Query

from lightkeeper.deps import CurrentPrincipal, RequestRoute, RuntimeDep, SessionDep
from lightkeeper.kit.schemas import Envelope, OkResponse, ok
from lightkeeper.project import pipeline, service, validation
from lightkeeper.project.schemas import (
    DeployBatchAdded,
    DeployBatchIn,
    DeployFinalized,
    DeploySessionStarted,
    ExploresDeployed,
    ExploreSummaryOut,
    MetadataUpdate,
    PreviewExpirationIn,
    PreviewExpirationOut,
    ProjectOut,
    ProjectUpdate,
    SchedulerSettingsUpdate,
    TagIn,
    TagOut,
    ValidateIn,
    ValidationJob,
)

router = APIRouter(prefix="/api/v1/projects", tags=["projects"], route_class=RequestRoute)
v2_router = APIRouter(prefix="/api/v2/projects", tags=["projects"], route_class=RequestRoute)

ProjectUuid = Annotated[UUID, Path(alias="projectUuid")]
ExploreName = Annotated[str, Path(alias="exploreName")]
SessionUuid = Annotated[str, Path(alias="sessionUuid", max_length=64)]


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


@router.patch("/{projectUuid}/schedulerSettings", response_model=OkResponse)
def update_scheduler_settings(
    project_uuid: ProjectUuid,
    body: SchedulerSettingsUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """The project's scheduler timezone (an IANA name)."""
    service.update_scheduler_settings(session, principal, str(project_uuid), body.scheduler_timezone)
    return ok()


@router.patch("/{projectUuid}/metadata", response_model=OkResponse)
def update_metadata(
    project_uuid: ProjectUuid, body: MetadataUpdate, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """The project's upstream project (null clears it); absent fields stay as they are."""
    upstream = body.upstream_project_uuid
    service.update_metadata(
        session,
        principal,
        str(project_uuid),
        str(upstream) if upstream else None,
        change_upstream="upstream_project_uuid" in body.model_fields_set,
    )
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


# -- the rest of the CLI's deploy pipeline -----------------------------------------


@router.get("/{projectUuid}/tags", response_model=Envelope[list[TagOut]])
def list_tags(
    project_uuid: ProjectUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(pipeline.list_tags(session, principal, str(project_uuid)))


@router.put("/{projectUuid}/tags/yaml", response_model=OkResponse)
def replace_yaml_tags(
    project_uuid: ProjectUuid,
    body: list[TagIn],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """Replace the project's YAML tags (`[{name, color, yamlReference}]`, as `lightdash deploy` sends)."""
    pipeline.replace_yaml_tags(session, principal, str(project_uuid), body)
    return ok()


@router.post("/{projectUuid}/validate", response_model=Envelope[ValidationJob])
def validate_project(
    project_uuid: ProjectUuid,
    body: ValidateIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """Check charts and dashboards against explores; poll the job, then read its findings."""
    job_id = validation.validate_project(session, principal, str(project_uuid), body)
    return ok(ValidationJob(job_id=job_id))


@router.get("/{projectUuid}/validate", response_model=Envelope[list[dict[str, Any]]])
def validation_results(
    project_uuid: ProjectUuid,
    principal: CurrentPrincipal,
    session: SessionDep,
    job_id: Annotated[str | None, Query(alias="jobId", max_length=64)] = None,
) -> dict[str, Any]:
    """Lightdash's `ValidationResponse[]` of a validation job (the latest without `jobId`)."""
    return ok(validation.validation_results(session, principal, str(project_uuid), job_id))


@router.patch("/{projectUuid}/preview-expiration", response_model=Envelope[PreviewExpirationOut])
def set_preview_expiration(
    project_uuid: ProjectUuid,
    body: PreviewExpirationIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    expires_at = pipeline.set_preview_expiration(
        session, principal, str(project_uuid), body.expires_in_hours
    )
    return ok(PreviewExpirationOut(expires_at=expires_at))


@v2_router.get("/{projectUuid}/parameters", response_model=Envelope[dict[str, Any]])
def get_parameters(
    project_uuid: ProjectUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ok(pipeline.get_parameters(session, principal, str(project_uuid)))


@v2_router.put("/{projectUuid}/parameters", response_model=OkResponse)
def replace_parameters(
    project_uuid: ProjectUuid,
    body: Annotated[dict[str, Any], Body()],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """Replace the project's parameters (`{name: {label, options, default, …}}`)."""
    pipeline.replace_parameters(session, principal, str(project_uuid), body)
    return ok()


@v2_router.post("/{projectUuid}/deploy", response_model=Envelope[DeploySessionStarted])
def start_deploy_session(
    project_uuid: ProjectUuid, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Open a batched deploy: nothing changes until `…/finalize`."""
    uuid = pipeline.start_deploy_session(session, principal, str(project_uuid))
    return ok(DeploySessionStarted(deploy_session_uuid=uuid))


@v2_router.post(
    "/{projectUuid}/deploy/{sessionUuid}/batch", response_model=Envelope[DeployBatchAdded]
)
def add_deploy_batch(
    project_uuid: ProjectUuid,
    session_uuid: SessionUuid,
    body: DeployBatchIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    count = pipeline.add_deploy_batch(
        session, principal, str(project_uuid), session_uuid, body.explores, body.batch_number
    )
    return ok(DeployBatchAdded(batch_number=body.batch_number, explore_count=count))


@v2_router.post(
    "/{projectUuid}/deploy/{sessionUuid}/finalize", response_model=Envelope[DeployFinalized]
)
def finalize_deploy_session(
    project_uuid: ProjectUuid,
    session_uuid: SessionUuid,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """Replace the project's explores with every staged batch, at once."""
    count = pipeline.finalize_deploy_session(session, principal, str(project_uuid), session_uuid)
    return ok(DeployFinalized(explore_count=count, status="completed"))
