"""What every content service shares: slugs, attribution, lookups through tenancy."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import SPACE_ROLES, highest
from lightkeeper.authz.access import (
    ProjectTarget,
    SpaceTarget,
    allows,
    can_see_project,
    can_see_space,
)
from lightkeeper.authz.tenancy import get_in_organization, project_target, space_targets
from lightkeeper.content import repository as repo
from lightkeeper.content.schemas import SpaceShareOut
from lightkeeper.identity.attribution import Person, UserRef, user_ref
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import AlreadyExistsError, NotFoundError
from lightkeeper.models import Dashboard, Project, SavedChart, Space

Row = TypeVar("Row", Space, SavedChart, Dashboard)
Content = TypeVar("Content", SavedChart, Dashboard)

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
SLUG_MAX = 200  # leaves room for a "-N" suffix within the 255-character column
SLUG_ATTEMPTS = 5


def slugify(name: str) -> str:
    """Lowercase, accents dropped, every run of other characters one "-", no dash at the ends."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_name.lower()).strip("-")[:SLUG_MAX].strip("-")
    return slug or "untitled"


def unique_slug(session: Session, model: repo.SluggedModel, project_uuid: str, name: str) -> str:
    """The slug of `name`, with -2, -3… appended when the project already uses it."""
    base = slugify(name)
    taken = repo.slugs_like(session, model, project_uuid, base)
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def insert_with_slug(session: Session, row: Row, name: str, slug: str | None = None) -> Row:
    """Insert `row` with a unique slug (or exactly `slug`), surviving a concurrent insert.

    The unique constraint is the arbiter: when a row committed meanwhile took the
    slug, nothing is inserted (`repo.insert_unless_taken`) and a fresh slug is picked.
    """
    model = type(row)
    for _attempt in range(SLUG_ATTEMPTS):
        row.slug = slug or unique_slug(session, model, row.project_uuid, name)
        if repo.insert_unless_taken(session, row):
            return row
        if slug is not None:
            break
    raise AlreadyExistsError(f"The slug {row.slug!r} is already used in this project: try again")


# -- attribution and access --------------------------------------------------


@dataclass
class People:
    """The principals a reply names, loaded in one query: references and emails."""

    users: Mapping[str, Person]

    @property
    def refs(self) -> dict[str, UserRef]:
        return {uuid: r for uuid, user in self.users.items() if (r := user_ref(user)) is not None}

    def ref(self, uuid: str | None) -> UserRef | None:
        user = self.users.get(uuid) if uuid else None
        return user_ref(user)


def people(session: Session, uuids: Iterable[str | None]) -> People:
    wanted = {u for u in uuids if u}
    return People({person.uuid: person for person in repo.people_by_uuid(session, wanted)})


def access_people(target: SpaceTarget) -> set[str]:
    """Who a space's access list names: its (root's) shares and a private space's creator."""
    wanted = set(target.shares)
    if target.is_private and target.created_by_user_uuid:
        wanted.add(target.created_by_user_uuid)
    return wanted


def names_people(target: SpaceTarget) -> bool:
    """Whether a space's access list names anyone: its (root's) shares, a private space's
    creator (most spaces: nobody, and nothing to look up)."""
    return bool(target.shares or (target.is_private and target.created_by_user_uuid))


def space_access(target: SpaceTarget, found: People) -> list[SpaceShareOut]:
    """Lightdash's `access` of a space: the root space's shares, plus the creator of a private
    space as its admin; highest role first. A service account's email is ""."""
    if not names_people(target):
        return []
    roles: dict[str, str] = dict(target.shares)
    if target.is_private and target.created_by_user_uuid:
        creator = target.created_by_user_uuid
        roles[creator] = highest(roles.get(creator), "admin", order=SPACE_ROLES) or "admin"
    access = []
    for user_uuid, role in roles.items():
        user = found.users.get(user_uuid)
        reference = user_ref(user)
        if user is None or reference is None:
            continue
        access.append(
            SpaceShareOut(
                user_uuid=user_uuid,
                role=role,
                first_name=reference.first_name,
                last_name=reference.last_name,
                email=user.email or "",
            )
        )
    return sorted(access, key=lambda a: (-SPACE_ROLES.index(a.role), a.first_name, a.user_uuid))


# -- lookups -----------------------------------------------------------------


@dataclass
class ProjectSpaces:
    """A project with all its spaces and their access targets (loaded once, no N+1)."""

    project: Project
    target: ProjectTarget
    spaces: dict[str, Space]
    targets: dict[str, SpaceTarget]

    def visible(self, principal: Principal, space_uuid: str) -> bool:
        target = self.targets.get(space_uuid)
        return target is not None and can_see_space(principal, target)

    def viewable(self, principal: Principal, row: SavedChart | Dashboard) -> bool:
        """May the principal view this chart or dashboard (its space's access decides)?"""
        subject = "SavedChart" if isinstance(row, SavedChart) else "Dashboard"
        space = self.targets.get(row.space_uuid)
        return space is not None and allows(
            principal, "view", subject, project=self.target, space=space
        )


def load_project_spaces(session: Session, project: Project) -> ProjectSpaces:
    spaces = repo.project_spaces(session, project.uuid)
    return ProjectSpaces(
        project=project,
        target=project_target(project),
        spaces={s.uuid: s for s in spaces},
        targets=space_targets(session, project, spaces, every_space=spaces),
    )


@dataclass
class Located:
    """A chart or dashboard the caller may see, with its project and space."""

    project: Project
    project_target: ProjectTarget
    space: Space
    space_target: SpaceTarget


def locate(
    session: Session, principal: Principal, row: SavedChart | Dashboard, kind: str
) -> Located:
    """Project and space of a content row; 404 (`kind` not found) unless the caller may see it."""
    project = session.get(Project, row.project_uuid)
    space = session.get(Space, row.space_uuid)
    if project is None or space is None:
        raise NotFoundError(f"{kind} not found")
    target = project_target(project)
    if not can_see_project(principal, target):
        raise NotFoundError(f"{kind} not found")
    located_space = space_targets(session, project, [space])[space.uuid]
    if not can_see_space(principal, located_space):
        raise NotFoundError(f"{kind} not found")
    return Located(project, target, space, located_space)


def visible_content(
    session: Session, principal: Principal, model: type[Content], uuid: str, kind: str
) -> tuple[Content, Located]:
    """A chart or dashboard by uuid, through the caller's organization and space access."""
    row = get_in_organization(session, model, uuid, principal, kind)
    return row, locate(session, principal, row, kind)


def newest_first(versions: Iterable[Any]) -> list[Any]:
    """Versions newest first; the sequence number breaks ties of equal timestamps."""
    return sorted(versions, key=lambda v: (v.created_at, v.snapshot.get("_seq", 0)), reverse=True)


def public_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snapshot.items() if not k.startswith("_")}


Authored = TypeVar("Authored", SavedChart, Dashboard)


def authored(model: type[Authored], principal: Principal, **fields: Any) -> Authored:
    """A new chart or dashboard stamped with its author: created and last updated now, by them."""
    now = utcnow()
    return model(
        **fields,
        created_at=now,
        created_by_user_uuid=principal.user_uuid,
        updated_at=now,
        updated_by_user_uuid=principal.user_uuid,
    )
