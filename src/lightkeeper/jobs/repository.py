"""Every query of jobs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lightkeeper.models import Job


def add_job(session: Session, job: Job) -> Job:
    session.add(job)
    session.flush()
    return job


def latest_job(
    session: Session, organization_uuid: str, kind: str, project_uuid: str
) -> Job | None:
    return session.scalar(
        select(Job)
        .where(
            Job.organization_uuid == organization_uuid,
            Job.kind == kind,
            Job.project_uuid == project_uuid,
        )
        .order_by(Job.created_at.desc(), Job.uuid.desc())
        .limit(1)
    )
