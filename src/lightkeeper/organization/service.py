"""The rules of the organization: its settings, its member list, its projects.

Changing who holds which role (and removing a member) is `membership/service.py`.

Services never commit; the request commits once. Organization-level decisions
go through `authz.access.allows_org`, project ones through `authz.access.allows`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import org_role_scopes
from lightkeeper.authz import access, tenancy
from lightkeeper.jobs import service as jobs
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import AlreadyExistsError, NotFoundError, ParameterError
from lightkeeper.membership import repository as membership_repository
from lightkeeper.membership.schemas import MemberGroupOut, MemberOut
from lightkeeper.membership.service import validate_org_role
from lightkeeper.models import Organization, Project
from lightkeeper.organization import repository
from lightkeeper.organization.schemas import (
    MemberPage,
    OrganizationUpdate,
    Pagination,
    ProjectCreate,
)
from lightkeeper.project import pipeline
from lightkeeper.project import service as project_service
from lightkeeper.reads import Reads
from lightkeeper.runtime import Runtime

log = structlog.get_logger()

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_PAGE = 1_000_000  # keeps the offset, (page - 1) * pageSize, inside 64 bits


# -- the organization --------------------------------------------------------------


def get_organization(session: Session, principal: Principal) -> Organization:
    """The principal's organization. Rules: needs `view:Organization`."""
    access.require_org(principal, "view", "Organization")
    organization = repository.organization(session, principal.organization_uuid)
    if organization is None:  # deleted under a live credential
        raise NotFoundError("Organization not found")
    return organization


def update_organization(
    session: Session, principal: Principal, body: OrganizationUpdate
) -> Organization:
    """Rename the organization and/or change its default role.

    Rules: needs `manage:Organization`; the name is non-empty and unique per
    instance (409); the default role is an org role (400) the principal could
    grant itself (the default role is a grant to everyone who joins later);
    audited with before and after.
    """
    access.require_org(principal, "manage", "Organization")
    organization = get_organization(session, principal)
    before = {"name": organization.name, "defaultRole": organization.default_role}
    fields = body.model_fields_set
    if "name" in fields:
        name = (body.name or "").strip()
        if not name:
            raise ParameterError(
                "Organization name cannot be empty", {"fields": {"name": "required"}}
            )
        if len(name) > 255:
            raise ParameterError(
                "Organization name must be at most 255 characters", {"fields": {"name": "too long"}}
            )
        if repository.other_organization_named(session, name, organization.uuid) is not None:
            raise AlreadyExistsError(f"An organization named {name!r} already exists")
        organization.name = name
    if "default_role" in fields:
        role = validate_org_role(body.default_role or "", field="defaultRole")
        access.require_org_grant_within(principal, org_role_scopes(role))
        organization.default_role = role
    try:
        session.flush()
    except IntegrityError:
        # Two renames to the same name at once: the unique index decides.
        raise AlreadyExistsError(
            f"An organization named {organization.name!r} already exists"
        ) from None
    after = {"name": organization.name, "defaultRole": organization.default_role}
    if before != after:
        record(
            session,
            organization_uuid=organization.uuid,
            actor=principal,
            action=AuditAction.ORGANIZATION_UPDATED,
            target=Target(TargetType.ORGANIZATION, organization.uuid, organization.name),
            details=changes(before, after),
        )
    return organization


# -- members -----------------------------------------------------------------------


@dataclass(frozen=True)
class PageRequest:
    page: int
    page_size: int


def parse_page(page: str | None, page_size: str | None) -> PageRequest | None:
    """`?page=&pageSize=`: pagination only when `page` is given; bad values are 400.

    Rules: 1 ≤ page ≤ 1,000,000; 1 ≤ pageSize ≤ 1000, default 100.
    """

    def positive(value: str, field: str, maximum: int | None = None) -> int:
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1 or (maximum is not None and number > maximum):
            limit = f" and at most {maximum}" if maximum else ""
            expected = f"between 1 and {maximum}" if maximum else "at least 1"
            raise ParameterError(
                f"{field} must be a whole number of at least 1{limit}",
                {"fields": {field: f"must be {expected}"}},
            )
        return number

    size = DEFAULT_PAGE_SIZE
    if page_size is not None:
        size = positive(page_size, "pageSize", MAX_PAGE_SIZE)
    if page is None:
        return None
    return PageRequest(positive(page, "page", MAX_PAGE), size)


def _member_out(
    row: repository.MemberRow, groups: list[tuple[str, str]] | None = None
) -> MemberOut:
    uuid, organization_uuid, email, first_name, last_name, role, is_active, created, updated = row
    return MemberOut(
        user_uuid=uuid,
        organization_uuid=organization_uuid,
        email=email or "",
        first_name=first_name,
        last_name=last_name,
        role=role,
        is_active=is_active,
        user_created_at=created,
        user_updated_at=updated,
        groups=None if groups is None else [MemberGroupOut(uuid=u, name=n) for u, n in groups],
    )


def _members_out(
    session: Session, rows: Sequence[repository.MemberRow], include_groups: int | None
) -> list[MemberOut]:
    """Member rows on the wire; with `includeGroups=N` (N ≥ 1, as Lightdash reads it), each with
    up to N of their groups by name (one query for the page)."""
    if not include_groups:
        return [_member_out(r) for r in rows]
    groups = repository.groups_of_members(session, [r[0] for r in rows])
    return [_member_out(r, groups.get(r[0], [])[:include_groups]) for r in rows]


def list_members(
    session: Session,
    principal: Principal,
    page: PageRequest | None,
    search: str | None = None,
    include_groups: int | None = None,
) -> MemberPage:
    """The organization's people (service-account principals are not members).

    Rules: needs `view:OrganizationMemberProfile`; always Lightdash's `{data, pagination}`:
    without a page, every member as one page (page 1, pageSize the count, 0 pages when
    there is no one); with one, that page (one query and one count).
    """
    access.require_org(principal, "view", "OrganizationMemberProfile")
    organization_uuid = principal.organization_uuid
    search = (search or "").strip() or None
    if page is None:
        rows = repository.member_rows(session, organization_uuid, search=search)
        return MemberPage(
            data=_members_out(session, rows, include_groups),
            pagination=Pagination(
                page=1,
                page_size=len(rows),
                total_page_count=1 if rows else 0,
                total_results=len(rows),
            ),
        )
    page_rows = repository.member_rows(
        session,
        organization_uuid,
        search=search,
        limit=page.page_size,
        offset=(page.page - 1) * page.page_size,
    )
    total = repository.member_count(session, organization_uuid, search=search)
    return MemberPage(
        data=_members_out(session, page_rows, include_groups),
        pagination=Pagination(
            page=page.page,
            page_size=page.page_size,
            total_page_count=math.ceil(total / page.page_size),
            total_results=total,
        ),
    )


def get_member(session: Session, principal: Principal, user_uuid: str) -> MemberOut:
    """`GET /api/v1/org/users/{userUuid}`: one member of the principal's organization.

    Rules: needs `view:OrganizationMemberProfile`; someone of another organization, a
    removed member or a service account is 404.
    """
    access.require_org(principal, "view", "OrganizationMemberProfile")
    row = repository.member_row(session, principal.organization_uuid, user_uuid)
    if row is None:
        raise NotFoundError("No member of your organization has this uuid")
    return _member_out(row)


# -- projects ----------------------------------------------------------------------


def list_projects(session: Session, principal: Principal) -> list[repository.ProjectListRow]:
    """The organization's projects the principal can view (any principal may ask).

    Plain rows (one Core query, no ORM objects, no per-row model): the API list
    and the web pages shape them as they need.
    """
    rows = repository.project_list(session, principal.organization_uuid, utcnow())
    return _visible_projects(principal, rows)


async def read_projects(reads: Reads, principal: Principal) -> list[repository.ProjectListRow]:
    """`list_projects` read on the event loop (the API list: `lightkeeper.reads`)."""
    params = {"organization_uuid": principal.organization_uuid, "now": utcnow()}
    return _visible_projects(principal, await reads.run(repository.PROJECT_LIST, params))


def _visible_projects(
    principal: Principal, rows: list[repository.ProjectListRow]
) -> list[repository.ProjectListRow]:
    if access.sees_every_project(principal):
        return rows
    return [row for row in rows if access.can_see_project(principal, tenancy.project_target(row))]


@dataclass(frozen=True)
class ProjectCreated:
    project: Project
    has_content_copy: bool
    content_copy_job_uuid: str | None


def create_project(
    runtime: Runtime, session: Session, principal: Principal, body: ProjectCreate
) -> ProjectCreated:
    """Create a project in the principal's organization.

    Rules: a DEFAULT project needs `create:Project`; a PREVIEW needs
    `upstreamProjectUuid` (400), an upstream the principal can see (404) and
    `create:Project@preview` on it (403), and copies the upstream's explores,
    connection and the spaces and content the principal can see (no shares);
    the principal is the creator and an explicit admin of a preview (and of a
    DEFAULT project it could not otherwise manage); the connection is sealed;
    the organization and creator come from the principal, never the body.
    A preview may expire (`expiresInHours`; 400 on a DEFAULT project);
    `copyContent: false` copies only the explores; with `asyncCopyContent`
    the (already finished) copy is also a completed job the client may poll.
    The organization's expired previews are deleted first.
    """
    name = project_service.clean_project_name(body.name)
    if body.expires_in_hours is not None and body.type != "PREVIEW":
        raise ParameterError(
            "Only preview projects expire: drop `expiresInHours` or create a PREVIEW",
            {"fields": {"expiresInHours": "only for PREVIEW"}},
        )
    pipeline.delete_expired_previews(session, principal.organization_uuid)
    upstream: Project | None = None
    if body.type == "PREVIEW":
        if body.upstream_project_uuid is None:
            raise ParameterError(
                "A preview project needs `upstreamProjectUuid`: the project to copy",
                {"fields": {"upstreamProjectUuid": "required for PREVIEW"}},
            )
        upstream, upstream_target = tenancy.visible_project(
            session, principal, str(body.upstream_project_uuid)
        )
        access.require(
            access.allows(
                principal, "create", "Project", project=upstream_target, creating_preview=True
            )
        )
    else:
        access.require_org(principal, "create", "Project")

    connection: str | None = None
    if body.warehouse_connection is not None:
        connection = project_service.seal_connection(runtime, body.warehouse_connection)
    elif upstream is not None:
        # A preview runs against the upstream's warehouse unless told otherwise.
        connection = upstream.warehouse_connection
    project = repository.add_project(
        session,
        Project(
            organization_uuid=principal.organization_uuid,
            name=name,
            type=body.type,
            upstream_project_uuid=upstream.uuid if upstream else None,
            created_by_user_uuid=principal.user_uuid,
            warehouse_connection=connection,
            expires_at=(
                pipeline.expiry_in(body.expires_in_hours)
                if body.expires_in_hours is not None
                else None
            ),
        ),
    )
    target = tenancy.project_target(project)
    copied: dict[str, int] = {}
    copy_content = upstream is not None and body.copy_content is not False
    if upstream is not None:
        copied = project_service.copy_into_preview(
            session, principal, upstream, project, content=copy_content
        )
    if upstream is not None or not access.allows(principal, "manage", "Project", project=target):
        membership_repository.add_membership(session, project.uuid, principal.user_uuid, "admin")
    record(
        session,
        organization_uuid=project.organization_uuid,
        actor=principal,
        action=AuditAction.PROJECT_CREATED,
        target=Target(TargetType.PROJECT, project.uuid, project.name),
        details={
            "type": project.type,
            "upstreamProjectUuid": project.upstream_project_uuid,
            **({"copied": copied} if upstream is not None else {}),
        },
    )
    log.info("project.created", project_uuid=project.uuid, type=project.type)
    job_uuid: str | None = None
    if copy_content and body.async_copy_content:
        job = jobs.record_job(
            session,
            principal,
            kind="content_copy",
            project_uuid=project.uuid,
            status="completed",
            details=copied,
        )
        job_uuid = job.uuid
    return ProjectCreated(project, copy_content, job_uuid)


def delete_project(session: Session, principal: Principal, project_uuid: str) -> None:
    """Delete a project with everything in it.

    Rules: invisible or foreign projects are 404; needs `delete:Project`, or
    `delete:Project@self` for a preview the principal created (403); previews
    of it lose their upstream reference but remain; audited.
    """
    project, target = tenancy.visible_project(session, principal, project_uuid)
    access.require(access.allows(principal, "delete", "Project", project=target))
    details = {"type": project.type, "upstreamProjectUuid": project.upstream_project_uuid}
    label = project.name
    repository.delete_project(session, project)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.PROJECT_DELETED,
        target=Target(TargetType.PROJECT, project_uuid, label),
        details=details,
    )
    log.info("project.deleted", project_uuid=project_uuid)
