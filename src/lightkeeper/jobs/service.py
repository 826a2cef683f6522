"""The rules of jobs: who may read a job, and how a job is recorded.

A job belongs to one organization and, usually, one project. Its status is
Lightdash's `scheduled | started | completed | error`, with `details` (what it
did, or why it failed) and `results` (what a follow-up route returns, such as
a validation's findings).

`job_status` answers `GET /api/v1/schedulers/job/{jobId}/status` (queries/endpoints.py) for
every recorded job; an SQL-runner query is answered first by queries.service.job_status,
which falls back to this one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.authz import tenancy
from lightkeeper.jobs import repository
from lightkeeper.jobs.schemas import JobState, JobStatusOut
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import NotFoundError
from lightkeeper.models import Job


def record_job(
    session: Session,
    principal: Principal,
    *,
    kind: str,
    project_uuid: str | None,
    status: JobState,
    details: dict[str, Any] | None = None,
    results: list[dict[str, Any]] | None = None,
) -> Job:
    """Store a job started (or already done) by `principal` in its organization."""
    now = utcnow()
    return repository.add_job(
        session,
        Job(
            organization_uuid=principal.organization_uuid,
            project_uuid=project_uuid,
            kind=kind,
            status=status,
            details=details or {},
            results=results or [],
            created_by_user_uuid=principal.user_uuid,
            created_at=now,
            updated_at=now,
        ),
    )


def visible_job(session: Session, principal: Principal, job_uuid: str) -> Job:
    """A job the principal may read.

    Rules: another organization's job, or a job of a project the principal
    cannot see, is 404 (as the project itself would be).
    """
    job = tenancy.get_in_organization(session, Job, job_uuid, principal, "Job")
    if job.project_uuid is not None:
        try:
            tenancy.visible_project(session, principal, job.project_uuid)
        except NotFoundError:
            raise NotFoundError("Job not found") from None
    return job


def job_status(session: Session, principal: Principal, job_uuid: str) -> JobStatusOut:
    """Lightdash's job status of a job the principal may read (404 otherwise)."""
    job = visible_job(session, principal, job_uuid)
    status: JobState = job.status  # type: ignore[assignment]
    return JobStatusOut(status=status, details=job.details or None)


def job_results(
    session: Session, principal: Principal, job_uuid: str, *, kind: str, project_uuid: str
) -> list[dict[str, Any]]:
    """The results of a finished job of `kind` on `project_uuid` (404 for any other job)."""
    job = visible_job(session, principal, job_uuid)
    if job.kind != kind or job.project_uuid != project_uuid:
        raise NotFoundError("Job not found")
    return list(job.results)


def latest_results(
    session: Session, principal: Principal, *, kind: str, project_uuid: str
) -> list[dict[str, Any]]:
    """The results of the newest job of `kind` on a project the caller already may see; [] if none."""
    job = repository.latest_job(session, principal.organization_uuid, kind, project_uuid)
    return list(job.results) if job is not None else []
