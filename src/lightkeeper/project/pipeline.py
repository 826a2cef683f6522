"""What `lightdash deploy` sends besides the explores: tags, parameters, batched deploys, previews.

- Tags from YAML (`PUT /api/v1/projects/{p}/tags/yaml`) replace the project's
  YAML tags; tags made elsewhere (no `yamlReference`) are kept.
- Parameters (`PUT /api/v2/projects/{p}/parameters`) replace the project's.
- A batched deploy stages explores in a session (`deploy_sessions`,
  `deploy_batches`) and changes the project only at finalize, in one
  transaction, through the same `replace_project_explores` as a plain deploy:
  a session that never finalizes changes nothing, and expires.
- A preview may carry an expiry (`PATCH …/preview-expiration`, or
  `expiresInHours` at creation); past it the preview is not found anywhere
  (authz.tenancy) and the organization's next project creation deletes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Actor, Target, changes, record
from lightkeeper.auth.principal import Principal
from lightkeeper.authz import access, tenancy
from lightkeeper.identity.attribution import ref, user_refs
from lightkeeper.kit.clock import iso, utcnow
from lightkeeper.kit.errors import NotFoundError, ParameterError
from lightkeeper.models import DeploySession, Project, ProjectTag
from lightkeeper.project import repository
from lightkeeper.project.schemas import TagIn, TagOut
from lightkeeper.project.service import parse_explores, replace_project_explores

log = structlog.get_logger()

DEPLOY_SESSION_LIFETIME = timedelta(hours=1)
MAX_PARAMETERS = 1000


def _deployable(session: Session, principal: Principal, project_uuid: str) -> Project:
    project, target = tenancy.visible_project(session, principal, project_uuid)
    access.require(access.allows(principal, "manage", "DeployProject", project=target))
    return project


# -- tags ----------------------------------------------------------------------


def list_tags(session: Session, principal: Principal, project_uuid: str) -> list[TagOut]:
    """The project's tags, by name. Rules: needs `view:Project`."""
    project, _target = tenancy.visible_project(session, principal, project_uuid)
    tags = repository.tags(session, project.uuid)
    people = user_refs(session, (t.created_by_user_uuid for t in tags))
    return [
        TagOut(
            tag_uuid=t.uuid,
            project_uuid=t.project_uuid,
            name=t.name,
            color=t.color,
            created_at=t.created_at,
            yaml_reference=t.yaml_reference,
            created_by=ref(people, t.created_by_user_uuid),
        )
        for t in tags
    ]


def replace_yaml_tags(
    session: Session, principal: Principal, project_uuid: str, items: list[TagIn]
) -> None:
    """Make the project's YAML tags exactly `items` (matched by `yamlReference`).

    Rules: needs `manage:DeployProject`; a `yamlReference` given twice is a 400;
    tags without a YAML reference are untouched; audited when anything changed.
    """
    project = _deployable(session, principal, project_uuid)
    wanted: dict[str, TagIn] = {}
    for position, item in enumerate(items):
        if item.yaml_reference in wanted:
            raise ParameterError(
                f"Tag yamlReference {item.yaml_reference!r} appears more than once",
                {"fields": {f"{position}.yamlReference": "duplicate"}},
            )
        wanted[item.yaml_reference] = item
    current = {
        t.yaml_reference: t for t in repository.tags(session, project.uuid) if t.yaml_reference
    }
    added = [r for r in wanted if r not in current]
    removed = [r for r in current if r not in wanted]
    updated = [
        r
        for r in wanted
        if r in current and (current[r].name, current[r].color) != (wanted[r].name, wanted[r].color)
    ]
    if not (added or removed or updated):
        return
    for reference in removed:
        session.delete(current[reference])
    for reference in updated:
        current[reference].name = wanted[reference].name
        current[reference].color = wanted[reference].color
    session.flush()  # deletions first: a tag removed and re-added must not clash
    session.add_all(
        ProjectTag(
            project_uuid=project.uuid,
            name=wanted[r].name,
            color=wanted[r].color,
            yaml_reference=r,
            created_by_user_uuid=principal.user_uuid,
            created_at=utcnow(),
        )
        for r in added
    )
    session.flush()
    record(
        session,
        organization_uuid=project.organization_uuid,
        actor=principal,
        action=AuditAction.PROJECT_TAGS_REPLACED,
        target=Target(TargetType.PROJECT, project.uuid, project.name),
        details={"added": sorted(added), "updated": sorted(updated), "removed": sorted(removed)},
    )


# -- parameters ----------------------------------------------------------------


def get_parameters(session: Session, principal: Principal, project_uuid: str) -> dict[str, Any]:
    """The project's parameters by name (`{}` when none were deployed). Rules: `view:Project`."""
    project, _target = tenancy.visible_project(session, principal, project_uuid)
    stored = repository.parameters(session, project.uuid)
    return dict(stored.parameters) if stored is not None else {}


def replace_parameters(
    session: Session, principal: Principal, project_uuid: str, body: Any
) -> None:
    """Store the project's parameters as deployed (`lightdash.config.yml` → `parameters`).

    Rules: needs `manage:DeployProject`; the body is an object whose keys are
    non-empty names (at most 255 characters, at most 1000 of them) and whose
    values are objects (400 naming the parameter); audited when they changed.
    """
    project = _deployable(session, principal, project_uuid)
    if not isinstance(body, dict):
        raise ParameterError(
            "Parameters must be an object of parameter name to its definition",
            {"fields": {"body": "expected an object"}},
        )
    if len(body) > MAX_PARAMETERS:
        raise ParameterError(
            f"At most {MAX_PARAMETERS} parameters", {"fields": {"body": "too many"}}
        )
    for name, definition in body.items():
        if not name.strip() or len(name) > 255:
            raise ParameterError(
                "Parameter names must be 1 to 255 characters", {"fields": {name[:64]: "bad name"}}
            )
        if not isinstance(definition, dict):
            raise ParameterError(
                f"Parameter {name!r} must be an object (label, options, default, …)",
                {"fields": {name: "expected an object"}},
            )
    before = get_parameters(session, principal, project_uuid)
    if before == body:
        return
    repository.store_parameters(session, project.uuid, body, utcnow())
    record(
        session,
        organization_uuid=project.organization_uuid,
        actor=principal,
        action=AuditAction.PROJECT_PARAMETERS_REPLACED,
        target=Target(TargetType.PROJECT, project.uuid, project.name),
        details={"before": sorted(before), "after": sorted(body)},
    )


# -- batched deploy ------------------------------------------------------------


def start_deploy_session(session: Session, principal: Principal, project_uuid: str) -> str:
    """Open a deploy session on the project; its uuid.

    Rules: needs `manage:DeployProject`; expired sessions of the project are
    deleted first; a session lives one hour.
    """
    project = _deployable(session, principal, project_uuid)
    now = utcnow()
    repository.delete_expired_deploy_sessions(session, project.uuid, now)
    deploy = DeploySession(
        project_uuid=project.uuid,
        principal_user_uuid=principal.user_uuid,
        status="uploading",
        created_at=now,
        expires_at=now + DEPLOY_SESSION_LIFETIME,
    )
    session.add(deploy)
    session.flush()
    log.info("project.deploy_session_started", project_uuid=project.uuid, session=deploy.uuid)
    return deploy.uuid


def _open_session(
    session: Session, principal: Principal, project: Project, session_uuid: str
) -> DeploySession:
    """The caller's open session on this project.

    Rules: a session of another project or another principal, or an unknown
    one, is 404; a finalized or expired one is a 400 saying to start again.
    """
    deploy = repository.deploy_session(session, session_uuid)
    if (
        deploy is None
        or deploy.project_uuid != project.uuid
        or deploy.principal_user_uuid != principal.user_uuid
    ):
        raise NotFoundError("Deploy session not found for this project")
    if deploy.status != "uploading":
        raise ParameterError(
            "This deploy session is already finalized: start a new deploy session",
            {"fields": {"sessionUuid": "finalized"}},
        )
    if deploy.expires_at <= utcnow():
        raise ParameterError(
            f"This deploy session expired at {iso(deploy.expires_at)}: start a new deploy session",
            {"fields": {"sessionUuid": "expired"}},
        )
    return deploy


def add_deploy_batch(
    session: Session,
    principal: Principal,
    project_uuid: str,
    session_uuid: str,
    explores: list[Any],
    batch_number: int,
) -> int:
    """Stage one batch of explores; how many it holds.

    Rules: as `start_deploy_session`, on the caller's open session of this
    project (404/400); the explores are validated as a deploy's (400); sending
    a batch number again replaces that batch (a retried request); nothing of
    the project changes.
    """
    project = _deployable(session, principal, project_uuid)
    deploy = _open_session(session, principal, project, session_uuid)
    parsed = parse_explores(explores)
    repository.store_deploy_batch(session, deploy.uuid, batch_number, parsed, utcnow())
    return len(parsed)


def finalize_deploy_session(
    session: Session, principal: Principal, project_uuid: str, session_uuid: str
) -> int:
    """Replace the project's explores with every staged batch, in batch order; the count.

    Rules: as `add_deploy_batch`; a session with no batch is a 400 (finalizing
    it would delete every explore); explore names must be unique across
    batches (400); the deploy is audited as any deploy; the session is closed.
    """
    project = _deployable(session, principal, project_uuid)
    deploy = _open_session(session, principal, project, session_uuid)
    batches = repository.deploy_batches(session, deploy.uuid)
    if not batches:
        raise ParameterError(
            "This deploy session has no batches: send the explores with …/batch before finalizing",
            {"fields": {"sessionUuid": "no batches"}},
        )
    explores = parse_explores([e for batch in batches for e in batch.explores])
    count = replace_project_explores(session, principal, project, explores)
    deploy.status = "completed"
    repository.delete_deploy_batches(session, deploy.uuid)
    return count


# -- preview expiry ------------------------------------------------------------


def expiry_in(hours: float) -> datetime:
    return utcnow() + timedelta(hours=hours)


def set_preview_expiration(
    session: Session, principal: Principal, project_uuid: str, hours: float
) -> datetime:
    """Make a preview expire `hours` from now; the new expiry.

    Rules: needs `update:Project` (`@self` on previews the caller created);
    only a PREVIEW expires (400 for a DEFAULT project); audited.
    """
    project, target = tenancy.visible_project(session, principal, project_uuid)
    access.require(access.allows(principal, "update", "Project", project=target))
    if project.type != "PREVIEW":
        raise ParameterError(
            "Only preview projects expire: this is a DEFAULT project",
            {"fields": {"projectUuid": "not a preview"}},
        )
    before = iso(project.expires_at) if project.expires_at else None
    project.expires_at = expiry_in(hours)
    session.flush()
    record(
        session,
        organization_uuid=project.organization_uuid,
        actor=principal,
        action=AuditAction.PROJECT_UPDATED,
        target=Target(TargetType.PROJECT, project.uuid, project.name),
        details=changes({"expiresAt": before}, {"expiresAt": iso(project.expires_at)}),
    )
    return project.expires_at


def delete_expired_previews(session: Session, organization_uuid: str) -> int:
    """Delete the organization's previews past their expiry; how many.

    Audited as `project.deleted` by the system (`reason: expired`).
    """
    now = utcnow()
    expired = repository.expired_previews(session, organization_uuid, now)
    for project in expired:
        label, uuid, expires_at = project.name, project.uuid, project.expires_at
        repository.delete_project(session, project)
        record(
            session,
            organization_uuid=organization_uuid,
            actor=Actor("system", None, "Preview expiry"),
            action=AuditAction.PROJECT_DELETED,
            target=Target(TargetType.PROJECT, uuid, label),
            details={
                "type": "PREVIEW",
                "reason": "expired",
                "expiresAt": iso(expires_at) if expires_at else None,
            },
        )
        log.info("project.preview_expired", project_uuid=uuid)
    return len(expired)
