"""The system roles, written in the scope vocabulary (one way to compute access)."""

from __future__ import annotations

from lightkeeper.auth.scopes import Scope

PROJECT_ROLES = ("viewer", "interactive_viewer", "editor", "developer", "admin")
ORG_ROLES = ("member", *PROJECT_ROLES)
SPACE_ROLES = ("viewer", "editor", "admin")

# What each project role adds to the one before it (roles are cumulative).
_PROJECT_ROLE_ADDS: dict[str, tuple[str, ...]] = {
    "viewer": (
        "view:Project",
        "view:Space",
        "view:SavedChart",
        "view:Dashboard",
        "view:DashboardComments",
    ),
    "interactive_viewer": (
        "create:DashboardComments",
        "manage:SavedChart@space",
        "manage:Dashboard@space",
        "manage:Space@assigned",
        "manage:Explore",
    ),
    "editor": (
        "create:Space",
        "manage:Space@public",
        "manage:DashboardComments",
        "view:ContentAsCode",
        "create:ContentAsCode",
    ),
    "developer": (
        "update:Project",
        "update:Project@self",
        "create:Project@preview",
        "delete:Project@self",
        "manage:DeployProject",
        "manage:DeployProject@self",
        "manage:ContentAsCode",
        "manage:ContentAsCode@self",
        "manage:Space@self",
        "manage:SavedChart@self",
        "manage:Dashboard@self",
        "manage:SqlRunner",
        "manage:CustomSql",
    ),
    "admin": (
        "manage:Project",
        "delete:Project",
        "manage:Space",
        "manage:SavedChart",
        "manage:Dashboard",
    ),
}


def _cumulative() -> dict[str, frozenset[Scope]]:
    roles: dict[str, frozenset[Scope]] = {}
    held: set[Scope] = set()
    for role in PROJECT_ROLES:
        held |= {Scope.parse(s) for s in _PROJECT_ROLE_ADDS[role]}
        roles[role] = frozenset(held)
    return roles


PROJECT_ROLE_SCOPES: dict[str, frozenset[Scope]] = _cumulative()

_EVERY_ORG_ROLE = frozenset(
    Scope.parse(s) for s in ("view:Organization", "view:OrganizationMemberProfile")
)
_ADMIN_ORG = frozenset(
    Scope.parse(s)
    for s in (
        "manage:Organization",
        "manage:OrganizationMemberProfile",
        "manage:InviteLink",
        "manage:PersonalAccessToken",
        "create:Project",
    )
)
ORG_ROLE_ORG_SCOPES: dict[str, frozenset[Scope]] = {
    role: _EVERY_ORG_ROLE | (_ADMIN_ORG if role == "admin" else frozenset()) for role in ORG_ROLES
}


def org_role_scopes(role: str) -> frozenset[Scope]:
    """What a system org role gives: its organization scopes and its project role on every project."""
    return ORG_ROLE_ORG_SCOPES.get(role, frozenset()) | PROJECT_ROLE_SCOPES.get(role, frozenset())


# A non-private space gives everyone with access to its project a space role
# that follows the project role.
SPACE_ROLE_FOR_PROJECT_ROLE = {
    "viewer": "viewer",
    "interactive_viewer": "viewer",
    "editor": "editor",
    "developer": "editor",
    "admin": "admin",
}

ROLE_LABELS = {
    "member": "Member",
    "viewer": "Viewer",
    "interactive_viewer": "Interactive viewer",
    "editor": "Editor",
    "developer": "Developer",
    "admin": "Admin",
}


def highest(*roles: str | None, order: tuple[str, ...] = ORG_ROLES) -> str | None:
    present = [r for r in roles if r in order]
    return max(present, key=order.index) if present else None
