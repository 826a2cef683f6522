"""`GET /api/v1/schedulers/job/{jobId}/status`: the status of any job a client polls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from lightkeeper.deps import CurrentPrincipal, RequestRoute, SessionDep
from lightkeeper.jobs import service
from lightkeeper.jobs.schemas import JobStatusOut
from lightkeeper.kit.schemas import Envelope, ok

router = APIRouter(prefix="/api/v1/schedulers", tags=["jobs"], route_class=RequestRoute)

JobId = Annotated[str, Path(alias="jobId", max_length=64)]


@router.get("/job/{jobId}/status", response_model=Envelope[JobStatusOut])
def get_job_status(
    job_id: JobId, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Lightdash's job status: `scheduled`, `started`, `completed` or `error`, with `details`."""
    return ok(service.job_status(session, principal, job_id))
