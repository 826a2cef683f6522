"""Who holds which role where: the rules of every grant to a person, whichever route asks.

Four acts, each one function with one audit name, called by the v1 routes, the
v2 role assignments and the web pages alike:
- `set_org_role` — a person's system organization role (`member.role_changed`);
- `set_org_custom_role` — bind or unbind an org-level custom role (`member.custom_role_changed`);
- `set_project_role` — a person's project role, system or custom (`project.member_role_changed`);
- `remove_project_membership` — end an explicit membership (`project.member_removed`).
Removing a person from the organization (`member.removed`) is here too.

The rules, each stated once:
- the grant ceiling: nobody grants more than they hold (organization-wide for
  org grants, on that project for project grants): 403;
- the acting-on rule: nobody changes or removes the access of someone holding
  more than they do (`authz.access.require_may_act_on` over `auth.grants.grants_for`): 403;
  a project role given to a group (groups/) goes through the same `require_may_assign`;
- the last active admin stays admin and stays in the organization: 400;
- a service account's access changes only through `/api/v1/service-accounts`
  (which also keeps a project-scoped one on at least one project): the v1
  project routes and the v2 assignments answer 400 naming that API
  (`refuse_service_account`); the v1 organization-member routes do not list
  service accounts, so there they are 404.
Services never commit; the request commits once.
"""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.grants import Grants, ProjectGrant, grants_for
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import (
    ORG_ROLES,
    PROJECT_ROLE_SCOPES,
    PROJECT_ROLES,
    ROLE_LABELS,
    org_role_scopes,
)
from lightkeeper.auth.scopes import Scope
from lightkeeper.authz import access, tenancy
from lightkeeper.config import Settings
from lightkeeper.identity.attribution import user_label
from lightkeeper.identity.people import offboard_user
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import AlreadyExistsError, NotFoundError, ParameterError
from lightkeeper.membership import repository
from lightkeeper.membership.schemas import (
    MemberOut,
    ProjectMemberCreate,
    ProjectMemberOut,
    RoleAssignmentOut,
)
from lightkeeper.models import Project, ProjectMembership, User
from lightkeeper.roles import service as roles_service

log = structlog.get_logger()

LAST_ADMIN_DEMOTE = (
    "Cannot change the role of the last admin of the organization: make another member admin first"
)
LAST_ADMIN_REMOVE = (
    "Cannot remove the last admin of the organization: make another member admin first"
)
SERVICE_ACCOUNT_PERMISSIONS = (
    "Service account permissions are managed through /api/v1/service-accounts"
)
USER_NOT_FOUND = "User not found in this organization"
MEMBER_NOT_FOUND = "Project member not found"


# -- names and lookups -----------------------------------------------------------------


def validate_org_role(role: str, *, field: str = "role") -> str:
    """An organization role name. Rules: one of the system org roles, else 400 naming them."""
    if role not in ORG_ROLES:
        raise ParameterError(
            f"Unknown role {role!r}: use one of {', '.join(ORG_ROLES)}",
            {"fields": {field: "unknown role"}},
        )
    return role


def validate_project_role(role: str) -> str:
    """A project role name. Rules: viewer … admin (`member` is not a project role), else 400."""
    if role not in PROJECT_ROLES:
        raise ParameterError(
            f"Unknown project role {role!r}: use one of {', '.join(PROJECT_ROLES)}",
            {"fields": {"role": "unknown role"}},
        )
    return role


def refuse_service_account(user: User) -> None:
    """Membership routes never change a service account's access.

    Rules: a service account's permissions change only through the
    service-account API, which keeps its one shape and audits
    `service_account.updated`; any other route targeting one is a 400 saying where to go.
    """
    if user.is_service_account:
        raise ParameterError(
            SERVICE_ACCOUNT_PERMISSIONS, {"fields": {"userUuid": "service account"}}
        )


def person_of_organization(session: Session, principal: Principal, user_uuid: str) -> User:
    """A person of the caller's organization, for the v2 assignments.

    Rules: another organization's user is 404; a service account is a 400
    naming its API (`refuse_service_account`).
    """
    user = repository.user_in_organization(session, principal.organization_uuid, user_uuid)
    if user is None:
        raise NotFoundError(USER_NOT_FOUND)
    refuse_service_account(user)
    return user


def managed_project(
    session: Session, principal: Principal, project_uuid: str
) -> tuple[Project, access.ProjectTarget]:
    """A project whose members the principal may manage.

    Rules: invisible or foreign is 404; visible without `manage:Project` is 403.
    """
    project, target = tenancy.visible_project(session, principal, project_uuid)
    access.require(access.allows(principal, "manage", "Project", project=target))
    return project, target


def is_last_admin(session: Session, user: User) -> bool:
    """Whether `user` is the organization's last active admin (rows locked on PostgreSQL)."""
    if user.role != "admin" or not user.is_active:
        return False
    admins = repository.active_admin_uuids(session, user.organization_uuid)
    return not [a for a in admins if a != user.uuid]


# -- the acts ------------------------------------------------------------------------------


def set_org_role(
    settings: Settings,
    session: Session,
    principal: Principal,
    user: User,
    role: str,
    *,
    clear_custom_role: bool = False,
) -> User:
    """Set a person's system organization role (v1 member PATCH, v2 assignment, Users page).

    Rules: nobody changes the access of someone holding more than they do, nor
    grants a role beyond what they hold organization-wide (403); the last
    active admin stays admin (400); `clear_custom_role` (the v2 assignment,
    which replaces the whole org-level assignment as in Lightdash) also unbinds
    an org-level custom role. Audited as `member.role_changed` when something
    changed; takes effect on the person's next request.
    """
    access.require_may_act_on(principal, grants_for(session, settings, user))
    access.require_org_grant_within(principal, org_role_scopes(role))
    custom_role_uuid = None if clear_custom_role else user.custom_role_uuid
    before = {"role": user.role, "roleUuid": user.custom_role_uuid}
    after = {"role": role, "roleUuid": custom_role_uuid}
    if after == before:
        return user
    if role != "admin" and is_last_admin(session, user):
        raise ParameterError(LAST_ADMIN_DEMOTE)
    user.role, user.custom_role_uuid = role, custom_role_uuid
    session.flush()
    record(
        session,
        organization_uuid=user.organization_uuid,
        actor=principal,
        action=AuditAction.MEMBER_ROLE_CHANGED,
        target=Target(TargetType.USER, user.uuid, user_label(user)),
        details=changes(before, after),
    )
    log.info("member.role_changed", user_uuid=user.uuid, role=role)
    return user


def set_org_custom_role(
    settings: Settings,
    session: Session,
    principal: Principal,
    user: User,
    role_uuid: str | None,
) -> str:
    """Bind an org-level custom role to a person (next to their system role), or unbind it.

    Rules: nobody changes the access of someone holding more than they do
    (403); the role is a custom role of the organization (400 malformed, 404
    unknown) whose scopes the caller holds organization-wide (403). Audited as
    `member.custom_role_changed` (`roleId`/`roleName`: the role bound, or
    unbound) when something changed. Answers the role's name.
    """
    access.require_may_act_on(principal, grants_for(session, settings, user))
    previous = user.custom_role_uuid
    if role_uuid is not None:
        role = roles_service.custom_role(session, principal, role_uuid)
        access.require_org_grant_within(principal, roles_service.parsed_scopes(role.scopes or []))
    elif previous is not None:
        role = roles_service.custom_role(session, principal, previous)
    else:
        return ""
    new = role.uuid if role_uuid is not None else None
    if new != previous:
        user.custom_role_uuid = new
        session.flush()
        record(
            session,
            organization_uuid=user.organization_uuid,
            actor=principal,
            action=AuditAction.MEMBER_CUSTOM_ROLE_CHANGED,
            target=Target(TargetType.USER, user.uuid, user_label(user)),
            details={
                "roleId": role.uuid,
                "roleName": role.name,
                **changes({"roleUuid": previous}, {"roleUuid": new}),
            },
        )
        log.info("member.custom_role_changed", user_uuid=user.uuid, role_uuid=new)
    return role.name


@dataclass(frozen=True)
class ProjectRole:
    """What a membership names: a system project role, or a custom role (`role` is then None)."""

    role: str | None
    role_uuid: str | None
    name: str
    scopes: frozenset[Scope]

    @property
    def role_id(self) -> str:
        return self.role_uuid or self.role or ""


def system_project_role(role: str) -> ProjectRole:
    """A system project role by name (400 for anything else)."""
    role = validate_project_role(role)
    return ProjectRole(role, None, ROLE_LABELS[role], PROJECT_ROLE_SCOPES[role])


def project_role_id(role_id: str | None) -> str:
    """`roleId` of a v2 project assignment, checked: required, a project role name or shaped
    like a roleUuid (400 otherwise)."""
    role_id = _role_id(role_id)
    _check_role_id(role_id, PROJECT_ROLES)
    return role_id


def project_role(session: Session, principal: Principal, role_id: str) -> ProjectRole:
    """What a checked `roleId` names: a system project role, or a custom role of the caller's
    organization (404 otherwise) of which only the project scopes apply on a project."""
    if role_id in PROJECT_ROLES:
        return system_project_role(role_id)
    custom = roles_service.custom_role(session, principal, role_id)
    return ProjectRole(
        None, custom.uuid, custom.name, roles_service.project_part(custom.scopes or [])
    )


def stored_project_role(
    session: Session, principal: Principal, role: str | None, role_uuid: str | None
) -> ProjectRole:
    """The role a stored grant (a membership, a group's project access) names."""
    return project_role(session, principal, role_uuid or role or "")


def holding_on_project(project_uuid: str, role: ProjectRole) -> Grants:
    """What a holder of `role` on one project holds, for the acting-on rule (a group's access)."""
    return Grants(frozenset(), ProjectGrant(), {project_uuid: ProjectGrant(role.scopes)})


def require_may_assign(
    principal: Principal,
    target: access.ProjectTarget,
    role: ProjectRole,
    *,
    holder: Grants | None = None,
) -> None:
    """The rules of every project role assignment, to a person or to a group.

    Rules: nobody changes the grant of a `holder` holding more on the project
    than they do (the acting-on rule, 403), nor grants more than they hold on
    the project (the grant ceiling, 403).
    """
    if holder is not None:
        access.require_may_act_on(principal, holder, project=target)
    access.require_project_grant_within(principal, target, role.scopes)


def set_project_role(
    settings: Settings,
    session: Session,
    principal: Principal,
    project: Project,
    target: access.ProjectTarget,
    user: User,
    role: ProjectRole,
    *,
    existing: Literal["replace", "refuse"] = "replace",
) -> ProjectMembership:
    """Give a person a project role, system or custom (callers have refused service accounts).

    Rules: the caller manages the project (see `managed_project`); nobody
    changes the membership of someone holding more there than they do (403),
    nor grants more than they hold on the project (403; only the project
    scopes of a custom role apply on a project); with `existing="refuse"` (v1
    add) an existing membership is a 409, else its role is replaced. Audited as
    `project.member_role_changed` (the new `role`/`roleUuid`, and before/after;
    a new membership's before is null) when something changed.
    """
    membership = repository.membership(session, project.uuid, user.uuid)
    holder = None
    if membership is not None and existing == "replace":
        holder = grants_for(session, settings, user)
    require_may_assign(principal, target, role, holder=holder)
    if membership is not None and existing == "refuse":
        raise AlreadyExistsError(
            f"{user_label(user)} is already a member of this project: change their role instead"
        )
    before: dict[str, str | None] = {"role": None, "roleUuid": None}
    if membership is None:
        membership = repository.add_membership(
            session, project.uuid, user.uuid, role.role, role.role_uuid
        )
    else:
        before = {"role": membership.role, "roleUuid": membership.role_uuid}
        membership.role, membership.role_uuid = role.role, role.role_uuid
        session.flush()
    after = {"role": membership.role, "roleUuid": membership.role_uuid}
    if after != before:
        record(
            session,
            organization_uuid=project.organization_uuid,
            actor=principal,
            action=AuditAction.PROJECT_MEMBER_ROLE_CHANGED,
            target=Target(TargetType.USER, user.uuid, user_label(user)),
            details={
                "projectUuid": project.uuid,
                "projectName": project.name,
                "role": role.role,
                "roleUuid": role.role_uuid,
                "roleName": role.name,
                **changes(before, after),
            },
        )
        log.info(
            "project.member_role_changed",
            project_uuid=project.uuid,
            user_uuid=user.uuid,
            role_id=role.role_id,
        )
    return membership


def remove_project_membership(
    settings: Settings,
    session: Session,
    principal: Principal,
    project: Project,
    target: access.ProjectTarget,
    user: User,
    membership: ProjectMembership,
) -> None:
    """End an explicit project membership (access from the org role, if any, remains).

    Rules: nobody removes a member holding more there than they do (403).
    Audited as `project.member_removed`.
    """
    access.require_may_act_on(principal, grants_for(session, settings, user), project=target)
    details = {
        "projectUuid": project.uuid,
        "projectName": project.name,
        "role": membership.role,
        "roleUuid": membership.role_uuid,
    }
    repository.delete_membership(session, membership)
    record(
        session,
        organization_uuid=project.organization_uuid,
        actor=principal,
        action=AuditAction.PROJECT_MEMBER_REMOVED,
        target=Target(TargetType.USER, user.uuid, user_label(user)),
        details=details,
    )
    log.info("project.member_removed", project_uuid=project.uuid, user_uuid=user.uuid)


# -- v1: organization members --------------------------------------------------------------


def member_out(user: User) -> MemberOut:
    """A person as Lightdash's `OrganizationMemberProfile` (people always have an email)."""
    return MemberOut(
        user_uuid=user.uuid,
        organization_uuid=user.organization_uuid,
        email=user.email or "",
        first_name=user.first_name,
        last_name=user.last_name,
        role=user.role,
        is_active=user.is_active,
        user_created_at=user.created_at,
        user_updated_at=user.updated_at,
    )


def _managed_member(session: Session, principal: Principal, user_uuid: str) -> User:
    """Needs `manage:OrganizationMemberProfile`; a person of the organization, else 404 (service
    accounts are not members: the member list never shows them)."""
    access.require_org(principal, "manage", "OrganizationMemberProfile")
    user = repository.user_in_organization(session, principal.organization_uuid, user_uuid)
    if user is None or user.is_service_account:
        raise NotFoundError(USER_NOT_FOUND)
    return user


def change_member_role(
    settings: Settings, session: Session, principal: Principal, user_uuid: str, role: str
) -> User:
    """`PATCH /api/v1/org/users/{userUuid}` and the Users page: change a member's org role.

    Rules: needs `manage:OrganizationMemberProfile` (403); the role is an org
    role (400); a member of another organization or a service account is 404;
    then `set_org_role` (any org-level custom role stays).
    """
    access.require_org(principal, "manage", "OrganizationMemberProfile")
    role = validate_org_role(role)
    user = _managed_member(session, principal, user_uuid)
    return set_org_role(settings, session, principal, user, role)


def remove_member(
    settings: Settings, session: Session, principal: Principal, user_uuid: str
) -> None:
    """Remove a person from the organization (offboarding).

    Rules: needs `manage:OrganizationMemberProfile`; nobody removes a member
    who holds more than they do (403); the last active admin cannot be removed
    (400); their sessions end and their personal tokens are revoked at once;
    service accounts they created keep working and keep showing them as
    creator (the row is retired, not deleted). Audited as `member.removed`.
    """
    user = _managed_member(session, principal, user_uuid)
    access.require_may_act_on(principal, grants_for(session, settings, user))
    if is_last_admin(session, user):
        raise ParameterError(LAST_ADMIN_REMOVE)
    details = {"email": user.email, "role": user.role}
    label = user_label(user)
    offboard_user(session, user)
    repository.retire_user(session, user)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.MEMBER_REMOVED,
        target=Target(TargetType.USER, user_uuid, label),
        details=details,
    )
    log.info("member.removed", user_uuid=user_uuid)


# -- v1: project members -------------------------------------------------------------------


def project_member_out(membership: ProjectMembership, user: User) -> ProjectMemberOut:
    """An explicit project membership on the wire, flagged when the member is a service account."""
    return ProjectMemberOut(
        user_uuid=user.uuid,
        project_uuid=membership.project_uuid,
        email=user.email or "",
        first_name=user.first_name,
        last_name=user.last_name,
        role=membership.role,
        role_uuid=membership.role_uuid,
        is_service_account=user.is_service_account,
    )


def get_project_member(
    session: Session, principal: Principal, project_uuid: str, user_uuid: str
) -> ProjectMemberOut:
    """`GET /api/v1/projects/{p}/user/{u}`: one explicit membership of the project.

    Rules: needs `view:Project` (invisible is 404); someone without an explicit
    membership (access from the org role or a group only) is 404.
    """
    project, _target = tenancy.visible_project(session, principal, project_uuid)
    membership = repository.membership(session, project.uuid, user_uuid)
    user = repository.user_in_organization(session, principal.organization_uuid, user_uuid)
    if membership is None or user is None:
        raise NotFoundError(MEMBER_NOT_FOUND)
    return project_member_out(membership, user)


def list_project_members(
    session: Session, principal: Principal, project_uuid: str
) -> list[ProjectMemberOut]:
    """The project's explicit memberships (people and service accounts).

    Rules: needs `view:Project` (invisible is 404); access coming from org roles is not listed.
    """
    project, _target = tenancy.visible_project(session, principal, project_uuid)
    return [project_member_out(m, u) for m, u in repository.members(session, project.uuid)]


def add_project_member(
    settings: Settings,
    session: Session,
    principal: Principal,
    project_uuid: str,
    body: ProjectMemberCreate,
) -> tuple[ProjectMembership, User]:
    """`POST /api/v1/projects/{p}/access` and the project page: add a member.

    Rules: needs `manage:Project`; the role is a project role (400); the person
    is named by `userUuid` or `email` (400 when neither) and belongs to the
    caller's organization (404); a service account is a 400 (its own API
    manages it); then `set_project_role`, refusing an existing membership (409).
    """
    project, target = managed_project(session, principal, project_uuid)
    role = system_project_role(body.role)
    if body.user_uuid is not None:
        user = repository.user_in_organization(
            session, project.organization_uuid, str(body.user_uuid)
        )
    elif body.email and body.email.strip():
        user = repository.user_by_email(session, project.organization_uuid, body.email)
    else:
        raise ParameterError(
            "Say who to add: give `email` or `userUuid`", {"fields": {"email": "required"}}
        )
    if user is None:
        raise NotFoundError(USER_NOT_FOUND)
    refuse_service_account(user)
    membership = set_project_role(
        settings, session, principal, project, target, user, role, existing="refuse"
    )
    return membership, user


def _existing_member(
    session: Session, project: Project, user_uuid: str
) -> tuple[ProjectMembership, User]:
    user = repository.user_in_organization(session, project.organization_uuid, user_uuid)
    if user is None:
        raise NotFoundError(MEMBER_NOT_FOUND)
    refuse_service_account(user)
    membership = repository.membership(session, project.uuid, user_uuid)
    if membership is None:
        raise NotFoundError(MEMBER_NOT_FOUND)
    return membership, user


def change_project_member_role(
    settings: Settings,
    session: Session,
    principal: Principal,
    project_uuid: str,
    user_uuid: str,
    role: str,
) -> tuple[ProjectMembership, User]:
    """`PATCH /api/v1/projects/{p}/access/{u}` and the project page: change a member's role.

    Rules: needs `manage:Project`; the role is a project role (400); a service
    account is a 400 (its own API manages it); an explicit member of the
    project (404); then `set_project_role` (a custom role becomes the system role).
    """
    project, target = managed_project(session, principal, project_uuid)
    project_role = system_project_role(role)
    _membership, user = _existing_member(session, project, user_uuid)
    membership = set_project_role(settings, session, principal, project, target, user, project_role)
    return membership, user


def remove_project_member(
    settings: Settings, session: Session, principal: Principal, project_uuid: str, user_uuid: str
) -> None:
    """`DELETE /api/v1/projects/{p}/access/{u}` and the project page.

    Rules: needs `manage:Project`; a service account is a 400 (its own API
    manages it); an explicit member of the project (404); then
    `remove_project_membership`.
    """
    project, target = managed_project(session, principal, project_uuid)
    membership, user = _existing_member(session, project, user_uuid)
    remove_project_membership(settings, session, principal, project, target, user, membership)


# -- v2: role assignments (Lightdash's `{"roleId"}`) -----------------------------------------


def _role_id(role_id: str | None) -> str:
    role_id = (role_id or "").strip()
    if not role_id:
        raise ParameterError(
            "roleId is required: a system role name or a custom role's roleUuid",
            {"fields": {"roleId": "required"}},
        )
    return role_id


def _is_uuid(value: str) -> bool:
    try:
        uuid_module.UUID(value)
    except ValueError:
        return False
    return True


def _check_role_id(role_id: str, names: tuple[str, ...]) -> None:
    """A system role name of `names`, or something shaped like a roleUuid (else 400)."""
    if role_id not in names and not _is_uuid(role_id):
        raise ParameterError(
            f"Unknown role {role_id!r}: use one of {', '.join(names)} or a custom role's roleUuid",
            {"fields": {"roleId": "unknown role"}},
        )


def _assignment_out(
    role_id: str,
    role_name: str,
    user: User,
    *,
    organization_uuid: str | None = None,
    project_uuid: str | None = None,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> RoleAssignmentOut:
    now = utcnow()
    return RoleAssignmentOut(
        role_id=role_id,
        role_name=role_name,
        owner_type="user" if _is_uuid(role_id) else "system",
        assignee_type="user",
        assignee_id=user.uuid,
        assignee_name=user_label(user),
        organization_id=organization_uuid,
        project_id=project_uuid,
        created_at=created_at or now,
        updated_at=updated_at or now,
    )


def project_user_assignments(
    session: Session, project: Project, role_names: dict[str, str]
) -> list[RoleAssignmentOut]:
    """The project's explicit memberships as Lightdash's `RoleAssignment`s (`role_names`: the
    organization's custom roles by uuid); callers check the caller may see the project."""
    return [
        _assignment_out(
            m.role_uuid or m.role or "",
            role_names.get(m.role_uuid, "") if m.role_uuid else ROLE_LABELS[m.role or ""],
            user,
            project_uuid=project.uuid,
            created_at=m.created_at,
            updated_at=m.created_at,
        )
        for m, user in repository.members(session, project.uuid)
    ]


def assign_organization_role(
    settings: Settings,
    session: Session,
    principal: Principal,
    organization_uuid: str,
    user_uuid: str,
    role_id: str | None,
) -> RoleAssignmentOut:
    """`POST /api/v2/orgs/{o}/roles/assignments/user/{u}`: a system org role or a custom role.

    Rules: the caller's own organization (404) and `manage:Organization` (403);
    `roleId` is required and is an org role name or a roleUuid (400); the
    person belongs to the organization (404) and is not a service account (400). A
    system role goes through `set_org_role` and replaces any org-level custom
    role; a custom role goes through `set_org_custom_role`, next to the system
    role the person keeps (access is the union).
    """
    roles_service.require_manage_organization(principal, organization_uuid)
    role_id = _role_id(role_id)
    _check_role_id(role_id, ORG_ROLES)
    user = person_of_organization(session, principal, user_uuid)
    if role_id in ORG_ROLES:
        set_org_role(settings, session, principal, user, role_id, clear_custom_role=True)
        role_name = ROLE_LABELS[role_id]
    else:
        role_name = set_org_custom_role(settings, session, principal, user, role_id)
        role_id = str(user.custom_role_uuid)
    return _assignment_out(role_id, role_name, user, organization_uuid=user.organization_uuid)


def unassign_organization_role(
    settings: Settings,
    session: Session,
    principal: Principal,
    organization_uuid: str,
    user_uuid: str,
) -> None:
    """`DELETE /api/v2/orgs/{o}/roles/assignments/user/{u}`: unbind the org-level custom role.

    Rules: the caller's own organization (404) and `manage:Organization` (403);
    the person belongs to the organization (404), is not a service account
    (400) and holds an org-level custom role (404 otherwise); then `set_org_custom_role` (their system role stays).
    """
    roles_service.require_manage_organization(principal, organization_uuid)
    user = person_of_organization(session, principal, user_uuid)
    if user.custom_role_uuid is None:
        raise NotFoundError(f"{user_label(user)} has no organization-level custom role")
    set_org_custom_role(settings, session, principal, user, None)


def assign_project_role(
    settings: Settings,
    session: Session,
    principal: Principal,
    project_uuid: str,
    user_uuid: str,
    role_id: str | None,
) -> RoleAssignmentOut:
    """`POST /api/v2/projects/{p}/roles/assignments/user/{u}`: a system project role or a custom
    role; creates the membership or replaces its role.

    Rules: the project is visible (404) and the caller holds `manage:Project`
    on it (403); `roleId` is required and is a project role name or a roleUuid
    (400), a roleUuid of a custom role of the organization (404); the person
    belongs to the organization (404) and is not a service account (400); then
    `set_project_role`.
    """
    project, target = managed_project(session, principal, project_uuid)
    role_id = project_role_id(role_id)
    user = person_of_organization(session, principal, user_uuid)
    role = project_role(session, principal, role_id)
    membership = set_project_role(settings, session, principal, project, target, user, role)
    return _assignment_out(
        role.role_id, role.name, user, project_uuid=project.uuid, created_at=membership.created_at
    )


def unassign_project_role(
    settings: Settings, session: Session, principal: Principal, project_uuid: str, user_uuid: str
) -> None:
    """`DELETE /api/v2/projects/{p}/roles/assignments/user/{u}`: end the person's membership.

    Rules: the project is visible (404) and the caller holds `manage:Project`
    on it (403); the person belongs to the organization (404), is not a
    service account (400) and is a member of the project (404 otherwise); then
    `remove_project_membership`.
    """
    project, target = managed_project(session, principal, project_uuid)
    user = person_of_organization(session, principal, user_uuid)
    membership = repository.membership(session, project.uuid, user.uuid)
    if membership is None:
        raise NotFoundError(f"{user_label(user)} has no role on this project")
    remove_project_membership(settings, session, principal, project, target, user, membership)
