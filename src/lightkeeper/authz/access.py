"""The one access decision: may this principal do this action on this resource?

Every endpoint, web page and CLI server command asks here. Callers first fetch
through the caller's organization (tenancy) and ask `can_see_*`: what the
caller may not see is answered 404; only then `allows` decides between the
action and a 403.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from lightkeeper.auth.grants import Grants
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import SPACE_ROLE_FOR_PROJECT_ROLE, SPACE_ROLES, highest
from lightkeeper.auth.scopes import Scope
from lightkeeper.kit.errors import ForbiddenError

FORBIDDEN = "You do not have permission"


@dataclass(frozen=True)
class ProjectTarget:
    uuid: str
    organization_uuid: str
    type: str
    created_by_user_uuid: str | None


NO_SHARES: Mapping[str, str] = MappingProxyType({})  # a space shared with no one


class SpaceTarget(NamedTuple):
    """A space as access sees it: the root space's privacy and shares (nested spaces inherit).

    A named tuple, not a frozen dataclass: as immutable, and a list makes one per row
    at a quarter of the cost.
    """

    uuid: str
    project: ProjectTarget
    is_private: bool
    created_by_user_uuid: str | None
    shares: Mapping[str, str] = NO_SHARES  # user_uuid -> space role
    group_shares: Mapping[str, str] = NO_SHARES  # group_uuid -> space role


def shared_role(principal: Principal, space: SpaceTarget) -> str | None:
    """The highest role the space is shared with the principal as: its own share or a group's."""
    roles = [space.shares.get(principal.user_uuid)]
    roles += [space.group_shares[g] for g in principal.grants.groups if g in space.group_shares]
    return highest(*roles, order=SPACE_ROLES)


def project_scopes(principal: Principal, project: ProjectTarget) -> frozenset[Scope]:
    if project.organization_uuid != principal.organization_uuid:
        return frozenset()
    return principal.grants.on_project(project.uuid).scopes


@functools.lru_cache(maxsize=4096)
def _covering(scopes: frozenset[Scope], subject: str, action: str) -> tuple[Scope, ...]:
    """The scopes of `scopes` on `subject` that cover `action`.

    Remembered: a process sees few distinct scope sets (one per role and
    grant), they are immutable, and list endpoints ask the same question of
    every row. Unqualified scopes come first: they hold without looking at the
    target, so a caller that has one is answered before any qualifier (a
    space role, say) is worked out; the answer is the same in any order.
    """
    covering = [s for s in scopes if s.subject == subject and s.covers(action)]
    return tuple(sorted(covering, key=lambda s: s.qualifier is not None))


_MANAGE_SPACE = Scope("manage", "Space")


def can_see_project(principal: Principal, project: ProjectTarget) -> bool:
    return any(
        _qualifier_holds(principal, s, project, None)
        for s in _covering(project_scopes(principal, project), "Project", "view")
    )


def sees_every_project(principal: Principal) -> bool:
    """Whether `can_see_project` holds for every project of the principal's organization.

    True when what the principal holds on every project already covers viewing one
    without a qualifier: a project's grant only adds to that, so no project needs
    asking (a list then checks no row).
    """
    covering = _covering(principal.grants.every_project.scopes, "Project", "view")
    return bool(covering) and covering[0].qualifier is None


def sees_every_space(principal: Principal, project: ProjectTarget) -> bool:
    """Whether `allows(principal, "view", "Space", …)` holds for every space of `project`.

    True when the principal manages the project's spaces (so every space, private
    ones included, is visible to it) and holds viewing a space without a
    qualifier: a list then asks no row.
    """
    scopes = project_scopes(principal, project)
    if _MANAGE_SPACE not in scopes:
        return False
    covering = _covering(scopes, "Space", "view")
    return bool(covering) and covering[0].qualifier is None


def space_role(principal: Principal, space: SpaceTarget) -> str | None:
    """The principal's role in a space: shares (its own, its groups'), creator of a private space,
    or the project role."""
    roles: list[str | None] = [shared_role(principal, space)]
    if space.is_private and space.created_by_user_uuid == principal.user_uuid:
        roles.append("admin")
    if not space.is_private and can_see_project(principal, space.project):
        system_role = principal.grants.on_project(space.project.uuid).system_role
        roles.append(SPACE_ROLE_FOR_PROJECT_ROLE.get(system_role or ""))
    return highest(*roles, order=SPACE_ROLES)


def can_see_space(principal: Principal, space: SpaceTarget) -> bool:
    """Content visibility always goes through space access, whatever the scope."""
    scopes = project_scopes(principal, space.project)
    if _MANAGE_SPACE in scopes:
        return True
    if not space.is_private:
        return can_see_project(principal, space.project)
    return (
        shared_role(principal, space) is not None
        or space.created_by_user_uuid == principal.user_uuid
    )


def _qualifier_holds(
    principal: Principal,
    scope: Scope,
    project: ProjectTarget,
    space: SpaceTarget | None,
    creating_preview: bool = False,
) -> bool:
    match scope.qualifier:
        case None:
            return True
        case "space":
            return space is not None and space_role(principal, space) in ("editor", "admin")
        case "assigned":
            return space is not None and space_role(principal, space) == "admin"
        case "public":
            return space is not None and not space.is_private
        case "self":
            return project.type == "PREVIEW" and project.created_by_user_uuid == principal.user_uuid
        case "preview":
            return creating_preview
    return False


def allows(
    principal: Principal,
    action: str,
    subject: str,
    *,
    project: ProjectTarget,
    space: SpaceTarget | None = None,
    creating_preview: bool = False,
) -> bool:
    """May `principal` do `action` on `subject` in `project` (and `space`, for content)?

    Rules: a scope covers the action when it names it or is `manage`; its
    qualifier must hold for the target; creating a space always needs an
    unqualified `create:Space` or `manage:Space`; content needs its space to
    be visible first.
    """
    if space is not None and not can_see_space(principal, space):
        return False
    for scope in _covering(project_scopes(principal, project), subject, action):
        if action == "create" and subject == "Space" and scope.qualifier is not None:
            continue
        if _qualifier_holds(principal, scope, project, space, creating_preview):
            return True
    return False


def allows_org(principal: Principal, action: str, subject: str) -> bool:
    """Organization-level decision (settings, members, invites, project creation)."""
    return bool(_covering(principal.grants.org_scopes, subject, action))


def require(allowed: bool, message: str = FORBIDDEN) -> None:
    if not allowed:
        raise ForbiddenError(message)


def require_org(principal: Principal, action: str, subject: str) -> None:
    require(allows_org(principal, action, subject))


GRANT_CEILING_MESSAGE = "Cannot grant permissions exceeding your own"


def grant_within_org(principal: Principal, scopes: frozenset[Scope]) -> bool:
    """Does the principal hold `scopes` organization-wide (may it grant them)?"""
    return _covered(scopes, principal.grants.org_wide())


def require_org_grant_within(principal: Principal, scopes: frozenset[Scope]) -> None:
    """Nobody grants more than they hold: organization grants against org-wide holdings."""
    if not grant_within_org(principal, scopes):
        raise ForbiddenError(GRANT_CEILING_MESSAGE)


def require_project_grant_within(
    principal: Principal, project: ProjectTarget, scopes: frozenset[Scope]
) -> None:
    """Nobody grants more than they hold: project grants against what they hold on that project."""
    if not _covered(scopes, project_scopes(principal, project) | principal.grants.org_scopes):
        raise ForbiddenError(GRANT_CEILING_MESSAGE)


ACTING_ON_MESSAGE = "Cannot act on a principal with more permissions than your own"


def exceeds(actor: Principal, target: Grants, *, project: ProjectTarget | None = None) -> bool:
    """Does `target` hold anything `actor` does not?

    Organization-wide, that is everything the target holds: its org-level
    scopes and what it holds on every project, plus each project it holds
    something on. With `project`, only what it holds there.
    """
    org = actor.grants.org_scopes
    if project is not None:
        held = project_scopes(actor, project) | org
        return not _covered(target.on_project(project.uuid).scopes, held)
    if not _covered(target.org_wide(), actor.grants.org_wide()):
        return True
    return any(
        not _covered(target.on_project(uuid).scopes, actor.grants.on_project(uuid).scopes | org)
        for uuid in target.projects
    )


def require_may_act_on(
    actor: Principal, target: Grants, *, project: ProjectTarget | None = None
) -> None:
    """The acting-on rule: nobody rotates, edits, deletes, demotes, removes or revokes the
    credentials of a principal whose permissions exceed their own (403).

    The grant ceiling stops giving more than one holds; this stops reaching a
    principal who already holds more (taking its token, or lowering it). Every
    caller that acts on a principal — service accounts, members, personal
    tokens, project members, role assignments, the web pages — asks here.
    """
    if exceeds(actor, target, project=project):
        raise ForbiddenError(ACTING_ON_MESSAGE)


def _covered(wanted: frozenset[Scope], held: frozenset[Scope]) -> bool:
    """Each wanted scope is held as is, or by `manage` on its subject with a qualifier no wider."""
    for scope in wanted:
        if scope in held:
            continue
        if Scope("manage", scope.subject, scope.qualifier) in held:
            continue
        if Scope("manage", scope.subject) in held or Scope(scope.action, scope.subject) in held:
            continue
        return False
    return True
