"""The rules of custom roles (Enterprise): the role catalogue, its holders, and assignments.

Services never commit; the request commits once. A custom role's scopes are
read on every request by `authz.grants.resolve_grants` (and every write to a
role, a user's role or a membership invalidates the principal caches), so an
edit takes effect on each holder's very next request.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.principal import Principal
from lightkeeper.authz import access
from lightkeeper.authz.grants import grant_for_role, grants_for
from lightkeeper.authz.roles import (
    ORG_ROLES,
    PROJECT_ROLE_SCOPES,
    PROJECT_ROLES,
    ROLE_LABELS,
    org_role_scopes,
)
from lightkeeper.authz.scopes import VOCABULARY, Scope, UnknownScopesError, parse_known
from lightkeeper.config import Settings
from lightkeeper.identity.attribution import UserRef, display_name, user_ref
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import (
    AlreadyExistsError,
    ForbiddenError,
    NotFoundError,
    ParameterError,
)
from lightkeeper.models import CustomRole, ProjectMembership, User
from lightkeeper.organization.service import LAST_ADMIN_DEMOTE, is_last_admin
from lightkeeper.project.service import managed_project
from lightkeeper.roles import repository
from lightkeeper.roles.schemas import (
    AssigneeOut,
    RoleAssignmentOut,
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
    decided in `authz.grants`, not here.)
    """
    missing = []
    if not settings.has_enterprise_license:
        missing.append("LIGHTDASH_LICENSE_KEY")
    if not settings.custom_roles_enabled:
        missing.append("CUSTOM_ROLES_ENABLED=true")
    if missing:
        raise ForbiddenError(f"{GATE_MESSAGE}: set {' and '.join(missing)}")


def _manage_organization(principal: Principal, organization_uuid: str) -> None:
    """The path's organization is the caller's (else 404) and they hold `manage:Organization`."""
    if organization_uuid.lower() != principal.organization_uuid.lower():
        raise NotFoundError("Organization not found")
    access.require_org(principal, "manage", "Organization")


# -- scopes ----------------------------------------------------------------------------


def list_scopes(principal: Principal, organization_uuid: str) -> list[ScopeOut]:
    """The scope vocabulary a custom role is written in, grouped as the role editor shows it.

    Rules: the caller's own organization (404 otherwise) and `manage:Organization`.
    """
    _manage_organization(principal, organization_uuid)
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


def _parsed(names: Iterable[str]) -> frozenset[Scope]:
    """Stored scope names as scopes (a malformed stored name grants nothing, so it is skipped)."""
    parsed: set[Scope] = set()
    for name in names:
        try:
            parsed.add(Scope.parse(name))
        except ValueError:
            continue
    return frozenset(parsed)


def _project_part(names: Iterable[str]) -> frozenset[Scope]:
    """What a custom role gives on a project it is bound to (organization scopes do not apply)."""
    return grant_for_role(None, _parsed(names)).scopes


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
    _manage_organization(principal, organization_uuid)
    if role_type not in (None, "", "user", "system"):
        raise ParameterError(
            "roleTypeFilter must be `user` (custom roles) or `system` (system roles)",
            {"fields": {"roleTypeFilter": "unknown value"}},
        )
    system = [system_role_out(r) for r in SYSTEM_ROLES] if role_type != "user" else []
    if role_type == "system":
        return system
    return system + _roles_out(session, repository.roles(session, principal.organization_uuid))


def _uuid_or_400(value: str, what: str = "role") -> str:
    try:
        return str(uuid_module.UUID(value))
    except ValueError:
        raise ParameterError(
            f"{value!r} is not a {what} id: give a roleUuid", {"fields": {"roleUuid": "not a UUID"}}
        ) from None


def _custom_role(session: Session, principal: Principal, role_uuid: str) -> CustomRole:
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
    _manage_organization(principal, organization_uuid)
    if role_uuid in SYSTEM_ROLES:
        return system_role_out(role_uuid)
    role = _custom_role(session, principal, role_uuid)
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
    _manage_organization(principal, organization_uuid)
    name = _clean_name(body.name)
    scopes = clean_scopes(body.scopes)
    access.require_org_grant_within(principal, _parsed(scopes))
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
        action="role.created",
        target=Target("role", role.uuid, role.name),
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
    _manage_organization(principal, organization_uuid)
    if role_uuid in SYSTEM_ROLES:
        raise ParameterError("System roles cannot be edited: create a custom role instead")
    role = _custom_role(session, principal, role_uuid)
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
            access.require_org_grant_within(principal, _parsed(old_scopes))
            access.require_org_grant_within(principal, _parsed(scopes))
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
            action="role.updated",
            target=Target("role", role.uuid, role.name),
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
                assignee_name=display_name(user),
                user_uuid=user.uuid,
                service_account_uuid=None,
                project_uuid=None,
                project_name=None,
                name=display_name(user),
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
        label = account.description if account is not None else display_name(user)
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
    return result


def list_assignees(
    session: Session, principal: Principal, organization_uuid: str, role_uuid: str
) -> list[AssigneeOut]:
    """Everyone holding a custom role: people (org level), service accounts, project memberships.

    Rules: the caller's own organization (404) and `manage:Organization` (403);
    another organization's role is 404.
    """
    _manage_organization(principal, organization_uuid)
    role = _custom_role(session, principal, role_uuid)
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
    return _join(parts)


def delete_role(
    session: Session, principal: Principal, organization_uuid: str, role_uuid: str
) -> None:
    """Delete a custom role that nobody holds.

    Rules: the caller's own organization (404) and `manage:Organization` (403);
    system roles cannot be deleted (400); a role still assigned anywhere is a
    409 saying where (unassign it first); audited as `role.deleted`.
    """
    _manage_organization(principal, organization_uuid)
    if role_uuid in SYSTEM_ROLES:
        raise ParameterError("System roles cannot be deleted")
    role = _custom_role(session, principal, role_uuid)
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
        action="role.deleted",
        target=Target("role", role.uuid, name),
        details={"name": name, "scopes": scopes},
    )
    log.info("role.deleted", role_uuid=role_uuid)


# -- assignments ------------------------------------------------------------------------


def _role_id(role_id: str | None) -> str:
    role_id = (role_id or "").strip()
    if not role_id:
        raise ParameterError(
            "roleId is required: a system role name or a custom role's roleUuid",
            {"fields": {"roleId": "required"}},
        )
    return role_id


def _unknown_role(role_id: str, names: Sequence[str]) -> ParameterError:
    return ParameterError(
        f"Unknown role {role_id!r}: use one of {', '.join(names)} or a custom role's roleUuid",
        {"fields": {"roleId": "unknown role"}},
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid_module.UUID(value)
    except ValueError:
        return False
    return True


def _assignable_user(session: Session, principal: Principal, user_uuid: str) -> User:
    """A person of the caller's organization (service accounts get roles through their own API)."""
    user = repository.user_in_organization(session, principal.organization_uuid, user_uuid)
    if user is None or user.is_service_account:
        raise NotFoundError("User not found in this organization")
    return user


def _assignment_out(
    role_id: str,
    role_name: str,
    user: User,
    *,
    organization_uuid: str | None = None,
    project_uuid: str | None = None,
    created_at: datetime | None = None,
) -> RoleAssignmentOut:
    now = utcnow()
    return RoleAssignmentOut(
        role_id=role_id,
        role_name=role_name,
        owner_type="user" if _is_uuid(role_id) else "system",
        assignee_type="user",
        assignee_id=user.uuid,
        assignee_name=display_name(user),
        organization_id=organization_uuid,
        project_id=project_uuid,
        created_at=created_at or now,
        updated_at=now,
    )


def assign_organization_role(
    settings: Settings,
    session: Session,
    principal: Principal,
    organization_uuid: str,
    user_uuid: str,
    role_id: str | None,
) -> RoleAssignmentOut:
    """Give a person an organization-level role: a system org role by name, or a custom role.

    Rules: the caller's own organization (404) and `manage:Organization` (403);
    the person belongs to the organization and is not a service account (404);
    `roleId` is required; a name that is no org role is 400, a roleUuid that is
    no custom role of the organization 404. A system role replaces the person's
    org role and clears any org-level custom role; a custom role is bound next to
    the system role they keep (access is the union). Nobody grants more than they
    hold organization-wide, nor changes the access of someone holding more
    (403); the last active admin stays admin (400). Audited as `role.assigned`;
    takes effect on the person's next request.
    """
    _manage_organization(principal, organization_uuid)
    role_id = _role_id(role_id)
    if role_id not in ORG_ROLES and not _is_uuid(role_id):
        raise _unknown_role(role_id, ORG_ROLES)
    user = _assignable_user(session, principal, user_uuid)
    access.require_may_act_on(principal, grants_for(session, settings, user))
    before = {"role": user.role, "roleUuid": user.custom_role_uuid}
    if role_id in ORG_ROLES:
        access.require_org_grant_within(principal, org_role_scopes(role_id))
        if role_id != "admin" and is_last_admin(session, user):
            raise ParameterError(LAST_ADMIN_DEMOTE)
        user.role, user.custom_role_uuid = role_id, None
        role_name = ROLE_LABELS[role_id]
    else:
        role = _custom_role(session, principal, role_id)
        access.require_org_grant_within(principal, _parsed(role.scopes or []))
        user.custom_role_uuid = role.uuid
        role_id, role_name = role.uuid, role.name
    after = {"role": user.role, "roleUuid": user.custom_role_uuid}
    if after != before:
        session.flush()
        record(
            session,
            organization_uuid=user.organization_uuid,
            actor=principal,
            action="role.assigned",
            target=Target("user", user.uuid, display_name(user)),
            details={
                "level": "organization",
                "roleId": role_id,
                "roleName": role_name,
                **changes(before, after),
            },
        )
        log.info("role.assigned", level="organization", user_uuid=user.uuid, role_id=role_id)
    return _assignment_out(role_id, role_name, user, organization_uuid=user.organization_uuid)


def unassign_organization_role(
    settings: Settings,
    session: Session,
    principal: Principal,
    organization_uuid: str,
    user_uuid: str,
) -> None:
    """Remove a person's organization-level custom role (their system org role stays).

    Rules: the caller's own organization (404) and `manage:Organization` (403);
    the person belongs to the organization (404) and holds an org-level custom
    role (404 otherwise); nobody removes a role granting more than they hold
    (403); audited as `role.unassigned`.
    """
    _manage_organization(principal, organization_uuid)
    user = _assignable_user(session, principal, user_uuid)
    if user.custom_role_uuid is None:
        raise NotFoundError(f"{display_name(user)} has no organization-level custom role")
    access.require_may_act_on(principal, grants_for(session, settings, user))
    role = repository.role(session, principal.organization_uuid, user.custom_role_uuid)
    role_uuid = user.custom_role_uuid
    user.custom_role_uuid = None
    session.flush()
    record(
        session,
        organization_uuid=user.organization_uuid,
        actor=principal,
        action="role.unassigned",
        target=Target("user", user.uuid, display_name(user)),
        details={
            "level": "organization",
            "roleId": role_uuid,
            "roleName": role.name if role else None,
        },
    )
    log.info("role.unassigned", level="organization", user_uuid=user.uuid, role_id=role_uuid)


def assign_project_role(
    settings: Settings,
    session: Session,
    principal: Principal,
    project_uuid: str,
    user_uuid: str,
    role_id: str | None,
) -> RoleAssignmentOut:
    """Give a person a role on one project: a system project role by name, or a custom role.

    Rules: the project is visible to the caller (404) and they hold
    `manage:Project` on it (403); the person belongs to the organization and is
    not a service account (404); `roleId` is required; a name that is no project
    role is 400, a roleUuid that is no custom role of the organization 404.
    Creates the membership or replaces its role. Nobody grants more than they
    hold on the project, nor changes the membership of someone holding more
    there (403). Only the project scopes of a custom role apply on a project.
    Audited as `role.assigned`.
    """
    project, target = managed_project(session, principal, project_uuid)
    role_id = _role_id(role_id)
    if role_id not in PROJECT_ROLES and not _is_uuid(role_id):
        raise _unknown_role(role_id, PROJECT_ROLES)
    user = _assignable_user(session, principal, user_uuid)
    role_uuid: str | None = None
    if role_id in PROJECT_ROLES:
        new_scopes = PROJECT_ROLE_SCOPES[role_id]
        role_name = ROLE_LABELS[role_id]
    else:
        role = _custom_role(session, principal, role_id)
        new_scopes = _project_part(role.scopes or [])
        role_id, role_name, role_uuid = role.uuid, role.name, role.uuid
    membership = repository.membership(session, project.uuid, user.uuid)
    if membership is not None:
        access.require_may_act_on(principal, grants_for(session, settings, user), project=target)
    access.require_project_grant_within(principal, target, new_scopes)
    new_role = None if role_uuid else role_id
    before = (
        {"role": membership.role, "roleUuid": membership.role_uuid}
        if membership
        else {"role": None, "roleUuid": None}
    )
    if membership is None:
        membership = repository.add_membership(
            session,
            ProjectMembership(
                project_uuid=project.uuid, user_uuid=user.uuid, role=new_role, role_uuid=role_uuid
            ),
        )
    else:
        membership.role, membership.role_uuid = new_role, role_uuid
        session.flush()
    after = {"role": membership.role, "roleUuid": membership.role_uuid}
    if after != before:
        record(
            session,
            organization_uuid=project.organization_uuid,
            actor=principal,
            action="role.assigned",
            target=Target("user", user.uuid, display_name(user)),
            details={
                "level": "project",
                "projectUuid": project.uuid,
                "projectName": project.name,
                "roleId": role_id,
                "roleName": role_name,
                **changes(before, after),
            },
        )
        log.info("role.assigned", level="project", project_uuid=project.uuid, user_uuid=user.uuid)
    return _assignment_out(
        role_id, role_name, user, project_uuid=project.uuid, created_at=membership.created_at
    )


def unassign_project_role(
    settings: Settings, session: Session, principal: Principal, project_uuid: str, user_uuid: str
) -> None:
    """Remove a person's membership of a project (access from their org role, if any, remains).

    Rules: the project is visible to the caller (404) and they hold
    `manage:Project` on it (403); the person belongs to the organization (404)
    and is a member of the project (404 otherwise); nobody removes a member who
    holds more there than they do (403); audited as `role.unassigned`.
    """
    project, target = managed_project(session, principal, project_uuid)
    user = _assignable_user(session, principal, user_uuid)
    membership = repository.membership(session, project.uuid, user.uuid)
    if membership is None:
        raise NotFoundError(f"{display_name(user)} has no role on this project")
    access.require_may_act_on(principal, grants_for(session, settings, user), project=target)
    details = {
        "level": "project",
        "projectUuid": project.uuid,
        "projectName": project.name,
        "roleId": membership.role_uuid or membership.role,
    }
    repository.delete_membership(session, membership)
    record(
        session,
        organization_uuid=project.organization_uuid,
        actor=principal,
        action="role.unassigned",
        target=Target("user", user.uuid, display_name(user)),
        details=details,
    )
    log.info("role.unassigned", level="project", project_uuid=project.uuid, user_uuid=user.uuid)
