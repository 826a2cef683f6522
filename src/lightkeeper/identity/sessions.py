"""The rules of browser sessions: login, its rate limit, logout, changing one's password.

Services never commit; the request commits once. The one exception is a
failed password check, which is counted in its own short transaction so that
the 401's rollback does not erase it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, record
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.service import principal_for_user
from lightkeeper.identity import repository
from lightkeeper.identity.people import actor_of, set_password
from lightkeeper.kit.clock import seconds_until, utcnow
from lightkeeper.kit.errors import AuthorizationError, ParameterError, TooManyRequestsError
from lightkeeper.kit.request_context import current_request
from lightkeeper.models import User, UserSession
from lightkeeper.runtime import Runtime

log = structlog.get_logger()

LOGIN_REJECTED = "Email and password do not match"
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_PER_EMAIL = 10
LOGIN_FAILURES_PER_IP = 50
# Guessing the current password on the change-password route is guessing a login.
PASSWORD_FAILURE_KINDS = ("login", "password")


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
            seconds_until(blocked_until),
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
        actor=actor_of(user),
        action=AuditAction.USER_LOGGED_IN,
        target=Target(TargetType.USER, user.uuid, user.email or ""),
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
        action=AuditAction.USER_PASSWORD_CHANGED,
        target=Target(TargetType.USER, user.uuid, user.email),
    )
