"""Every query of the project domain: explores, tags, parameters, deploy sessions, previews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lightkeeper.models import (
    Dashboard,
    DeployBatch,
    DeploySession,
    Explore,
    Project,
    ProjectParameters,
    ProjectTag,
    SavedChart,
    Space,
)

# -- explores --------------------------------------------------------------------


def explores(session: Session, project_uuid: str) -> Sequence[Explore]:
    return session.scalars(
        select(Explore).where(Explore.project_uuid == project_uuid).order_by(Explore.name)
    ).all()


def explore_names(session: Session, project_uuid: str) -> set[str]:
    return set(session.scalars(select(Explore.name).where(Explore.project_uuid == project_uuid)))


def explore(session: Session, project_uuid: str, name: str) -> Explore | None:
    return session.get(Explore, (project_uuid, name))


def replace_explores(session: Session, project_uuid: str, bodies: Sequence[dict[str, Any]]) -> None:
    """Delete every explore of the project and store `bodies` (keyed by their `name`)."""
    session.execute(delete(Explore).where(Explore.project_uuid == project_uuid))
    session.add_all(
        Explore(project_uuid=project_uuid, name=body["name"], body=body) for body in bodies
    )
    session.flush()


# -- what a preview copies -------------------------------------------------------


def spaces(session: Session, project_uuid: str) -> Sequence[Space]:
    return session.scalars(
        select(Space)
        .where(Space.project_uuid == project_uuid)
        .order_by(Space.created_at, Space.uuid)
    ).all()


def charts_in(session: Session, project_uuid: str, space_uuids: set[str]) -> Sequence[SavedChart]:
    if not space_uuids:
        return []
    return session.scalars(
        select(SavedChart)
        .where(SavedChart.project_uuid == project_uuid, SavedChart.space_uuid.in_(space_uuids))
        .order_by(SavedChart.created_at, SavedChart.uuid)
    ).all()


def dashboards_in(
    session: Session, project_uuid: str, space_uuids: set[str]
) -> Sequence[Dashboard]:
    if not space_uuids:
        return []
    return session.scalars(
        select(Dashboard)
        .where(Dashboard.project_uuid == project_uuid, Dashboard.space_uuid.in_(space_uuids))
        .order_by(Dashboard.created_at, Dashboard.uuid)
    ).all()


def project_named(session: Session, organization_uuid: str, name: str) -> Project | None:
    return session.scalar(
        select(Project)
        .where(Project.organization_uuid == organization_uuid, Project.name == name)
        .limit(1)
    )


# -- tags and parameters ---------------------------------------------------------


def tags(session: Session, project_uuid: str) -> Sequence[ProjectTag]:
    return session.scalars(
        select(ProjectTag)
        .where(ProjectTag.project_uuid == project_uuid)
        .order_by(ProjectTag.name, ProjectTag.uuid)
    ).all()


def parameters(session: Session, project_uuid: str) -> ProjectParameters | None:
    return session.get(ProjectParameters, project_uuid)


def store_parameters(
    session: Session, project_uuid: str, document: dict[str, Any], now: datetime
) -> None:
    stored = session.get(ProjectParameters, project_uuid)
    if stored is None:
        session.add(
            ProjectParameters(project_uuid=project_uuid, parameters=document, updated_at=now)
        )
    else:
        stored.parameters = document
        stored.updated_at = now
    session.flush()


# -- batched deploy sessions -------------------------------------------------------


def deploy_session(session: Session, session_uuid: str) -> DeploySession | None:
    return session.get(DeploySession, session_uuid)


def delete_expired_deploy_sessions(session: Session, project_uuid: str, now: datetime) -> None:
    """Expired sessions of the project go, with their staged batches (the schema cascades)."""
    expired = select(DeploySession.uuid).where(
        DeploySession.project_uuid == project_uuid, DeploySession.expires_at <= now
    )
    session.execute(delete(DeployBatch).where(DeployBatch.session_uuid.in_(expired)))
    session.execute(
        delete(DeploySession).where(
            DeploySession.project_uuid == project_uuid, DeploySession.expires_at <= now
        )
    )


def store_deploy_batch(
    session: Session,
    session_uuid: str,
    batch_number: int,
    explores: list[dict[str, Any]],
    now: datetime,
) -> None:
    """Stage a batch; the same batch number again replaces it."""
    stored = session.get(DeployBatch, (session_uuid, batch_number))
    if stored is None:
        session.add(
            DeployBatch(
                session_uuid=session_uuid,
                batch_number=batch_number,
                explores=explores,
                created_at=now,
            )
        )
    else:
        stored.explores = explores
        stored.created_at = now
    session.flush()


def deploy_batches(session: Session, session_uuid: str) -> Sequence[DeployBatch]:
    return session.scalars(
        select(DeployBatch)
        .where(DeployBatch.session_uuid == session_uuid)
        .order_by(DeployBatch.batch_number)
    ).all()


def delete_deploy_batches(session: Session, session_uuid: str) -> None:
    session.execute(delete(DeployBatch).where(DeployBatch.session_uuid == session_uuid))


# -- previews ----------------------------------------------------------------------


def expired_previews(session: Session, organization_uuid: str, now: datetime) -> Sequence[Project]:
    return session.scalars(
        select(Project).where(
            Project.organization_uuid == organization_uuid,
            Project.type == "PREVIEW",
            Project.expires_at.is_not(None),
            Project.expires_at <= now,
        )
    ).all()


def delete_project(session: Session, project: Project) -> None:
    """Delete a project with everything in it (the schema cascades; previews keep existing)."""
    session.execute(delete(Project).where(Project.uuid == project.uuid))
