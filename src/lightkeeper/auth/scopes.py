"""The scope vocabulary as data: every permission Lightkeeper implements.

A scope is `action:Subject` with an optional `@qualifier`. `manage` implies
view, create, update, delete and promote on the same subject with the same
qualifier. Names are Lightdash's so roles read the same in both.
"""

from __future__ import annotations

from dataclasses import dataclass

ACTIONS = ("view", "create", "update", "delete", "manage", "promote")
QUALIFIERS = ("space", "assigned", "public", "self", "preview")


@dataclass(frozen=True)
class Scope:
    action: str
    subject: str
    qualifier: str | None = None

    @classmethod
    def parse(cls, text: str) -> Scope:
        head, _, qualifier = text.partition("@")
        action, sep, subject = head.partition(":")
        if not sep or not action or not subject:
            raise ValueError(f"not a scope: {text!r}")
        return cls(action, subject, qualifier or None)

    def __str__(self) -> str:
        base = f"{self.action}:{self.subject}"
        return f"{base}@{self.qualifier}" if self.qualifier else base

    def __lt__(self, other: Scope) -> bool:
        # Sorted unqualified first; None and strings do not compare directly.
        return (self.subject, self.action, self.qualifier or "") < (
            other.subject,
            other.action,
            other.qualifier or "",
        )

    def covers(self, action: str) -> bool:
        return self.action == action or self.action == "manage"


@dataclass(frozen=True)
class ScopeInfo:
    name: str
    description: str
    group: str
    is_org_level: bool


_ORG = "Organization"
_VOCABULARY: list[tuple[str, str, str]] = [
    ("view:Organization", _ORG, "View the organization and its settings"),
    (
        "manage:Organization",
        _ORG,
        "Manage organization settings, service accounts and the audit log",
    ),
    ("view:OrganizationMemberProfile", _ORG, "View organization members"),
    ("manage:OrganizationMemberProfile", _ORG, "Manage organization members and their roles"),
    ("manage:InviteLink", _ORG, "Invite people to the organization"),
    ("manage:PersonalAccessToken", _ORG, "Create personal access tokens"),
    ("create:Project", _ORG, "Create projects"),
    ("view:Project", "Project", "View the project"),
    ("update:Project", "Project", "Update the project's name and warehouse connection"),
    ("update:Project@self", "Project", "Update preview projects they created"),
    ("delete:Project", "Project", "Delete the project"),
    ("delete:Project@self", "Project", "Delete preview projects they created"),
    ("create:Project@preview", "Project", "Create preview projects from this project"),
    ("manage:Project", "Project", "Everything on the project, including its members"),
    ("manage:DeployProject", "Project", "Deploy explores to the project"),
    ("manage:DeployProject@self", "Project", "Deploy explores to preview projects they created"),
    ("manage:Explore", "Queries", "Run ad-hoc queries on the project's explores"),
    ("manage:SqlRunner", "Queries", "Run SQL on the project's warehouse"),
    ("manage:CustomSql", "Queries", "Use custom SQL dimensions in queries"),
    ("view:Space", "Spaces", "View spaces they can access"),
    ("create:Space", "Spaces", "Create spaces"),
    ("manage:Space", "Spaces", "Manage every space, private ones included"),
    ("manage:Space@public", "Spaces", "Manage spaces that are not private"),
    ("manage:Space@assigned", "Spaces", "Manage spaces where they are space admin"),
    ("manage:Space@self", "Spaces", "Manage spaces of preview projects they created"),
    ("view:SavedChart", "Charts", "View charts in spaces they can access"),
    ("manage:SavedChart", "Charts", "Create, edit and delete every chart"),
    ("manage:SavedChart@space", "Charts", "Create, edit and delete charts in spaces they can edit"),
    ("manage:SavedChart@self", "Charts", "Manage charts of preview projects they created"),
    ("view:Dashboard", "Dashboards", "View dashboards in spaces they can access"),
    ("manage:Dashboard", "Dashboards", "Create, edit and delete every dashboard"),
    (
        "manage:Dashboard@space",
        "Dashboards",
        "Create, edit and delete dashboards in spaces they can edit",
    ),
    ("manage:Dashboard@self", "Dashboards", "Manage dashboards of preview projects they created"),
    ("view:DashboardComments", "Comments", "Read dashboard comments"),
    ("create:DashboardComments", "Comments", "Write dashboard comments"),
    ("manage:DashboardComments", "Comments", "Resolve and delete any dashboard comment"),
    ("view:ContentAsCode", "Content as code", "Download charts and dashboards as code"),
    ("create:ContentAsCode", "Content as code", "Upload new charts and dashboards as code"),
    ("manage:ContentAsCode", "Content as code", "Download and upload (overwrite) content as code"),
    (
        "manage:ContentAsCode@self",
        "Content as code",
        "Content as code on preview projects they created",
    ),
]

VOCABULARY: dict[str, ScopeInfo] = {
    name: ScopeInfo(name=name, description=text, group=group, is_org_level=group == _ORG)
    for name, group, text in _VOCABULARY
}
ORG_LEVEL_SUBJECTS = frozenset(
    Scope.parse(n).subject for n, info in VOCABULARY.items() if info.is_org_level
) - {"Project"}


def is_org_level(scope: Scope) -> bool:
    return str(scope) in VOCABULARY and VOCABULARY[str(scope)].is_org_level


def parse_known(names: list[str]) -> frozenset[Scope]:
    """Parse scope names, refusing unknown ones (the error lists them all)."""
    unknown = [n for n in names if n not in VOCABULARY]
    if unknown:
        raise UnknownScopesError(unknown)
    return frozenset(Scope.parse(n) for n in names)


class UnknownScopesError(ValueError):
    def __init__(self, names: list[str]) -> None:
        super().__init__("Unknown scopes: " + ", ".join(names))
        self.names = names
