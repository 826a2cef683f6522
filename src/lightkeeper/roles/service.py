"""The rules of custom roles (Enterprise): the role catalogue, its scopes vocabulary and holders.

Binding a role to someone (at organization or project level) is a membership
act: `membership/service.py`.

Services never commit; the request commits once. A custom role's scopes are
read on every request by `auth.grants.resolve_grants` (and every write to a
role, a user's role or a membership invalidates the principal caches), so an
edit takes effect on each holder's very next request.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Sequence
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.grants import grant_for_role
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import PROJECT_ROLES, ROLE_LABELS, org_role_scopes
from lightkeeper.auth.scopes import VOCABULARY, Scope, UnknownScopesError, parse_known
from lightkeeper.authz import access
from lightkeeper.config import Settings
from lightkeeper.identity.attribution import UserRef, user_label, user_ref
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import (
    AlreadyExistsError,
    ForbiddenError,
    NotFoundError,
    ParameterError,
)
from lightkeeper.models import CustomRole, User
from lightkeeper.roles import repository
from lightkeeper.roles.schemas import (
    AssigneeOut,
    RoleCreate,
    RoleOut,
    RoleUpdate,
    ScopeChanges,
    ScopeOut,
)

log = structlog.get_logger()

GATE_MESSAGE = (
    "Custom roles require an Enterprise License Key (LIGHTDASH_LICENSE_KEY) "
    "and CUSTOM_ROLES_ENABLED=true"
)
MAX_NAME = 255
# The system roles Lightdash lists next to custom roles (assignable by name).
SYSTEM_ROLES = PROJECT_ROLES


# -- gating and the organization in the path -----------------------------------------


def require_enabled(settings: Settings) -> None:
    """Custom roles are an Enterprise feature.

    Rules: managing them needs both the license (`LIGHTDASH_LICENSE_KEY`) and
    `CUSTOM_ROLES_ENABLED=true`; otherwise 403 naming what to set. (Assignments
    that already exist keep granting while the license is present: that is
    decided in `auth.grants`, not here.)
    """
    missing = []
    if not settings.has_enterprise_license:
        missing.append("LIGHTDASH_LICENSE_KEY")
    if not settings.custom_roles_enabled:
        missing.append("CUSTOM_ROLES_ENABLED=true")
    if missing:
        raise ForbiddenError(f"{GATE_MESSAGE}: set {' and '.join(missing)}")


def require_manage_organization(principal: Principal, organization_uuid: str) -> None:
    """The path's organization is the caller's (else 404) and they hold `manage:Organization`.

    Rules: the gate of every v2 route under `/api/v2/orgs/{orgUuid}/roles`, assignments included.
    """
    if organization_uuid.lower() != principal.organization_uuid.lower():
        raise NotFoundError("Organization not found")
    access.require_org(principal, "manage", "Organization")


# -- scopes ----------------------------------------------------------------------------


def list_scopes(principal: Principal, organization_uuid: str) -> list[ScopeOut]:
    """The scope vocabulary a custom role is written in, grouped as the role editor shows it.

    Rules: the caller's own organization (404 otherwise) and `manage:Organization`.
    """
    require_manage_organization(principal, organization_uuid)
    return [
        ScopeOut(
            name=info.name,
            description=info.description,
            group=info.group,
            is_organization_level=info.is_org_level,
            level="organization" if info.is_org_level else "project",
        )
        for info in VOCABULARY.values()
    ]


def clean_scopes(names: Iterable[str]) -> list[str]:
    """Validate scope names; answer them without duplicates, in vocabulary order.

    Rules: every name must be in the vocabulary; a 400 lists every unknown one.
    """
    wanted = list(dict.fromkeys(n.strip() for n in names))
    try:
        parse_known(wanted)
    except UnknownScopesError as error:
        raise ParameterError(
            f"Unknown scopes: {', '.join(error.names)}. "
            "Use scopes listed by GET /api/v2/orgs/{orgUuid}/roles/scopes",
            {"fields": {"scopes": "unknown scopes"}, "unknownScopes": error.names},
        ) from None
    chosen = set(wanted)
    return [name for name in VOCABULARY if name in chosen]


def parsed_scopes(names: Iterable[str]) -> frozenset[Scope]:
    """Stored scope names as scopes (a malformed stored name grants nothing, so it is skipped)."""
    parsed: set[Scope] = set()
    for name in names:
        try:
            parsed.add(Scope.parse(name))
        except ValueError:
            continue
    return frozenset(parsed)


def project_part(names: Iterable[str]) -> frozenset[Scope]:
    """What a custom role gives on a project it is bound to (organization scopes do not apply)."""
    return grant_for_role(None, parsed_scopes(names)).scopes


# -- output ---------------------------------------------------------------------------


def role_out(role: CustomRole, creator: User | None) -> RoleOut:
    """A custom role on the wire. Rules: an empty description is null; a deleted creator is null."""
    return RoleOut(
        role_uuid=role.uuid,
        organization_uuid=role.organization_uuid,
        name=role.name,
        description=role.description or None,
        scopes=list(role.scopes or []),
        created_at=role.created_at,
        updated_at=role.updated_at,
        created_by=user_ref(creator),
        owner_type="user",
    )


def _in_vocabulary_order(scopes: frozenset[Scope]) -> list[str]:
    names = {str(s) for s in scopes}
    return [name for name in VOCABULARY if name in names]


def system_role_out(role: str) -> RoleOut:
    """A system role as Lightdash lists it: its name as `roleUuid`, no organization, no dates;
    its scopes are what it gives when held at organization level."""
    return RoleOut(
        role_uuid=role,
        organization_uuid=None,
        name=ROLE_LABELS[role],
        description=ROLE_LABELS[role],
        scopes=_in_vocabulary_order(org_role_scopes(role)),
        created_at=None,
        updated_at=None,
        created_by=None,
        owner_type="system",
    )


def _roles_out(session: Session, rows: Sequence[CustomRole]) -> list[RoleOut]:
    creators = repository.users_by_uuid(session, (r.created_by_user_uuid for r in rows))
    return [role_out(r, creators.get(r.created_by_user_uuid or "")) for r in rows]


# -- the catalogue -----------------------------------------------------------------------


def list_roles(
    session: Session, principal: Principal, organization_uuid: str, role_type: str | None = None
) -> list[RoleOut]:
    """The organization's roles: system roles first (as in Lightdash), then custom roles by name.

    Rules: the caller's own organization (404 otherwise) and `manage:Organization`;
    `roleTypeFilter=user` lists only custom roles, `system` only system roles
    (anything else is a 400).
    """
    require_manage_organization(principal, organization_uuid)
    if role_type not in (None, "", "user", "system"):
        raise ParameterError(
            "roleTypeFilter must be `user` (custom roles) or `system` (system roles)",
            {"fields": {"roleTypeFilter": "unknown value"}},
        )
    system = [system_role_out(r) for r in SYSTEM_ROLES] if role_type != "user" else []
    if role_type == "system":
        return system
    return system + _roles_out(session, repository.roles(session, principal.organization_uuid))


def role_names(session: Session, principal: Principal) -> dict[str, str]:
    """The names of the caller's organization's custom roles, by uuid.

    Rules: only the caller's own organization; no right needed beyond seeing
    where a role is held (a project's member list shows its custom role's name).
    """
    return {r.uuid: r.name for r in repository.roles(session, principal.organization_uuid)}


def _uuid_or_400(value: str, what: str = "role") -> str:
    try:
        return str(uuid_module.UUID(value))
    except ValueError:
        raise ParameterError(
            f"{value!r} is not a {what} id: give a roleUuid", {"fields": {"roleUuid": "not a UUID"}}
        ) from None


def custom_role(session: Session, principal: Principal, role_uuid: str) -> CustomRole:
    """A custom role of the caller's organization. Rules: a malformed id is 400, else 404."""
    role = repository.role(session, principal.organization_uuid, _uuid_or_400(role_uuid))
    if role is None:
        raise NotFoundError("Role not found")
    return role


def get_role(
    session: Session, principal: Principal, organization_uuid: str, role_uuid: str
) -> RoleOut:
    """One role with its scopes: a custom role by `roleUuid`, or a system role by its name.

    Rules: the caller's own organization (404 otherwise) and `manage:Organization`;
    a malformed id is 400; another organization's role is 404.
    """
    require_manage_organization(principal, organization_uuid)
    if role_uuid in SYSTEM_ROLES:
        return system_role_out(role_uuid)
    role = custom_role(session, principal, role_uuid)
    return _roles_out(session, [role])[0]


def _clean_name(name: str | None) -> str:
    if name is None:
        raise ParameterError("Role name is required", {"fields": {"name": "required"}})
    name = name.strip()
    if not name:
        raise ParameterError("Role name cannot be empty", {"fields": {"name": "required"}})
    if len(name) > MAX_NAME:
        raise ParameterError(
            f"Role name must be {MAX_NAME} characters or less", {"fields": {"name": "too long"}}
        )
    return name


def _clean_description(description: str | None) -> str:
    return (description or "").strip()


def _name_taken(name: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"A role named {name!r} already exists in this organization: choose another name"
    )


def _creator(principal: Principal) -> UserRef:
    return UserRef(
        user_uuid=principal.user_uuid,
        first_name=principal.first_name,
        last_name=principal.last_name,
    )


def create_role(
    session: Session, principal: Principal, organization_uuid: str, body: RoleCreate
) -> RoleOut:
    """Create a custom role in the caller's organization.

    Rules: the caller's own organization (404) and `manage:Organization` (403);
    a non-empty name of at most 255 characters (400), unique in the
    organization ignoring case (409); every scope in the
    vocabulary (400 listing the unknown ones); nobody writes a role with scopes
    they do not hold organization-wide (403 `Cannot grant permissions exceeding
    your own`); audited as `role.created`.
    """
    require_manage_organization(principal, organization_uuid)
    name = _clean_name(body.name)
    scopes = clean_scopes(body.scopes)
    access.require_org_grant_within(principal, parsed_scopes(scopes))
    if repository.role_named(session, principal.organization_uuid, name) is not None:
        raise _name_taken(name)
    role = CustomRole(
        organization_uuid=principal.organization_uuid,
        name=name,
        description=_clean_description(body.description),
        scopes=scopes,
        created_by_user_uuid=principal.user_uuid,
    )
    try:
        repository.add_role(session, role)
    except IntegrityError:
        # Two creates with the same name at once: the unique index decides.
        raise _name_taken(name) from None
    record(
        session,
        organization_uuid=role.organization_uuid,
        actor=principal,
        action=AuditAction.ROLE_CREATED,
        target=Target(TargetType.ROLE, role.uuid, role.name),
        details={"name": role.name, "description": role.description, "scopes": scopes},
    )
    log.info("role.created", role_uuid=role.uuid, scopes=len(scopes))
    out = role_out(role, None)
    out.created_by = _creator(principal)
    return out


def _new_scopes(current: list[str], requested: list[str] | ScopeChanges) -> list[str]:
    if isinstance(requested, ScopeChanges):
        added = clean_scopes(requested.add)
        removed = set(clean_scopes(requested.remove))
        return clean_scopes([s for s in [*current, *added] if s not in removed])
    return clean_scopes(requested)


def update_role(
    session: Session, principal: Principal, organization_uuid: str, role_uuid: str, body: RoleUpdate
) -> RoleOut:
    """Rename, describe or re-scope a custom role; holders feel it on their next request.

    Rules: the caller's own organization (404) and `manage:Organization` (403);
    system roles cannot be edited (400); the name rules of create (400/409);
    `scopes` is the complete new list or `{"add", "remove"}`, every name in the
    vocabulary (400); when scopes change, both the old and the new set must be
    within what the caller holds organization-wide (403: nobody widens a role
    beyond their own access nor narrows one that holds more than they do);
    audited as `role.updated` with the scopes before and after.
    """
    require_manage_organization(principal, organization_uuid)
    if role_uuid in SYSTEM_ROLES:
        raise ParameterError("System roles cannot be edited: create a custom role instead")
    role = custom_role(session, principal, role_uuid)
    fields = body.model_fields_set
    old_scopes = list(role.scopes or [])
    before: dict[str, Any] = {
        "name": role.name,
        "description": role.description,
        "scopes": old_scopes,
    }
    if "name" in fields:
        name = _clean_name(body.name)
        if repository.role_named(session, role.organization_uuid, name, other_than=role.uuid):
            raise _name_taken(name)
        role.name = name
    if "description" in fields:
        role.description = _clean_description(body.description)
    if "scopes" in fields:
        if body.scopes is None:
            raise ParameterError(
                "scopes cannot be null: give the complete list (it may be empty) or {add, remove}",
                {"fields": {"scopes": "null"}},
            )
        scopes = _new_scopes(old_scopes, body.scopes)
        if set(scopes) != set(old_scopes):
            access.require_org_grant_within(principal, parsed_scopes(old_scopes))
            access.require_org_grant_within(principal, parsed_scopes(scopes))
        role.scopes = scopes  # a new list, so the change is detected and caches are invalidated
    new_scopes = list(role.scopes or [])
    after: dict[str, Any] = {
        "name": role.name,
        "description": role.description,
        "scopes": new_scopes,
    }
    if after != before:
        role.updated_at = utcnow()
        try:
            session.flush()
        except IntegrityError:
            raise _name_taken(role.name) from None
        details = changes(before, after)
        details["before"]["scopes"] = old_scopes
        details["after"]["scopes"] = new_scopes
        details["addedScopes"] = [s for s in new_scopes if s not in old_scopes]
        details["removedScopes"] = [s for s in old_scopes if s not in new_scopes]
        record(
            session,
            organization_uuid=role.organization_uuid,
            actor=principal,
            action=AuditAction.ROLE_UPDATED,
            target=Target(TargetType.ROLE, role.uuid, role.name),
            details=details,
        )
        log.info("role.updated", role_uuid=role.uuid)
    return _roles_out(session, [role])[0]


# -- holders -----------------------------------------------------------------------------


def _assignees(session: Session, role: CustomRole) -> list[AssigneeOut]:
    result: list[AssigneeOut] = []
    for user in repository.organization_holders(session, role.uuid):
        result.append(
            AssigneeOut(
                type="user",
                kind="organization_user",
                assignee_id=user.uuid,
                assignee_name=user_label(user),
                user_uuid=user.uuid,
                service_account_uuid=None,
                project_uuid=None,
                project_name=None,
                name=user_label(user),
                email=user.email,
                first_name=user.first_name,
                last_name=user.last_name,
                is_service_account=False,
            )
        )
    for holder, user in repository.service_account_holders(session, role.uuid):
        result.append(
            AssigneeOut(
                type="service_account",
                kind="service_account",
                assignee_id=holder.uuid,
                assignee_name=holder.description,
                user_uuid=user.uuid,
                service_account_uuid=holder.uuid,
                project_uuid=None,
                project_name=None,
                name=holder.description,
                email=None,
                first_name=None,
                last_name=None,
                is_service_account=True,
            )
        )
    for _membership, user, project, account in repository.project_holders(session, role.uuid):
        label = account.description if account is not None else user_label(user)
        result.append(
            AssigneeOut(
                type="project_member",
                kind="project_user",
                assignee_id=user.uuid,
                assignee_name=label,
                user_uuid=user.uuid,
                service_account_uuid=account.uuid if account is not None else None,
                project_uuid=project.uuid,
                project_name=project.name,
                name=label,
                email=user.email,
                first_name=user.first_name,
                last_name=user.last_name,
                is_service_account=user.is_service_account,
            )
        )
    for group, project in repository.project_group_holders(session, role.uuid):
        result.append(
            AssigneeOut(
                type="project_group",
                kind="project_group",
                assignee_id=group.uuid,
                assignee_name=group.name,
                user_uuid=None,
                service_account_uuid=None,
                project_uuid=project.uuid,
                project_name=project.name,
                name=group.name,
                email=None,
                first_name=None,
                last_name=None,
                is_service_account=False,
            )
        )
    return result


def list_assignees(
    session: Session, principal: Principal, organization_uuid: str, role_uuid: str
) -> list[AssigneeOut]:
    """Everyone holding a custom role: people (org level), service accounts, project memberships,
    groups' project roles.

    Rules: the caller's own organization (404) and `manage:Organization` (403);
    another organization's role is 404.
    """
    require_manage_organization(principal, organization_uuid)
    role = custom_role(session, principal, role_uuid)
    return _assignees(session, role)


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts) or "nobody"
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def where_assigned(assignees: list[AssigneeOut]) -> str:
    """`2 users, 1 service account and 1 project membership (Project X)`."""
    users = sum(1 for a in assignees if a.type == "user")
    accounts = sum(1 for a in assignees if a.type == "service_account")
    memberships = [a for a in assignees if a.type == "project_member"]
    group_accesses = [a for a in assignees if a.type == "project_group"]
    parts = []
    if users:
        parts.append(_count(users, "user", "users"))
    if accounts:
        parts.append(_count(accounts, "service account", "service accounts"))
    if memberships:
        projects = ", ".join(dict.fromkeys(a.project_name or "" for a in memberships))
        parts.append(
            _count(len(memberships), "project membership", "project memberships") + f" ({projects})"
        )
    if group_accesses:
        projects = ", ".join(dict.fromkeys(a.project_name or "" for a in group_accesses))
        parts.append(
            _count(len(group_accesses), "group's project role", "groups' project roles")
            + f" ({projects})"
        )
    return _join(parts)


def delete_role(
    session: Session, principal: Principal, organization_uuid: str, role_uuid: str
) -> None:
    """Delete a custom role that nobody holds.

    Rules: the caller's own organization (404) and `manage:Organization` (403);
    system roles cannot be deleted (400); a role still assigned anywhere is a
    409 saying where (unassign it first); audited as `role.deleted`.
    """
    require_manage_organization(principal, organization_uuid)
    if role_uuid in SYSTEM_ROLES:
        raise ParameterError("System roles cannot be deleted")
    role = custom_role(session, principal, role_uuid)
    assignees = _assignees(session, role)
    if assignees:
        raise AlreadyExistsError(
            f"Role is assigned to {where_assigned(assignees)}: unassign it first",
            {"assignees": [a.model_dump(mode="json", by_alias=True) for a in assignees]},
        )
    name, scopes = role.name, list(role.scopes or [])
    try:
        repository.delete_role(session, role)
    except IntegrityError:
        # Assigned between our check and the delete: the foreign keys refuse.
        raise AlreadyExistsError("Role is assigned: unassign it first") from None
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.ROLE_DELETED,
        target=Target(TargetType.ROLE, role.uuid, name),
        details={"name": name, "scopes": scopes},
    )
    log.info("role.deleted", role_uuid=role_uuid)
