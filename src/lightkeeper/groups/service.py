"""Groups: who belongs to which group, and what a group is given (a project role, a space role).

What a group is given adds to what each member holds on their own: auth/grants.py
puts a group's project roles into every member's grants, and a space shared with
a group counts as shared with each member (authz/access.py `shared_role`). Writes
to groups, memberships and project access invalidate the principal cache like
any other grant (auth/cache.py), so a change takes effect on the next request.

The rules, each stated once:
- groups are seen with `view:Group` and changed with `manage:Group` (both
  organization-level; admins hold `manage:Group`). A group the caller may not
  see is 404, like another organization's; the list is then empty;
- members are people of the organization: a service account is a 400 (its access
  changes only through /api/v1/service-accounts), anyone else unknown a 404;
- the grant ceiling, for groups: whoever changes who receives what a group grants
  (adding or removing members, deleting the group) must hold all of it themselves —
  each project role of the group on its project, and manage rights on each space
  shared with it (403 `Cannot grant permissions exceeding your own`). Giving a
  group a project role is a project grant: `manage:Project` there, and no role
  beyond the caller's on that project (403); changing or removing one needs the
  old role within the caller's reach as well (the acting-on rule). The role is a
  system project role or, through the v2 assignment, a custom role; both go
  through `membership.require_may_assign`, the rule of every project assignment;
- sharing a space with a group follows the rules of sharing with a person
  (`manage:Space*` on a root space);
- every change is audited: `group.created|updated|deleted`,
  `group.member_added|member_removed`, `project.group_access_changed|removed`,
  `space.group_shared|group_unshared`. An act that changes nothing is not audited.
Services never commit; the request commits once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import ROLE_LABELS
from lightkeeper.authz import access, tenancy
from lightkeeper.content import spaces as content_spaces
from lightkeeper.content.schemas import SpaceOut
from lightkeeper.groups import repository
from lightkeeper.groups.schemas import (
    GroupCreate,
    GroupMemberOut,
    GroupOut,
    GroupPage,
    GroupUpdate,
    GroupWithMembersOut,
    ProjectGroupAccessOut,
    SpaceGroupShareIn,
)
from lightkeeper.identity.attribution import user_label
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import AlreadyExistsError, ForbiddenError, NotFoundError, ParameterError
from lightkeeper.kit.params import whole_number
from lightkeeper.membership import service as membership
from lightkeeper.membership.schemas import RoleAssignmentOut
from lightkeeper.membership.service import ProjectRole
from lightkeeper.models import Group, Project, ProjectGroupAccess, SpaceGroupShare, User
from lightkeeper.organization.schemas import Pagination
from lightkeeper.roles import service as roles_service

log = structlog.get_logger()

GROUP_NOT_FOUND = "Group not found"
USER_NOT_FOUND = "User not found in this organization"
SERVICE_ACCOUNT_MEMBER = (
    "Service accounts cannot be group members: their access is managed through "
    "/api/v1/service-accounts"
)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_PAGE = 1_000_000
MAX_COUNT = 1_000_000_000


# -- paging parameters -------------------------------------------------------------------


@dataclass(frozen=True)
class GroupListRequest:
    page: int | None
    page_size: int
    include_members: bool
    search: str | None


def parse_list_request(
    page: str | None, page_size: str | None, include_members: str | None, search: str | None
) -> GroupListRequest:
    """`?page=&pageSize=&includeMembers=&searchQuery=` of the group list (bad values are 400)."""
    return GroupListRequest(
        page=whole_number(page, "page", minimum=1, maximum=MAX_PAGE),
        page_size=whole_number(page_size, "pageSize", minimum=1, maximum=MAX_PAGE_SIZE)
        or DEFAULT_PAGE_SIZE,
        include_members=whole_number(
            include_members, "includeMembers", minimum=0, maximum=MAX_COUNT
        )
        is not None,
        search=(search or "").strip() or None,
    )


# -- lookups and the ceiling --------------------------------------------------------------


def visible_group(session: Session, principal: Principal, group_uuid: str) -> Group:
    """A group of the caller's organization that the caller may see (`view:Group`), else 404."""
    if not access.allows_org(principal, "view", "Group"):
        raise NotFoundError(GROUP_NOT_FOUND)
    return tenancy.get_in_organization(session, Group, group_uuid, principal, "Group")


def managed_group(session: Session, principal: Principal, group_uuid: str) -> Group:
    """A visible group (404) the caller may change (`manage:Group`, else 403)."""
    group = visible_group(session, principal, group_uuid)
    access.require_org(principal, "manage", "Group")
    return group


def require_may_pass_on(session: Session, principal: Principal, group: Group) -> None:
    """The grant ceiling for a change of who receives what `group` grants.

    Rules: the caller holds each project role of the group on its project, and
    may manage each space shared with the group; else 403.
    """
    for group_access, project in repository.project_accesses_of_group(session, group.uuid):
        access.require_project_grant_within(
            principal,
            tenancy.project_target(project),
            _role_of(session, principal, group_access).scopes,
        )
    for _share, space, project in repository.space_shares_of_group(session, group.uuid):
        target = tenancy.space_target(session, project, space)
        if not access.allows(principal, "manage", "Space", project=target.project, space=target):
            raise ForbiddenError(access.GRANT_CEILING_MESSAGE)


def _people(
    session: Session, principal: Principal, user_uuids: list[str], field: str
) -> list[User]:
    """People of the caller's organization, in the order given, each once.

    Rules: an unknown user (or one of another organization) is 404; a service account is 400.
    """
    wanted = list(dict.fromkeys(user_uuids))
    found = repository.people_in_organization(session, principal.organization_uuid, wanted)
    for user_uuid in wanted:
        user = found.get(user_uuid)
        if user is None:
            raise NotFoundError(f"{USER_NOT_FOUND}: {user_uuid}")
        if user.is_service_account:
            raise ParameterError(SERVICE_ACCOUNT_MEMBER, {"fields": {field: "service account"}})
    return [found[u] for u in wanted]


def _target(group: Group) -> Target:
    return Target(TargetType.GROUP, group.uuid, group.name)


def _touch(group: Group, principal: Principal) -> None:
    group.updated_at = utcnow()
    group.updated_by_user_uuid = principal.user_uuid


# -- shapes -------------------------------------------------------------------------------


def group_out(group: Group) -> GroupOut:
    return GroupOut(
        uuid=group.uuid,
        name=group.name,
        organization_uuid=group.organization_uuid,
        created_at=group.created_at,
        created_by_user_uuid=group.created_by_user_uuid,
        updated_at=group.updated_at,
        updated_by_user_uuid=group.updated_by_user_uuid,
    )


def member_out(user: User) -> GroupMemberOut:
    return GroupMemberOut(
        user_uuid=user.uuid,
        email=user.email or "",
        first_name=user.first_name,
        last_name=user.last_name,
    )


def with_members(group: Group, members: list[User]) -> GroupWithMembersOut:
    return GroupWithMembersOut(
        **dict(group_out(group)),
        members=[member_out(u) for u in members],
        member_uuids=[u.uuid for u in members],
    )


def _members_of(session: Session, group: Group) -> list[User]:
    return [user for _g, user in repository.members(session, [group.uuid])]


# -- groups ------------------------------------------------------------------------------


def list_groups(session: Session, principal: Principal, request: GroupListRequest) -> GroupPage:
    """The organization's groups by name, one page (`page`) or all of them, as `{data, pagination}`.

    Rules: without `view:Group` no group is visible (an empty list, as in
    Lightdash); `searchQuery` matches part of a name; `includeMembers` adds
    every group's members (one query for the page).
    """
    organization_uuid = principal.organization_uuid
    if not access.allows_org(principal, "view", "Group"):
        rows: list[Group] = []
        total = 0
    elif request.page is None:
        rows = repository.groups(session, organization_uuid, search=request.search)
        total = len(rows)
    else:
        rows = repository.groups(
            session,
            organization_uuid,
            search=request.search,
            limit=request.page_size,
            offset=(request.page - 1) * request.page_size,
        )
        total = repository.group_count(session, organization_uuid, search=request.search)
    if request.page is None:
        pagination = Pagination(
            page=1, page_size=total, total_page_count=1 if total else 0, total_results=total
        )
    else:
        pagination = Pagination(
            page=request.page,
            page_size=request.page_size,
            total_page_count=math.ceil(total / request.page_size),
            total_results=total,
        )
    data: list[GroupWithMembersOut] | list[GroupOut]
    if request.include_members:
        by_group: dict[str, list[User]] = {}
        for group_uuid, user in repository.members(session, [g.uuid for g in rows]):
            by_group.setdefault(group_uuid, []).append(user)
        data = [with_members(g, by_group.get(g.uuid, [])) for g in rows]
    else:
        data = [group_out(g) for g in rows]
    return GroupPage(data=data, pagination=pagination)


def get_group(
    session: Session,
    principal: Principal,
    group_uuid: str,
    include_members: int | None,
    offset: int,
) -> GroupOut | GroupWithMembersOut:
    """One group; with `includeMembers=N`, up to N of its members from `offset` on.

    Rules: needs `view:Group`; invisible or another organization's is 404.
    """
    group = visible_group(session, principal, group_uuid)
    if include_members is None:
        return group_out(group)
    members = [
        user
        for _g, user in repository.members(
            session, [group.uuid], limit=include_members, offset=offset
        )
    ]
    return with_members(group, members)


def list_members(session: Session, principal: Principal, group_uuid: str) -> list[GroupMemberOut]:
    """A group's members by name. Rules: needs `view:Group` (404 otherwise)."""
    group = visible_group(session, principal, group_uuid)
    return [member_out(u) for u in _members_of(session, group)]


def _free_name(
    session: Session, principal: Principal, name: str, other_than: str | None = None
) -> None:
    if repository.name_taken(session, principal.organization_uuid, name, other_than=other_than):
        raise AlreadyExistsError(f"A group named {name!r} already exists: choose another name")


def create_group(session: Session, principal: Principal, body: GroupCreate) -> GroupWithMembersOut:
    """Create a group, with members if given.

    Rules: needs `manage:Group` (403); the name is unique in the organization,
    whatever its case (409); members are people of the organization (404,
    service accounts 400). A new group grants nothing yet, so no ceiling
    applies. Audited `group.created` with the member list.
    """
    access.require_org(principal, "manage", "Group")
    _free_name(session, principal, body.name)
    members = _people(session, principal, [m.user_uuid for m in body.members or []], "members")
    now = utcnow()
    group = Group(
        organization_uuid=principal.organization_uuid,
        name=body.name,
        created_at=now,
        created_by_user_uuid=principal.user_uuid,
        updated_at=now,
        updated_by_user_uuid=principal.user_uuid,
    )
    if not repository.insert_once(session, group):
        raise AlreadyExistsError(f"A group named {body.name!r} already exists: choose another name")
    for user in members:
        repository.add_member(session, group.uuid, user.uuid)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.GROUP_CREATED,
        target=_target(group),
        details={"name": group.name, "memberUuids": [u.uuid for u in members]},
    )
    log.info("group.created", group_uuid=group.uuid, members=len(members))
    return with_members(group, _members_of(session, group))


def _audit_member(
    session: Session, principal: Principal, group: Group, user: User, action: AuditAction
) -> None:
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=action,
        target=_target(group),
        details={"userUuid": user.uuid, "userName": user_label(user)},
    )


def update_group(
    session: Session, principal: Principal, group_uuid: str, body: GroupUpdate
) -> GroupWithMembersOut:
    """Rename a group and/or replace its member list.

    Rules: needs `manage:Group` (404 invisible, 403); a new name is unique
    (409); new members are people of the organization (404, service accounts
    400); changing who is a member needs the group ceiling (403). Audited
    `group.updated` (name before/after) and one `group.member_added` /
    `group.member_removed` per member.
    """
    group = managed_group(session, principal, group_uuid)
    changed = False
    if body.name is not None and body.name != group.name:
        _free_name(session, principal, body.name, other_than=group.uuid)
        before = group.name
        if not repository.rename(session, group, body.name):
            raise AlreadyExistsError(
                f"A group named {body.name!r} already exists: choose another name"
            )
        _touch(group, principal)
        session.flush()
        record(
            session,
            organization_uuid=principal.organization_uuid,
            actor=principal,
            action=AuditAction.GROUP_UPDATED,
            target=_target(group),
            details=changes({"name": before}, {"name": group.name}),
        )
        changed = True
    if body.members is not None:
        wanted = _people(session, principal, [m.user_uuid for m in body.members], "members")
        current = {u.uuid: u for u in _members_of(session, group)}
        added = [u for u in wanted if u.uuid not in current]
        removed = [u for uuid, u in current.items() if uuid not in {w.uuid for w in wanted}]
        if added or removed:
            require_may_pass_on(session, principal, group)
        for user in added:
            if repository.add_member(session, group.uuid, user.uuid):
                _audit_member(session, principal, group, user, AuditAction.GROUP_MEMBER_ADDED)
        for user in removed:
            if not repository.remove_member(session, group.uuid, user.uuid):
                continue  # a concurrent request removed them first
            _audit_member(session, principal, group, user, AuditAction.GROUP_MEMBER_REMOVED)
        if added or removed:
            _touch(group, principal)
            changed = True
    if changed:
        session.flush()
        log.info("group.updated", group_uuid=group.uuid)
    return with_members(group, _members_of(session, group))


def delete_group(session: Session, principal: Principal, group_uuid: str) -> None:
    """Delete a group: its members lose what it granted on their next request.

    Rules: needs `manage:Group` (404 invisible, 403) and the group ceiling
    (403). Audited `group.deleted` with its members and project access.
    """
    group = managed_group(session, principal, group_uuid)
    require_may_pass_on(session, principal, group)
    details: dict[str, Any] = {
        "name": group.name,
        "memberUuids": sorted(repository.member_uuids(session, group.uuid)),
        "projectAccess": [
            {"projectUuid": row.project_uuid, "role": row.role, "roleUuid": row.role_uuid}
            for row, _project in repository.project_accesses_of_group(session, group.uuid)
        ],
    }
    audit_target = _target(group)
    repository.delete_group(session, group)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.GROUP_DELETED,
        target=audit_target,
        details=details,
    )
    log.info("group.deleted", group_uuid=group_uuid)


def add_member(session: Session, principal: Principal, group_uuid: str, user_uuid: str) -> None:
    """Add a person to a group (already a member: nothing changes).

    Rules: needs `manage:Group` (404 invisible, 403); a person of the
    organization (404; a service account is 400); the group ceiling (403).
    Audited `group.member_added`.
    """
    group = managed_group(session, principal, group_uuid)
    (user,) = _people(session, principal, [user_uuid], "userUuid")
    if repository.membership(session, group.uuid, user.uuid) is not None:
        return
    require_may_pass_on(session, principal, group)
    if not repository.add_member(session, group.uuid, user.uuid):
        return
    _touch(group, principal)
    _audit_member(session, principal, group, user, AuditAction.GROUP_MEMBER_ADDED)
    log.info("group.member_added", group_uuid=group.uuid, user_uuid=user.uuid)


def remove_member(session: Session, principal: Principal, group_uuid: str, user_uuid: str) -> None:
    """Take a person out of a group.

    Rules: needs `manage:Group` (404 invisible, 403); the person is a member
    (404 otherwise); the group ceiling (403). Audited `group.member_removed`.
    """
    group = managed_group(session, principal, group_uuid)
    row = repository.membership(session, group.uuid, user_uuid)
    user = session.get(User, user_uuid) if row is not None else None
    if row is None or user is None:
        raise NotFoundError("This user is not a member of the group")
    require_may_pass_on(session, principal, group)
    if not repository.remove_member(session, group.uuid, user.uuid):
        raise NotFoundError("This user is not a member of the group")
    _touch(group, principal)
    _audit_member(session, principal, group, user, AuditAction.GROUP_MEMBER_REMOVED)
    log.info("group.member_removed", group_uuid=group.uuid, user_uuid=user_uuid)


# -- project access --------------------------------------------------------------------------


def list_project_group_accesses(
    session: Session, principal: Principal, project_uuid: str
) -> list[ProjectGroupAccessOut]:
    """The groups given a system role on a project (v1's shape has no room for a custom role:
    the v2 assignment list shows those). Rules: `view:Project` (404 otherwise)."""
    project, _target = tenancy.visible_project(session, principal, project_uuid)
    return [
        project_access_out(row)
        for row in repository.project_accesses_of_project(session, project.uuid)
        if row.role is not None
    ]


def _role_of(session: Session, principal: Principal, row: ProjectGroupAccess) -> ProjectRole:
    """The role, system or custom, a group's project access names."""
    return membership.stored_project_role(session, principal, row.role, row.role_uuid)


def _audit_project_access(
    session: Session,
    principal: Principal,
    group: Group,
    project: Project,
    action: AuditAction,
    before: dict[str, str | None],
    after: dict[str, str | None],
) -> None:
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=action,
        target=_target(group),
        details={
            "projectUuid": project.uuid,
            "projectName": project.name,
            **changes(before, after),
        },
    )


NO_ROLE: dict[str, str | None] = {"role": None, "roleUuid": None}


def _held(row: ProjectGroupAccess) -> dict[str, str | None]:
    return {"role": row.role, "roleUuid": row.role_uuid}


def set_project_access(
    session: Session,
    principal: Principal,
    group_uuid: str,
    project_uuid: str,
    role: str | ProjectRole,
    *,
    existing: Literal["refuse", "require", "replace"],
) -> ProjectGroupAccess:
    """Give a group a project role (`existing="refuse"`: v1 POST), change it (`"require"`: v1
    PATCH), or either (`"replace"`: v1 PUT, the v2 assignment). `role` is a system role name
    (v1) or a role the v2 `roleId` named (system or custom).

    Rules: the group is visible (404); the project is visible (404) and the
    caller holds `manage:Project` on it (403); a name is a project role (400);
    then those of any project assignment (`membership.require_may_assign`: the
    group's current role there within the caller's reach — the acting-on rule —
    and the new one within what the caller holds on the project, 403); with
    "refuse" a group that has a role there is 409, with "require" one that has
    none is 404. Audited `project.group_access_changed` (role/roleUuid
    before/after; a new access's before is null) when something changed.
    """
    group = visible_group(session, principal, group_uuid)
    project, target = membership.managed_project(session, principal, project_uuid)
    new_role = membership.system_project_role(role) if isinstance(role, str) else role
    row = repository.project_access(session, project.uuid, group.uuid)
    if row is None and existing == "require":
        raise NotFoundError("This group has no role on this project: add one with POST")
    if row is not None and existing == "refuse":
        raise AlreadyExistsError(
            f"The group {group.name!r} already has a role on this project: change it with PATCH"
        )
    holder = None
    if row is not None:
        holder = membership.holding_on_project(project.uuid, _role_of(session, principal, row))
    membership.require_may_assign(principal, target, new_role, holder=holder)
    before = _held(row) if row is not None else NO_ROLE
    if row is None:
        row = ProjectGroupAccess(
            project_uuid=project.uuid,
            group_uuid=group.uuid,
            role=new_role.role,
            role_uuid=new_role.role_uuid,
        )
        if not repository.insert_once(session, row):
            raise AlreadyExistsError(
                f"The group {group.name!r} was given a role on this project meanwhile: try again"
            )
    else:
        row.role, row.role_uuid = new_role.role, new_role.role_uuid
        session.flush()
    if before != _held(row):
        _audit_project_access(
            session,
            principal,
            group,
            project,
            AuditAction.PROJECT_GROUP_ACCESS_CHANGED,
            before,
            _held(row),
        )
        log.info("project.group_access_changed", project_uuid=project.uuid, group_uuid=group.uuid)
    return row


def project_access_out(row: ProjectGroupAccess) -> ProjectGroupAccessOut:
    return ProjectGroupAccessOut(
        project_uuid=row.project_uuid, group_uuid=row.group_uuid, role=row.role
    )


def remove_project_access(
    session: Session, principal: Principal, group_uuid: str, project_uuid: str
) -> None:
    """Take a group's role on a project away.

    Rules: as for giving one (404, 403); the group has a role there (404);
    that role within what the caller holds on the project (the acting-on rule,
    403). Audited `project.group_access_removed`.
    """
    group = visible_group(session, principal, group_uuid)
    project, target = membership.managed_project(session, principal, project_uuid)
    row = repository.project_access(session, project.uuid, group.uuid)
    if row is None:
        raise NotFoundError("This group has no role on this project")
    access.require_may_act_on(
        principal,
        membership.holding_on_project(project.uuid, _role_of(session, principal, row)),
        project=target,
    )
    before = _held(row)
    repository.remove_project_access(session, project.uuid, group.uuid)
    _audit_project_access(
        session,
        principal,
        group,
        project,
        AuditAction.PROJECT_GROUP_ACCESS_REMOVED,
        before,
        NO_ROLE,
    )
    log.info("project.group_access_removed", project_uuid=project.uuid, group_uuid=group.uuid)


def assign_project_role(
    session: Session,
    principal: Principal,
    project_uuid: str,
    group_uuid: str,
    role_id: str | None,
    *,
    existing: Literal["replace", "require"] = "replace",
) -> RoleAssignmentOut:
    """`POST|PATCH /api/v2/projects/{p}/roles/assignments/group/{g}`: give or replace (POST), or
    change (PATCH) a group's role, a system project role or a custom role.

    Rules: `roleId` as for a person (`membership.project_role_id`, 400, after
    the project's 404/403; a roleUuid of a custom role of the organization, 404
    otherwise; only its project scopes apply); then those of `set_project_access`.
    """
    membership.managed_project(session, principal, project_uuid)
    role_id = membership.project_role_id(role_id)
    visible_group(session, principal, group_uuid)
    role = membership.project_role(session, principal, role_id)
    row = set_project_access(session, principal, group_uuid, project_uuid, role, existing=existing)
    group = session.get(Group, row.group_uuid)
    assert group is not None  # looked up just before, in this transaction
    return group_assignment_out(row, group, role.name, updated_at=utcnow())


def group_assignment_out(
    row: ProjectGroupAccess, group: Group, role_name: str, *, updated_at: datetime | None = None
) -> RoleAssignmentOut:
    """A group's project access as Lightdash's `RoleAssignment`."""
    return RoleAssignmentOut(
        role_id=row.role_uuid or row.role or "",
        role_name=role_name,
        owner_type="user" if row.role_uuid else "system",
        assignee_type="group",
        assignee_id=group.uuid,
        assignee_name=group.name,
        project_id=row.project_uuid,
        created_at=row.created_at,
        updated_at=updated_at or row.created_at,
    )


def list_project_assignments(
    session: Session, principal: Principal, project_uuid: str
) -> list[RoleAssignmentOut]:
    """`GET /api/v2/projects/{p}/roles/assignments`: who holds which role on the project, people
    (explicit memberships) first, then groups, as Lightdash's `RoleAssignment` list.

    Rules: who may change the assignments may list them: the project is visible
    (404) and the caller holds `manage:Project` on it (403); access coming from
    organization roles is not listed.
    """
    project, _target = membership.managed_project(session, principal, project_uuid)
    names = roles_service.role_names(session, principal)
    groups = [
        group_assignment_out(
            row,
            group,
            names.get(row.role_uuid, "") if row.role_uuid else ROLE_LABELS[row.role or ""],
        )
        for row, group in repository.project_accesses_with_groups(session, project.uuid)
    ]
    return membership.project_user_assignments(session, project, names) + groups


# -- space shares ---------------------------------------------------------------------------


def _audit_space_share(
    session: Session,
    principal: Principal,
    space_uuid: str,
    space_name: str,
    group: Group,
    action: AuditAction,
    before: str | None,
    after: str | None,
) -> None:
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=action,
        target=Target(TargetType.SPACE, space_uuid, space_name),
        details={
            "groupUuid": group.uuid,
            "groupName": group.name,
            **changes({"role": before}, {"role": after}),
        },
    )


def share_space(
    session: Session,
    principal: Principal,
    project_uuid: str,
    space_uuid: str,
    body: SpaceGroupShareIn,
) -> SpaceOut:
    """Give a group a role in a root space (or change it): each member holds it there.

    Rules: as sharing with a person (`content.spaces.shareable_space`: 404,
    403, nested 400); the group is visible to the caller (404). Audited
    `space.group_shared` when something changed.
    """
    space, _target = content_spaces.shareable_space(session, principal, project_uuid, space_uuid)
    group = visible_group(session, principal, body.group_uuid)
    row = repository.space_share(session, space.uuid, group.uuid)
    before = row.role if row is not None else None
    if row is None:
        session.add(
            SpaceGroupShare(space_uuid=space.uuid, group_uuid=group.uuid, role=body.space_role)
        )
    else:
        row.role = body.space_role
    session.flush()
    if before != body.space_role:
        _audit_space_share(
            session,
            principal,
            space.uuid,
            space.name,
            group,
            AuditAction.SPACE_GROUP_SHARED,
            before,
            body.space_role,
        )
    _space, target = tenancy.visible_space(session, principal, space.uuid, project_uuid)
    return content_spaces.space_out(session, space, target)


def unshare_space(
    session: Session, principal: Principal, project_uuid: str, space_uuid: str, group_uuid: str
) -> None:
    """Take a group's role in a root space away.

    Rules: as for sharing; the group is visible (404) and has a role in the
    space (404). Audited `space.group_unshared`.
    """
    space, _target = content_spaces.shareable_space(session, principal, project_uuid, space_uuid)
    group = visible_group(session, principal, group_uuid)
    row = repository.space_share(session, space.uuid, group.uuid)
    if row is None:
        raise NotFoundError("This group has no access to the space")
    before = row.role
    repository.remove_space_share(session, space.uuid, group.uuid)
    _audit_space_share(
        session,
        principal,
        space.uuid,
        space.name,
        group,
        AuditAction.SPACE_GROUP_UNSHARED,
        before,
        None,
    )
