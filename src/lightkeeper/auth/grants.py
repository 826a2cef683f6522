"""What a principal holds: organization scopes, scopes on every project, per-project grants.

The union rule lives here: a principal's scopes on a project are what its org
role gives there, plus its project membership (system or custom role), plus an
org-level custom role, plus the project role (system or custom) of every group it belongs to. A
membership can raise access, never lower it. Service accounts belong to no group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from lightkeeper.auth import repository
from lightkeeper.auth.roles import ORG_ROLE_ORG_SCOPES, PROJECT_ROLE_SCOPES, highest
from lightkeeper.auth.roles import PROJECT_ROLES as _PROJECT_ROLES
from lightkeeper.auth.scopes import Scope, is_org_level
from lightkeeper.config import Settings
from lightkeeper.models import ServiceAccount, User

# Legacy service-account scopes (deprecated, still honoured).
LEGACY_SCOPES = {
    "org:read": "viewer",
    "org:view": "viewer",
    "org:edit": "editor",
    "org:admin": "admin",
}
# Reading data is what read-only legacy tokens were made for: they run metric queries, as in
# Lightdash (`org:read` holds manage:Explore there); only org:admin runs SQL (its admin role).
_EXPLORE = Scope.parse("manage:Explore")
_LEGACY_EXTRA = {
    "org:read": frozenset({_EXPLORE}),
    "org:view": frozenset({_EXPLORE}),
    "org:edit": frozenset({Scope.parse("manage:ContentAsCode")}),
}


_MANAGE_PAT = Scope.parse("manage:PersonalAccessToken")


@dataclass(frozen=True)
class ProjectGrant:
    scopes: frozenset[Scope] = frozenset()
    # The system project role, when there is one: non-private spaces derive a space role from it.
    system_role: str | None = None

    def __or__(self, other: ProjectGrant) -> ProjectGrant:
        return ProjectGrant(
            self.scopes | other.scopes,
            highest(self.system_role, other.system_role, order=_PROJECT_ROLES),
        )


@dataclass(frozen=True)
class Grants:
    org_scopes: frozenset[Scope]
    every_project: ProjectGrant
    projects: Mapping[str, ProjectGrant] = field(default_factory=dict)
    # The unions of on_project, made once per project (the grants never change; a list asks per row).
    _unions: dict[str, ProjectGrant] = field(default_factory=dict, compare=False, repr=False)
    # The groups the principal belongs to: space shares with a group count as its own.
    groups: frozenset[str] = frozenset()

    def on_project(self, project_uuid: str) -> ProjectGrant:
        explicit = self.projects.get(project_uuid)
        if not explicit:
            return self.every_project
        union = self._unions.get(project_uuid)
        if union is None:
            union = self._unions[project_uuid] = self.every_project | explicit
        return union

    def org_wide(self) -> frozenset[Scope]:
        """Org-level scopes plus those holding on every project: the grant ceiling at org level."""
        return self.org_scopes | self.every_project.scopes


def split_scopes(scopes: Iterable[Scope]) -> tuple[frozenset[Scope], frozenset[Scope]]:
    """(organization-level, project-level) parts of a custom role."""
    org = frozenset(s for s in scopes if is_org_level(s))
    return org, frozenset(scopes) - org


def grant_for_role(role: str | None, custom_scopes: Iterable[Scope] | None = None) -> ProjectGrant:
    """A project grant from a system project role or a custom role's project scopes."""
    if custom_scopes is not None:
        return ProjectGrant(frozenset(s for s in custom_scopes if not is_org_level(s)), None)
    if role in PROJECT_ROLE_SCOPES:
        return ProjectGrant(PROJECT_ROLE_SCOPES[role], role)
    return ProjectGrant()


def resolve_grants(
    session: Session,
    user: User,
    *,
    legacy_scopes: Iterable[str] = (),
    custom_roles_licensed: bool,
    personal_token_roles: Iterable[str] = (),
) -> Grants:
    """Compute everything `user` holds.

    Rules: custom roles grant nothing without the license; besides admins (the
    role table), people whose org role is in PAT_ALLOWED_ORG_ROLES
    (`personal_token_roles`, empty when personal tokens are off) hold
    `manage:PersonalAccessToken`, as in Lightdash.
    """
    memberships = repository.project_memberships_of(session, user.uuid)
    groups: frozenset[str] = frozenset()
    group_roles: list[tuple[str, str | None, str | None]] = []
    if not user.is_service_account:
        groups = frozenset(repository.group_uuids_of(session, user.uuid))
        group_roles = repository.group_project_roles(session, groups)
    role_uuids = {m.role_uuid for m in memberships if m.role_uuid}
    role_uuids |= {role_uuid for _p, _r, role_uuid in group_roles if role_uuid}
    if user.custom_role_uuid:
        role_uuids.add(user.custom_role_uuid)
    custom: dict[str, frozenset[Scope]] = {}
    if role_uuids and custom_roles_licensed:
        for role in repository.custom_roles(session, role_uuids):
            custom[role.uuid] = frozenset(Scope.parse(s) for s in role.scopes)

    org_scopes = set(ORG_ROLE_ORG_SCOPES.get(user.role, ORG_ROLE_ORG_SCOPES["member"]))
    if not user.is_service_account and user.role in personal_token_roles:
        org_scopes.add(_MANAGE_PAT)
    every = grant_for_role(user.role if user.role != "member" else None)
    for legacy in legacy_scopes:
        if legacy in LEGACY_SCOPES:
            org_scopes |= ORG_ROLE_ORG_SCOPES[LEGACY_SCOPES[legacy]]
            every = every | grant_for_role(LEGACY_SCOPES[legacy])
            every = every | ProjectGrant(_LEGACY_EXTRA.get(legacy, frozenset()))
    if user.custom_role_uuid and user.custom_role_uuid in custom:
        role_org, role_project = split_scopes(custom[user.custom_role_uuid])
        org_scopes |= role_org
        every = every | ProjectGrant(role_project)

    def project_grant(role: str | None, role_uuid: str | None) -> ProjectGrant:
        if role_uuid:
            scopes = custom.get(role_uuid)
            return grant_for_role(None, scopes) if scopes is not None else ProjectGrant()
        return grant_for_role(role)

    projects: dict[str, ProjectGrant] = {}
    for membership in memberships:
        projects[membership.project_uuid] = project_grant(membership.role, membership.role_uuid)
    for project_uuid, group_role, group_role_uuid in group_roles:
        grant = project_grant(group_role, group_role_uuid)
        projects[project_uuid] = (
            projects[project_uuid] | grant if project_uuid in projects else grant
        )
    return Grants(frozenset(org_scopes), every, projects, groups=groups)


def grants_for(
    session: Session,
    settings: Settings,
    user: User,
    service_account: ServiceAccount | None = None,
) -> Grants:
    """Everything `user` holds on this server, whatever credential it uses.

    Rules: a service account's legacy scopes count (its row is looked up when
    not given); custom roles count only with the license; personal-token roles
    only while personal tokens are on. Authentication and the acting-on rule
    both ask here, so they can never disagree about what someone holds.
    """
    if service_account is None and user.is_service_account:
        service_account = repository.service_account_of_user(session, user.uuid)
    return resolve_grants(
        session,
        user,
        legacy_scopes=service_account.scopes or () if service_account else (),
        custom_roles_licensed=settings.has_enterprise_license,
        personal_token_roles=settings.pat_allowed_roles if settings.pat_enabled else (),
    )
