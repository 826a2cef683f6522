"""The rules of registration: the first organization and its admin, then people with an invite."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, record
from lightkeeper.identity import repository
from lightkeeper.identity.people import (
    actor_of,
    create_organization_with_admin,
    create_user,
    validate_password,
)
from lightkeeper.identity.sessions import NewSession, start_session
from lightkeeper.invite import service as invite_service
from lightkeeper.kit.errors import ForbiddenError, ParameterError
from lightkeeper.models import Organization, User
from lightkeeper.project.demo import create_demo_project
from lightkeeper.runtime import Runtime

log = structlog.get_logger()

REGISTRATION_NEEDS_INVITE = "Registration requires an invite"


@dataclass(frozen=True)
class Registration:
    first_name: str
    last_name: str
    email: str | None
    password: str | None
    organization_name: str | None
    invite_code: str | None
    # The first organization's demo project: None follows LIGHTKEEPER_DEMO (the API), a bool
    # is the person's choice (the /register page's box, ticked by default when the demo is on).
    demo_project: bool | None = None


def _required(value: str | None, field: str, label: str) -> str:
    if value is None or not value.strip():
        raise ParameterError(f"{label} is required", {"fields": {field: "required"}})
    return value


def register(runtime: Runtime, session: Session, form: Registration) -> tuple[User, NewSession]:
    """Register a person and start their session.

    Rules: while no organization exists, the form creates the organization and
    its first admin (and the demo project, when asked for or LIGHTKEEPER_DEMO is
    on); concurrent first registrations are serialized so exactly one
    organization comes into being. Afterwards registration needs an invite
    (403 `Registration requires an invite`), which fixes email and role and is
    consumed.
    """
    repository.lock_first_registration(session)
    if repository.organization_count(session) == 0:
        return _register_first(runtime, session, form)
    if not form.invite_code:
        raise ForbiddenError(REGISTRATION_NEEDS_INVITE)
    return _register_with_invite(runtime, session, form, form.invite_code)


def _register_first(
    runtime: Runtime, session: Session, form: Registration
) -> tuple[User, NewSession]:
    email = _required(form.email, "email", "Email")
    password = _required(form.password, "password", "Password")
    organization_name = _required(form.organization_name, "organizationName", "Organization name")
    first_name = _required(form.first_name, "firstName", "First name")
    validate_password(runtime, password)
    organization, user = create_organization_with_admin(
        runtime,
        session,
        organization_name=organization_name,
        email=email,
        first_name=first_name,
        last_name=form.last_name,
        password=password,
        actor=None,
        via="first registration",
    )
    wants_demo = runtime.settings.demo if form.demo_project is None else form.demo_project
    if wants_demo:
        create_demo_project(runtime, session, organization, user, actor_of(user))
    log.info("organization.registered", organization_uuid=organization.uuid, user_uuid=user.uuid)
    return user, start_session(runtime, session, user)


def _register_with_invite(
    runtime: Runtime, session: Session, form: Registration, invite_code: str
) -> tuple[User, NewSession]:
    invite = invite_service.open_invite(session, invite_code)
    password = _required(form.password, "password", "Password")
    first_name = _required(form.first_name, "firstName", "First name")
    organization = session.get(Organization, invite.organization_uuid)
    assert organization is not None  # foreign key
    user = create_user(
        runtime,
        session,
        organization,
        email=invite.email,
        role=invite.role,
        first_name=first_name,
        last_name=form.last_name,
        password=password,
    )
    invite_service.consume(session, invite)
    record(
        session,
        organization_uuid=organization.uuid,
        actor=actor_of(user),
        action=AuditAction.USER_CREATED,
        target=Target(TargetType.USER, user.uuid, user.email or ""),
        details={
            "role": user.role,
            "via": "invite",
            "invitedByUserUuid": invite.created_by_user_uuid,
        },
    )
    log.info("user.registered", organization_uuid=organization.uuid, user_uuid=user.uuid)
    return user, start_session(runtime, session, user)


def organization_exists(session: Session) -> bool:
    """Whether the first-run registration has happened (it creates the one organization)."""
    return repository.organization_count(session) > 0
