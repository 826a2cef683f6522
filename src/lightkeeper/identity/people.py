"""The rules of people: organizations and the people in them, passwords, offboarding.

Emails are unique per instance and compared lower-cased; an organization's
first person is its admin; an organization comes into being only with that
admin (`create_organization_with_admin`), whichever way in (registration,
LD_SETUP_*, `lightkeeper users create`).
"""

from __future__ import annotations

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Actor, Target, record
from lightkeeper.auth.roles import ORG_ROLES
from lightkeeper.identity import repository
from lightkeeper.identity.attribution import user_label
from lightkeeper.kit.errors import AlreadyExistsError, ParameterError
from lightkeeper.models import Organization, User
from lightkeeper.personal_token import repository as personal_token_repository
from lightkeeper.runtime import Runtime

log = structlog.get_logger()


def validate_role(role: str, *, field: str = "role") -> str:
    if role not in ORG_ROLES:
        raise ParameterError(
            f"Unknown role {role!r}: use one of {', '.join(ORG_ROLES)}",
            {"fields": {field: "unknown role"}},
        )
    return role


def validate_password(runtime: Runtime, password: str, *, field: str = "password") -> None:
    if len(password) < runtime.passwords.MIN_LENGTH:
        raise ParameterError(
            f"Password must be at least {runtime.passwords.MIN_LENGTH} characters long",
            {"fields": {field: "too short"}},
        )


def normalize_email(email: str) -> str:
    """Emails are compared lower-cased and trimmed; refuse what cannot be an address."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise ParameterError(
            f"{email!r} is not a valid email address", {"fields": {"email": "invalid"}}
        )
    return email


def create_organization(session: Session, name: str, default_role: str = "viewer") -> Organization:
    """A new organization. Names are unique per instance."""
    name = name.strip()
    if not name:
        raise ParameterError(
            "Organization name is required", {"fields": {"organizationName": "required"}}
        )
    validate_role(default_role, field="defaultRole")
    if repository.organization_by_name(session, name) is not None:
        raise AlreadyExistsError(f"An organization named {name!r} already exists")
    organization = Organization(name=name, default_role=default_role)
    session.add(organization)
    session.flush()
    return organization


def create_user(
    runtime: Runtime,
    session: Session,
    organization: Organization,
    *,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
) -> User:
    """A person in `organization`. Emails are unique per instance; the first person is admin."""
    email = normalize_email(email)
    validate_role(role)
    if repository.user_by_email(session, email) is not None:
        raise AlreadyExistsError(f"A user with email {email} already exists")
    if repository.human_count(session, organization.uuid) == 0:
        _require_admin_first(organization.name, role)
    if password is not None:
        validate_password(runtime, password)
    user = User(
        organization_uuid=organization.uuid,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=role,
        password_hash=runtime.passwords.hash(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    return user


def _require_admin_first(organization_name: str, role: str) -> None:
    if role != "admin":
        raise ParameterError(
            f"The first user of {organization_name!r} must be an admin",
            {"fields": {"role": "must be admin"}},
        )


def actor_of(user: User) -> Actor:
    """A person acting as themselves (logging in, registering), as the audit log names them."""
    return Actor("user", user.uuid, user_label(user))


def create_organization_with_admin(
    runtime: Runtime,
    session: Session,
    *,
    organization_name: str,
    default_role: str = "viewer",
    email: str,
    first_name: str = "",
    last_name: str = "",
    password: str | None,
    actor: Actor | None,
    via: str,
) -> tuple[Organization, User]:
    """A new organization with its first admin: the one way an organization comes into being.

    Rules: as `create_organization` and `create_user`; audited as
    `organization.created` then `user.created`, both by `actor` (None: by the
    new admin themself, as in a first registration) with `via` naming the way
    in (first registration, setup, cli).
    """
    organization = create_organization(session, organization_name, default_role=default_role)
    admin = create_user(
        runtime,
        session,
        organization,
        email=email,
        role="admin",
        first_name=first_name,
        last_name=last_name,
        password=password,
    )
    by = actor or actor_of(admin)
    record(
        session,
        organization_uuid=organization.uuid,
        actor=by,
        action=AuditAction.ORGANIZATION_CREATED,
        target=Target(TargetType.ORGANIZATION, organization.uuid, organization.name),
        details={"name": organization.name, "defaultRole": organization.default_role, "via": via},
    )
    _record_user_created(session, admin, by, via)
    return organization, admin


def add_person(
    runtime: Runtime,
    session: Session,
    *,
    organization_name: str,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    password: str | None,
    actor: Actor,
    via: str,
) -> tuple[Organization, User]:
    """Add a person to the organization named, creating it (with them as its first admin) if absent.

    Rules: as `create_organization_with_admin` for a new organization (so the
    role must be admin), else as `create_user`; audited as `user.created` by
    `actor`.
    """
    validate_role(role)
    organization = repository.organization_by_name(session, organization_name.strip())
    if organization is None:
        _require_admin_first(organization_name.strip(), role)
        return create_organization_with_admin(
            runtime,
            session,
            organization_name=organization_name,
            email=email,
            first_name=first_name,
            last_name=last_name,
            password=password,
            actor=actor,
            via=via,
        )
    user = create_user(
        runtime,
        session,
        organization,
        email=email,
        role=role,
        first_name=first_name,
        last_name=last_name,
        password=password,
    )
    _record_user_created(session, user, actor, via)
    return organization, user


def _record_user_created(session: Session, user: User, actor: Actor, via: str) -> None:
    record(
        session,
        organization_uuid=user.organization_uuid,
        actor=actor,
        action=AuditAction.USER_CREATED,
        target=Target(TargetType.USER, user.uuid, user.email or ""),
        details={"role": user.role, "via": via, "hasPassword": user.password_hash is not None},
    )


def set_password(runtime: Runtime, session: Session, user: User, password: str) -> None:
    """Store a new password (argon2id). Rules: at least 8 characters."""
    validate_password(runtime, password, field="newPassword")
    user.password_hash = runtime.passwords.hash(password)


def offboard_user(session: Session, user: User) -> None:
    """Cut a person off at once: end every session and revoke every personal token.

    Rules: for member removal; the next request with any of their credentials
    is a 401. Service accounts they created are untouched (that is the point of
    service accounts) and keep naming them as creator.
    """
    repository.end_sessions(session, user.uuid)
    personal_token_repository.revoke_personal_tokens(session, user.uuid)
    log.info("user.offboarded", user_uuid=user.uuid, organization_uuid=user.organization_uuid)
