"""The rules of identity: organizations, people, passwords, sessions, personal tokens.

Services never commit; the request (or the CLI command) commits once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from lightkeeper.authz.roles import ORG_ROLES
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import AlreadyExistsError, ParameterError
from lightkeeper.kit.tokens import TokenKind, check_shape, generate, hint, MalformedTokenError
from lightkeeper.models import Organization, PersonalAccessToken, User, UserSession
from lightkeeper.identity import repository
from lightkeeper.runtime import Runtime


def validate_role(role: str, *, field: str = "role") -> str:
    if role not in ORG_ROLES:
        raise ParameterError(
            f"Unknown role {role!r}: use one of {', '.join(ORG_ROLES)}", {"fields": {field: "unknown role"}}
        )
    return role


def validate_password(runtime: Runtime, password: str, *, field: str = "password") -> None:
    if len(password) < runtime.passwords.MIN_LENGTH:
        raise ParameterError(
            f"Password must be at least {runtime.passwords.MIN_LENGTH} characters long",
            {"fields": {field: "too short"}},
        )


def create_organization(session: Session, name: str, default_role: str = "viewer") -> Organization:
    """A new organization. Names are unique per instance."""
    name = name.strip()
    if not name:
        raise ParameterError("Organization name is required", {"fields": {"organizationName": "required"}})
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
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise ParameterError(f"{email!r} is not a valid email address", {"fields": {"email": "invalid"}})
    validate_role(role)
    if repository.user_by_email(session, email) is not None:
        raise AlreadyExistsError(f"A user with email {email} already exists")
    if repository.human_count(session, organization.uuid) == 0 and role != "admin":
        raise ParameterError(
            f"The first user of {organization.name!r} must be an admin", {"fields": {"role": "must be admin"}}
        )
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


def set_password(runtime: Runtime, session: Session, user: User, password: str) -> None:
    validate_password(runtime, password, field="newPassword")
    user.password_hash = runtime.passwords.hash(password)


@dataclass(frozen=True)
class NewSession:
    token: str
    expires_at: datetime


def start_session(runtime: Runtime, session: Session, user: User) -> NewSession:
    """An opaque browser-session token; only its keyed hash is stored."""
    token = secrets.token_urlsafe(32)
    key_id, digest = runtime.keyring.hash(token)
    expires_at = utcnow() + timedelta(hours=runtime.settings.cookies_max_age_hours)
    session.add(UserSession(token_hash=digest, token_key_id=key_id, user_uuid=user.uuid, expires_at=expires_at))
    return NewSession(token, expires_at)


def store_personal_token(
    runtime: Runtime,
    session: Session,
    user: User,
    *,
    description: str,
    expires_at: datetime | None,
    raw: str | None = None,
) -> tuple[PersonalAccessToken, str]:
    """Store a personal token for `user` (a fresh one unless `raw` is given); returns it with its plaintext."""
    raw = raw or generate(TokenKind.PERSONAL)
    try:
        check_shape(raw, TokenKind.PERSONAL)
    except MalformedTokenError as error:
        raise ParameterError(f"Not a valid personal access token ({error})") from None
    key_id, digest = runtime.keyring.hash(raw)
    pat = PersonalAccessToken(
        user_uuid=user.uuid,
        description=description,
        token_hash=digest,
        token_key_id=key_id,
        token_hint=hint(raw),
        expires_at=expires_at,
    )
    session.add(pat)
    session.flush()
    return pat, raw
