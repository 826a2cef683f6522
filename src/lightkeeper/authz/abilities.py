"""`abilityRules`: a principal's permissions as CASL raw rules.

Lightdash's CLI and UI read these to decide what to offer (deploy, upload,
create a preview). Qualifiers become conditions over the field names
`organizationUuid`, `projectUuid`, `type`, `createdByUserUuid`, `isPrivate`,
`access`, so a client evaluating them reaches the verdict the server reaches.
"""

from __future__ import annotations

from typing import Any

from lightkeeper.auth.grants import ProjectGrant
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import SPACE_ROLE_FOR_PROJECT_ROLE
from lightkeeper.auth.scopes import Scope

Rule = dict[str, Any]
_CONTENT_VIEW = {"Space", "SavedChart", "Dashboard"}


def _rules_for(
    scope: Scope,
    place: dict[str, Any],
    user_uuid: str,
    derived_space_role: str | None = None,
    sees_private: bool = False,
) -> list[Rule]:
    conditions = dict(place)
    base = {"action": scope.action, "subject": scope.subject}
    public = {**conditions, "isPrivate": False}
    match scope.qualifier:
        case "space":
            conditions["access"] = {
                "$elemMatch": {"userUuid": user_uuid, "role": {"$in": ["editor", "admin"]}}
            }
            if derived_space_role in ("editor", "admin"):
                # Their project role makes them editor of every non-private space.
                return [{**base, "conditions": conditions}, {**base, "conditions": public}]
        case "assigned":
            conditions["access"] = {"$elemMatch": {"userUuid": user_uuid, "role": "admin"}}
            if derived_space_role == "admin":
                return [{**base, "conditions": conditions}, {**base, "conditions": public}]
        case "public":
            conditions["isPrivate"] = False
        case "self":
            conditions["type"] = "PREVIEW"
            conditions["createdByUserUuid"] = user_uuid
        case "preview":
            if "projectUuid" in conditions:
                conditions["upstreamProjectUuid"] = conditions.pop("projectUuid")
            conditions["type"] = "PREVIEW"
    on_existing = scope.action != "create"  # creating a space has no space to be private yet
    if (
        scope.subject in _CONTENT_VIEW
        and scope.qualifier is None
        and on_existing
        and not sees_private
    ):
        # Visibility goes through space access: public spaces, or private ones shared with
        # them; only unqualified manage:Space sees every private space.
        return [
            {**base, "conditions": public},
            {
                **base,
                "conditions": {**conditions, "access": {"$elemMatch": {"userUuid": user_uuid}}},
            },
        ]
    return [{**base, "conditions": conditions}]


def _sees_project(scopes: frozenset[Scope]) -> bool:
    return Scope("view", "Project") in scopes or Scope("manage", "Project") in scopes


def ability_rules(principal: Principal) -> list[Rule]:
    """The principal's grants as CASL rules, place by place.

    Project-level rules are emitted only where the principal can see the
    project (the server answers 404 elsewhere, whatever else it holds).
    """
    grants = principal.grants
    org = {"organizationUuid": principal.organization_uuid}
    rules: list[Rule] = []
    seen: set[str] = set()

    def add(new: list[Rule]) -> None:
        for rule in new:
            key = repr(sorted(rule.items()))
            if key not in seen:
                seen.add(key)
                rules.append(rule)

    for scope in sorted(grants.org_scopes):
        add(_rules_for(scope, org, principal.user_uuid))
    # Project-level scopes held on every project apply to existing projects only: a
    # `manage:Project` there must not read as permission to create projects.
    every_project = {**org, "projectUuid": {"$exists": True}}
    places: list[tuple[dict[str, Any], ProjectGrant]] = [(every_project, grants.every_project)]
    for project_uuid in sorted(grants.projects):
        places.append(({"projectUuid": project_uuid}, grants.on_project(project_uuid)))
    for place, grant in places:
        if not _sees_project(grant.scopes):
            continue
        derived = SPACE_ROLE_FOR_PROJECT_ROLE.get(grant.system_role or "")
        sees_private = Scope("manage", "Space") in grant.scopes  # admins see every private space
        for scope in sorted(grant.scopes):
            add(_rules_for(scope, place, principal.user_uuid, derived, sees_private))
    return rules
