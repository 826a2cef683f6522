"""The rules of identity: organizations, people, passwords, sessions, personal tokens, invites.

Services never commit; the request (or the CLI command) commits once. The one
exception is a failed login, which is counted in its own short transaction so
that the 401's rollback does not erase it.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.service import Actor, Target, record
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.service import principal_for_user
from lightkeeper.authz.access import (
    grant_within_org,
    require_may_act_on,
    require_org,
    require_org_grant_within,
)
from lightkeeper.authz.grants import grants_for
from lightkeeper.authz.roles import (
    ORG_ROLES,
    org_role_scopes,
)
from lightkeeper.identity import repository
from lightkeeper.identity.attribution import user_label
from lightkeeper.kit.clock import as_utc, iso, utcnow
from lightkeeper.kit.errors import (
    AlreadyExistsError,
    AuthorizationError,
    ForbiddenError,
    NotFoundError,
    ParameterError,
    TooManyRequestsError,
)
from lightkeeper.kit.request_context import current_request
from lightkeeper.kit.tokens import MalformedTokenError, TokenKind, check_shape, generate, hint
from lightkeeper.models import InviteLink, Organization, PersonalAccessToken, User, UserSession
from lightkeeper.runtime import Runtime

log = structlog.get_logger()

LOGIN_REJECTED = "Email and password do not match"
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_PER_EMAIL = 10
LOGIN_FAILURES_PER_IP = 50
# Guessing the current password on the change-password route is guessing a login.
PASSWORD_FAILURE_KINDS = ("login", "password")

NO_SERVICE_ACCOUNT_TOKENS = "Service accounts cannot have personal access tokens"
PATS_DISABLED = "Personal access tokens are disabled on this server (PAT_ENABLED=false)"
EXPIRE_IN_FUTURE = "Expire time must be in the future"
NO_EXPIRY_NO_ROTATION = "Token with no expiration date cannot be rotated"
ROTATE_ONCE_PER_HOUR = "Token can only be rotated once per hour"
ROTATE_EVERY = timedelta(hours=1)
# A client that computes "now + N days" before sending must not miss the maximum by its own latency.
MAX_EXPIRY_SLACK = timedelta(minutes=1)

INVITE_LIFETIME = timedelta(days=7)
REGISTRATION_NEEDS_INVITE = "Registration requires an invite"


# -- people ----------------------------------------------------------------------


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
    if repository.human_count(session, organization.uuid) == 0 and role != "admin":
        raise ParameterError(
            f"The first user of {organization.name!r} must be an admin",
            {"fields": {"role": "must be admin"}},
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
    repository.revoke_personal_tokens(session, user.uuid)
    log.info("user.offboarded", user_uuid=user.uuid, organization_uuid=user.organization_uuid)


# -- sessions ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    token: str
    expires_at: datetime
    token_hash: str = ""


def start_session(runtime: Runtime, session: Session, user: User) -> NewSession:
    """An opaque browser-session token; only its keyed hash is stored."""
    token = secrets.token_urlsafe(32)
    key_id, digest = runtime.keyring.hash(token)
    expires_at = utcnow() + timedelta(hours=runtime.settings.cookies_max_age_hours)
    session.add(
        UserSession(
            token_hash=digest, token_key_id=key_id, user_uuid=user.uuid, expires_at=expires_at
        )
    )
    return NewSession(token, expires_at, digest)


def end_session(runtime: Runtime, session: Session, cookie: str) -> None:
    """End the browser session a cookie names. Rules: an unknown cookie ends nothing, quietly."""
    _key_id, digest = runtime.keyring.hash(cookie)
    repository.end_session(session, digest)


def session_principal(runtime: Runtime, session: Session, user: User, new: NewSession) -> Principal:
    """The principal a freshly started session will authenticate as."""
    return principal_for_user(
        runtime, session, user, credential="session", session_token_hash=new.token_hash
    )


def _retry_after(until: datetime) -> int:
    return max(1, math.ceil((until - utcnow()).total_seconds()))


def check_login_rate(session: Session, email: str, ip: str) -> None:
    """Refuse a login attempt while its email or its IP is over the failure limit.

    Rules: more than 10 failures for one email, or 50 from one IP, within 15
    minutes → 429 with Retry-After (when the oldest counted failure leaves the
    window). Counted in the database, so the limit holds across processes; a
    refused attempt is not counted, so waiting always lifts the limit.
    """
    since = utcnow() - LOGIN_WINDOW
    by_email = repository.nth_recent_failure(
        session,
        kinds=PASSWORD_FAILURE_KINDS,
        since=since,
        nth=LOGIN_FAILURES_PER_EMAIL,
        email=email,
    )
    by_ip = repository.nth_recent_failure(
        session, kinds=PASSWORD_FAILURE_KINDS, since=since, nth=LOGIN_FAILURES_PER_IP, ip=ip
    )
    blocked_until = max(
        (t + LOGIN_WINDOW for t in (by_email, by_ip) if t is not None), default=None
    )
    if blocked_until is not None:
        log.warning("login.rate_limited", email=email, ip=ip)
        raise TooManyRequestsError(
            "Too many failed login attempts. Wait before trying again, "
            "or ask an administrator to reset your password.",
            _retry_after(blocked_until),
        )


def record_password_failure(session: Session, *, kind: str, email: str, reason: str) -> None:
    """Count a failed password check; it is committed at once, as the request then fails.

    The one place a service commits: the failure must outlive the rollback of the
    failing request, and it is written on the request's own connection (which
    already holds SQLite's write lock) so nothing waits on anything.
    """
    ctx = current_request.get()
    now = utcnow()
    repository.add_failure(
        session, kind=kind, email=email, ip=ctx.ip, at=now, prune_before=now - LOGIN_WINDOW
    )
    session.commit()
    # Failed logins are logged, not audited: they must not let anyone fill an organization's log.
    log.warning(f"{kind}.failed", email=email, ip=ctx.ip, user_agent=ctx.user_agent, reason=reason)


def login(
    runtime: Runtime,
    session: Session,
    email: str,
    password: str,
    *,
    previous_cookie: str | None = None,
) -> tuple[User, NewSession]:
    """Check an email and password and start a browser session.

    Rules: the rate limit first (429); unknown email, wrong password, a person
    without a password and a service account all get the same 401 and cost the
    same argon2 verification; a deactivated person is refused; success clears
    the email's failures, replaces the browser's previous session, upgrades an
    outdated password hash and is audited.
    """
    ctx = current_request.get()
    key = email.strip().lower()[:320]  # the column's size: a huge "email" is just unknown
    check_login_rate(session, key, ctx.ip)
    user = repository.user_by_email(session, key) if key else None
    verified = runtime.passwords.verify(user.password_hash if user else None, password)
    if user is None or user.is_service_account or not verified:
        reason = "unknown email" if user is None else "wrong password"
        record_password_failure(session, kind="login", email=key, reason=reason)
        raise AuthorizationError(LOGIN_REJECTED)
    if not user.is_active:
        # Only someone who knows the password learns this.
        log.warning("login.refused", user_uuid=user.uuid, ip=ctx.ip, reason="deactivated")
        raise AuthorizationError(
            "This account is deactivated: ask an administrator of your organization"
        )
    repository.clear_failures(session, email=key, kinds=PASSWORD_FAILURE_KINDS)
    if previous_cookie:
        end_session(runtime, session, previous_cookie)
    assert user.password_hash is not None  # verified
    if runtime.passwords.needs_rehash(user.password_hash):
        user.password_hash = runtime.passwords.hash(password)
    repository.end_expired_sessions(session, user.uuid, utcnow())
    new = start_session(runtime, session, user)
    record(
        session,
        organization_uuid=user.organization_uuid,
        actor=_user_actor(user),
        action="user.logged_in",
        target=Target("user", user.uuid, user.email or ""),
    )
    log.info("login.succeeded", user_uuid=user.uuid, ip=ctx.ip)
    return user, new


def change_password(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    current_password: str,
    new_password: str,
) -> None:
    """Change one's own password from a browser session.

    Rules: the current password must match (400 otherwise, counted like a
    failed login and under the same limit); the new one has at least 8
    characters; every other session of the person ends, this one stays;
    audited as `user.password_changed`.
    """
    user = session.get(User, principal.user_uuid)
    assert user is not None and user.email is not None  # a session principal is a person
    ctx = current_request.get()
    check_login_rate(session, user.email, ctx.ip)
    if not runtime.passwords.verify(user.password_hash, current_password):
        record_password_failure(
            session, kind="password", email=user.email, reason="wrong current password"
        )
        raise ParameterError(
            "Current password is incorrect", {"fields": {"currentPassword": "does not match"}}
        )
    repository.end_sessions(session, user.uuid, keep=principal.session_token_hash)
    set_password(runtime, session, user, new_password)
    record(
        session,
        organization_uuid=user.organization_uuid,
        actor=principal,
        action="user.password_changed",
        target=Target("user", user.uuid, user.email),
    )


# -- registration ---------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    first_name: str
    last_name: str
    email: str | None
    password: str | None
    organization_name: str | None
    invite_code: str | None


def _required(value: str | None, field: str, label: str) -> str:
    if value is None or not value.strip():
        raise ParameterError(f"{label} is required", {"fields": {field: "required"}})
    return value


def _user_actor(user: User) -> Actor:
    return Actor("user", user.uuid, user_label(user))


def register(runtime: Runtime, session: Session, form: Registration) -> tuple[User, NewSession]:
    """Register a person and start their session.

    Rules: while no organization exists, the form creates the organization and
    its first admin; concurrent first registrations are serialized so exactly
    one organization comes into being. Afterwards registration needs an invite
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
    organization = create_organization(session, organization_name)
    user = create_user(
        runtime,
        session,
        organization,
        email=email,
        role="admin",
        first_name=first_name,
        last_name=form.last_name,
        password=password,
    )
    actor = _user_actor(user)
    record(
        session,
        organization_uuid=organization.uuid,
        actor=actor,
        action="organization.created",
        target=Target("organization", organization.uuid, organization.name),
    )
    record(
        session,
        organization_uuid=organization.uuid,
        actor=actor,
        action="user.created",
        target=Target("user", user.uuid, user.email or ""),
        details={"role": user.role, "via": "first registration"},
    )
    log.info("organization.registered", organization_uuid=organization.uuid, user_uuid=user.uuid)
    return user, start_session(runtime, session, user)


def _open_invite(session: Session, invite_code: str) -> InviteLink:
    invite = repository.invite_by_code(session, invite_code.strip())
    if invite is None:
        raise NotFoundError(
            "Invite link not found: ask an administrator of your organization for a new one"
        )
    if invite.expires_at <= utcnow():
        raise ParameterError(
            "This invite link has expired: ask an administrator of your organization for a new one",
            {"fields": {"inviteCode": "expired"}},
        )
    return invite


def organization_exists(session: Session) -> bool:
    """Whether the first-run registration has happened (it creates the one organization)."""
    return repository.organization_count(session) > 0


@dataclass(frozen=True)
class InviteLookup:
    """What an invite link leads to, for the page shown before registering."""

    invite: InviteLink | None  # None: no such code
    organization_name: str
    expired: bool


def look_up_invite(session: Session, invite_code: str) -> InviteLookup:
    """The invite behind a link, without accepting it.

    Rules: an unknown code finds nothing; an expired invite is reported as
    expired and names no organization (the same checks as registering with it).
    """
    invite = repository.invite_by_code(session, invite_code.strip())
    if invite is None:
        return InviteLookup(None, "", expired=False)
    if invite.expires_at <= utcnow():
        return InviteLookup(None, "", expired=True)
    organization = session.get(Organization, invite.organization_uuid)
    return InviteLookup(invite, organization.name if organization else "", expired=False)


def _register_with_invite(
    runtime: Runtime, session: Session, form: Registration, invite_code: str
) -> tuple[User, NewSession]:
    invite = _open_invite(session, invite_code)
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
    repository.delete_invites_for(session, organization.uuid, invite.email)
    record(
        session,
        organization_uuid=organization.uuid,
        actor=_user_actor(user),
        action="user.created",
        target=Target("user", user.uuid, user.email or ""),
        details={
            "role": user.role,
            "via": "invite",
            "invitedByUserUuid": invite.created_by_user_uuid,
        },
    )
    log.info("user.registered", organization_uuid=organization.uuid, user_uuid=user.uuid)
    return user, start_session(runtime, session, user)


# -- personal access tokens --------------------------------------------------------------


def store_personal_token(
    runtime: Runtime,
    session: Session,
    user: User,
    *,
    description: str,
    expires_at: datetime | None,
    raw: str | None = None,
) -> tuple[PersonalAccessToken, str]:
    """Store a personal token for `user` (fresh unless `raw` is given), returned with its plaintext.

    Rules: the token has the personal prefix and a valid shape; only its keyed
    hash and its hint are stored.
    """
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


def _require_personal_tokens(runtime: Runtime, principal: Principal) -> None:
    if principal.is_service_account:
        raise ForbiddenError(NO_SERVICE_ACCOUNT_TOKENS)
    if not runtime.settings.pat_enabled:
        raise ForbiddenError(PATS_DISABLED)


def _require_may_mint(runtime: Runtime, principal: Principal) -> None:
    allowed = runtime.settings.pat_allowed_roles
    if principal.role not in allowed:
        raise ForbiddenError(
            f"The {principal.role} role may not create personal access tokens on this server "
            f"(PAT_ALLOWED_ORG_ROLES={','.join(allowed)})"
        )


def _description(text: str) -> str:
    text = text.strip()
    if not text:
        raise ParameterError("Description is required", {"fields": {"description": "required"}})
    if len(text) > 255:
        raise ParameterError(
            "Description must be at most 255 characters", {"fields": {"description": "too long"}}
        )
    return text


def _token_expiry(
    runtime: Runtime, expires_at: datetime | None, *, required: bool
) -> datetime | None:
    """A personal token's expiry: in the future, within PAT_MAX_EXPIRATION_TIME_IN_DAYS if set."""
    max_days = runtime.settings.pat_max_expiration_time_in_days
    too_late = ParameterError(
        f"Personal access tokens must expire within {max_days} days on this server "
        f"(PAT_MAX_EXPIRATION_TIME_IN_DAYS={max_days}): choose an earlier expiresAt",
        {"fields": {"expiresAt": f"at most {max_days} days from now"}},
    )
    if expires_at is None:
        if required:
            raise ParameterError(EXPIRE_IN_FUTURE, {"fields": {"expiresAt": "required"}})
        if max_days is not None:
            raise too_late
        return None
    expires_at = as_utc(expires_at)
    now = utcnow()
    if expires_at <= now:
        raise ParameterError(EXPIRE_IN_FUTURE, {"fields": {"expiresAt": "in the past"}})
    if max_days is not None and expires_at > now + timedelta(days=max_days) + MAX_EXPIRY_SLACK:
        raise too_late
    return expires_at


def _token_target(pat: PersonalAccessToken) -> Target:
    return Target("personal_access_token", pat.uuid, pat.description)


def create_personal_token(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    *,
    description: str,
    expires_at: datetime | None,
) -> tuple[PersonalAccessToken, str]:
    """Mint a personal token for the caller; returns it with its plaintext (shown once).

    Rules: only people (403 for service accounts) and only from a browser
    session (the route asks for one, so a leaked token cannot mint more);
    PAT_ENABLED, PAT_ALLOWED_ORG_ROLES and PAT_MAX_EXPIRATION_TIME_IN_DAYS
    apply; description 1 to 255 characters; expiresAt null (never) or in the
    future; audited without the token.
    """
    _require_personal_tokens(runtime, principal)
    _require_may_mint(runtime, principal)
    text = _description(description)
    expiry = _token_expiry(runtime, expires_at, required=False)
    user = session.get(User, principal.user_uuid)
    assert user is not None  # the principal's own row
    pat, raw = store_personal_token(runtime, session, user, description=text, expires_at=expiry)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action="personal_access_token.created",
        target=_token_target(pat),
        details={"expiresAt": iso(expiry), "tokenHint": pat.token_hint},
    )
    log.info("personal_access_token.created", uuid=pat.uuid, user_uuid=user.uuid)
    return pat, raw


def list_personal_tokens(
    runtime: Runtime, session: Session, principal: Principal
) -> list[PersonalAccessToken]:
    """The caller's own personal tokens, newest first. Rules: people only; PAT_ENABLED applies."""
    _require_personal_tokens(runtime, principal)
    return repository.personal_tokens(session, principal.user_uuid)


def _own_token(session: Session, principal: Principal, token_uuid: str) -> PersonalAccessToken:
    pat = repository.personal_token(session, principal.user_uuid, token_uuid)
    if pat is None:
        raise NotFoundError("Personal access token not found")
    return pat


def delete_personal_token(
    runtime: Runtime, session: Session, principal: Principal, token_uuid: str
) -> None:
    """Revoke one of the caller's personal tokens; it stops working on the next request.

    Rules: people only; another person's token is 404; audited.
    """
    _require_personal_tokens(runtime, principal)
    pat = _own_token(session, principal, token_uuid)
    repository.delete_personal_token(session, pat.uuid)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action="personal_access_token.deleted",
        target=_token_target(pat),
        details={"userUuid": pat.user_uuid, "tokenHint": pat.token_hint},
    )
    log.info("personal_access_token.deleted", uuid=pat.uuid, user_uuid=pat.user_uuid)


def rotate_personal_token(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    token_uuid: str,
    *,
    expires_at: datetime | None,
    presented_token: str | None = None,
) -> tuple[PersonalAccessToken, str]:
    """Replace a personal token's value; returns it with the new plaintext (shown once).

    Rules: people only, PAT_ENABLED and PAT_ALLOWED_ORG_ROLES apply; another
    person's token is 404; a personal token (`presented_token`) may rotate only
    itself, so a leaked token cannot mint a second one; only expiring tokens
    (400), the new expiry is required, in the future and within the maximum;
    at most once per hour per token, decided by a conditional UPDATE in the
    database (429 with Retry-After); the old value stops working at once.
    """
    _require_personal_tokens(runtime, principal)
    _require_may_mint(runtime, principal)
    pat = _own_token(session, principal, token_uuid)
    if principal.credential == "pat":
        presented = {digest for _key, digest in runtime.keyring.candidates(presented_token or "")}
        if pat.token_hash not in presented:
            raise ForbiddenError(
                "A personal access token can only rotate itself: log in to rotate your other tokens"
            )
    if pat.expires_at is None:
        raise ParameterError(NO_EXPIRY_NO_ROTATION)
    expiry = _token_expiry(runtime, expires_at, required=True)
    assert expiry is not None
    raw = generate(TokenKind.PERSONAL)
    key_id, digest = runtime.keyring.hash(raw)
    now = utcnow()
    rotated = repository.rotate_personal_token(
        session,
        pat.uuid,
        key_id=key_id,
        digest=digest,
        token_hint=hint(raw),
        expires_at=expiry,
        now=now,
        not_rotated_since=now - ROTATE_EVERY,
    )
    session.expire(pat)
    if not rotated:
        current = repository.personal_token(session, principal.user_uuid, token_uuid)
        if current is None:  # deleted meanwhile
            raise NotFoundError("Personal access token not found")
        last = current.rotated_at or now
        raise TooManyRequestsError(ROTATE_ONCE_PER_HOUR, _retry_after(last + ROTATE_EVERY))
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action="personal_access_token.rotated",
        target=_token_target(pat),
        details={"expiresAt": iso(expiry), "tokenHint": pat.token_hint},
    )
    log.info("personal_access_token.rotated", uuid=pat.uuid, user_uuid=pat.user_uuid)
    return pat, raw


def _member(runtime: Runtime, session: Session, principal: Principal, user_uuid: str) -> User:
    """A person whose tokens the principal may manage: the caller's organization (404),
    `manage:OrganizationMemberProfile` (403), holding no more than the caller (403)."""
    user = repository.human_in_organization(session, principal.organization_uuid, user_uuid)
    if user is None:
        raise NotFoundError("User not found")
    require_org(principal, "manage", "OrganizationMemberProfile")
    require_may_act_on(principal, grants_for(session, runtime.settings, user))
    return user


def list_member_tokens(
    runtime: Runtime, session: Session, principal: Principal, user_uuid: str
) -> list[PersonalAccessToken]:
    """An admin's view of a member's personal tokens (never their values).

    Rules: the person must be in the caller's organization (404); needs
    `manage:OrganizationMemberProfile` (403); nobody sees the tokens of
    someone holding more than they do (403).
    """
    user = _member(runtime, session, principal, user_uuid)
    return repository.personal_tokens(session, user.uuid)


def revoke_member_token(
    runtime: Runtime, session: Session, principal: Principal, user_uuid: str, token_uuid: str
) -> None:
    """An admin revokes one of a member's personal tokens.

    Rules: as `list_member_tokens`; a token of someone else is 404; audited
    with the owner named.
    """
    user = _member(runtime, session, principal, user_uuid)
    pat = repository.personal_token(session, user.uuid, token_uuid)
    if pat is None:
        raise NotFoundError("Personal access token not found")
    repository.delete_personal_token(session, pat.uuid)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action="personal_access_token.deleted",
        target=_token_target(pat),
        details={"userUuid": user.uuid, "email": user.email, "tokenHint": pat.token_hint},
    )
    log.info(
        "personal_access_token.revoked", uuid=pat.uuid, user_uuid=user.uuid, by=principal.user_uuid
    )


# -- invites ----------------------------------------------------------------------------


def invite_url(runtime: Runtime, invite: InviteLink) -> str:
    return f"{runtime.settings.site_url.rstrip('/')}/invite/{invite.invite_code}"


def create_invite(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    *,
    email: str,
    role: str | None,
    expires_at: datetime | None,
) -> InviteLink:
    """Invite a person to the caller's organization with a role.

    Rules: needs `manage:InviteLink`; the role defaults to the organization's
    default role and is subject to the grant ceiling (an org role R also gives
    project role R everywhere); an email that is already registered is 409;
    expiresAt in the future, a week when absent; a new invite for an email
    replaces the open ones; audited (without the code).
    """
    require_org(principal, "manage", "InviteLink")
    organization = session.get(Organization, principal.organization_uuid)
    assert organization is not None  # the principal's organization
    address = normalize_email(email)
    granted = validate_role(role or organization.default_role)
    require_org_grant_within(principal, org_role_scopes(granted))
    now = utcnow()
    expiry = now + INVITE_LIFETIME if expires_at is None else as_utc(expires_at)
    if expiry <= now:
        raise ParameterError(EXPIRE_IN_FUTURE, {"fields": {"expiresAt": "in the past"}})
    if repository.user_by_email(session, address) is not None:
        raise AlreadyExistsError(f"A user with email {address} already exists")
    repository.delete_invites_for(session, organization.uuid, address)
    invite = InviteLink(
        invite_code=secrets.token_urlsafe(24),
        organization_uuid=organization.uuid,
        email=address,
        role=granted,
        expires_at=expiry,
        created_at=now,
        created_by_user_uuid=principal.user_uuid,
    )
    session.add(invite)
    session.flush()
    record(
        session,
        organization_uuid=organization.uuid,
        actor=principal,
        action="invite_link.created",
        target=Target("invite_link", None, address),
        details={"email": address, "role": granted, "expiresAt": iso(expiry)},
    )
    return invite


def _may_create(principal: Principal, invite: InviteLink) -> bool:
    return grant_within_org(principal, org_role_scopes(invite.role))


def list_invites(session: Session, principal: Principal) -> list[InviteLink]:
    """The organization's open (unexpired) invites, newest first.

    Rules: `manage:InviteLink`; only the invites the caller could create (the
    grant ceiling): an invite's code is shown only to whoever may create it.
    """
    require_org(principal, "manage", "InviteLink")
    invites = repository.open_invites(session, principal.organization_uuid, utcnow())
    return [invite for invite in invites if _may_create(principal, invite)]


def delete_invite(session: Session, principal: Principal, invite_code: str) -> None:
    """Withdraw an invite.

    Rules: `manage:InviteLink`; another org's code, or an invite the caller
    could not create (which it cannot list either), is 404; audited.
    """
    require_org(principal, "manage", "InviteLink")
    invite = repository.invite_by_code(session, invite_code)
    if (
        invite is None
        or invite.organization_uuid != principal.organization_uuid
        or not _may_create(principal, invite)
    ):
        raise NotFoundError("Invite link not found")
    repository.delete_invite(session, invite.invite_code)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action="invite_link.deleted",
        target=Target("invite_link", None, invite.email),
        details={"email": invite.email, "role": invite.role},
    )
