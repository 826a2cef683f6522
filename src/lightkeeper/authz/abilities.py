"""`abilityRules`: a principal's permissions as CASL raw rules.

Lightdash's CLI and UI read these to decide what to offer (deploy, upload,
create a preview). Qualifiers become conditions over the field names
`organizationUuid`, `projectUuid`, `type`, `createdByUserUuid`, `isPrivate`,
`access`, so a client evaluating them reaches the verdict the server reaches.
"""

from __future__ import annotations

from typing import Any

from lightkeeper.auth.principal import Principal
from lightkeeper.authz.scopes import Scope

Rule = dict[str, Any]
_CONTENT_VIEW = {"Space", "SavedChart", "Dashboard"}


def _rules_for(scope: Scope, place: dict[str, Any], user_uuid: str) -> list[Rule]:
    conditions = dict(place)
    match scope.qualifier:
        case "space":
            conditions["access"] = {
                "$elemMatch": {"userUuid": user_uuid, "role": {"$in": ["editor", "admin"]}}
            }
        case "assigned":
            conditions["access"] = {"$elemMatch": {"userUuid": user_uuid, "role": "admin"}}
        case "public":
            conditions["isPrivate"] = False
        case "self":
            conditions["type"] = "PREVIEW"
            conditions["createdByUserUuid"] = user_uuid
        case "preview":
            if "projectUuid" in conditions:
                conditions["upstreamProjectUuid"] = conditions.pop("projectUuid")
            conditions["type"] = "PREVIEW"
    base = {"action": scope.action, "subject": scope.subject}
    if scope.action == "view" and scope.subject in _CONTENT_VIEW and scope.qualifier is None:
        # Visibility goes through space access: public spaces, or private ones shared with them.
        return [
            {**base, "conditions": {**conditions, "isPrivate": False}},
            {
                **base,
                "conditions": {**conditions, "access": {"$elemMatch": {"userUuid": user_uuid}}},
            },
        ]
    return [{**base, "conditions": conditions}]


def ability_rules(principal: Principal) -> list[Rule]:
    org = {"organizationUuid": principal.organization_uuid}
    rules: list[Rule] = []
    seen: set[str] = set()

    def add(new: list[Rule]) -> None:
        for rule in new:
            key = repr(sorted(rule.items()))
            if key not in seen:
                seen.add(key)
                rules.append(rule)

    for scope in sorted(principal.grants.org_scopes):
        add(_rules_for(scope, org, principal.user_uuid))
    for scope in sorted(principal.grants.every_project.scopes):
        add(_rules_for(scope, org, principal.user_uuid))
    for project_uuid, grant in sorted(principal.grants.projects.items()):
        place = {"projectUuid": project_uuid}
        for scope in sorted(grant.scopes - principal.grants.every_project.scopes):
            add(_rules_for(scope, place, principal.user_uuid))
    return rules
