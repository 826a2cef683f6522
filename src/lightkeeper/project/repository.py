"""Every query of the project domain: explores, and the content a preview copies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lightkeeper.models import Dashboard, Explore, Project, SavedChart, Space

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
