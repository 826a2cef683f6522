"""The rules of invite links: who may invite whom, with which role, until when.

An invite fixes the email and the role a person registers with
(registration/service.py consumes it); only whoever may create an invite
sees its code.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, record
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import org_role_scopes
from lightkeeper.authz.access import grant_within_org, require_org, require_org_grant_within
from lightkeeper.identity import repository as identity_repository
from lightkeeper.identity.people import normalize_email, validate_role
from lightkeeper.invite import repository
from lightkeeper.kit.clock import as_utc, iso, utcnow
from lightkeeper.kit.errors import AlreadyExistsError, NotFoundError, ParameterError
from lightkeeper.models import InviteLink, Organization
from lightkeeper.runtime import Runtime

INVITE_LIFETIME = timedelta(days=7)
EXPIRE_IN_FUTURE = "Expire time must be in the future"


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
    if identity_repository.user_by_email(session, address) is not None:
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
        action=AuditAction.INVITE_LINK_CREATED,
        target=Target(TargetType.INVITE_LINK, None, address),
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
        action=AuditAction.INVITE_LINK_DELETED,
        target=Target(TargetType.INVITE_LINK, None, invite.email),
        details={"email": invite.email, "role": invite.role},
    )


def open_invite(session: Session, invite_code: str) -> InviteLink:
    """The invite a registration presents. Rules: an unknown code is 404, an expired one 400."""
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


def consume(session: Session, invite: InviteLink) -> None:
    """Close every open invite for the invite's email once its person has registered."""
    repository.delete_invites_for(session, invite.organization_uuid, invite.email)


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
