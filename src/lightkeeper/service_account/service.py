"""The rules of service accounts: shapes, grants, the grant ceiling, tokens, rotation, audit.

An SA has its own principal row in `users` (is_service_account, no email, no
password, `first_name` = description). Its organization-level grant lives on
that row (`role`, `custom_role_uuid`); its project grants are project
memberships of that principal; `service_accounts.scopes` keeps the scopes as
given (legacy ones are re-read at authentication). Services never commit: the
request's session commits once, so every row of one change lands together.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Actor, Target, changes, record
from lightkeeper.auth.grants import LEGACY_SCOPES, grants_for
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import (
    PROJECT_ROLE_SCOPES,
    PROJECT_ROLES,
    highest,
    org_role_scopes,
)
from lightkeeper.auth.scopes import Scope, is_org_level
from lightkeeper.auth.service import ExpiredServiceAccountToken, NetworkDeniedServiceAccountToken
from lightkeeper.authz.access import (
    allows_org,
    can_see_project,
    require_may_act_on,
    require_org_grant_within,
    require_project_grant_within,
)
from lightkeeper.authz.tenancy import project_target
from lightkeeper.config import Settings
from lightkeeper.kit.clock import iso, utcnow
from lightkeeper.kit.errors import (
    ForbiddenError,
    NotFoundError,
    ParameterError,
    TooManyRequestsError,
)
from lightkeeper.kit.tokens import TokenKind, generate, hint
from lightkeeper.models import CustomRole, ProjectMembership, ServiceAccount, User
from lightkeeper.runtime import Runtime
from lightkeeper.service_account import repository
from lightkeeper.service_account.repository import AccountRow as AccountRow  # re-exported

log = structlog.get_logger()

DISABLED_MESSAGE = (
    "Service accounts require an Enterprise License Key and SERVICE_ACCOUNT_ENABLED=true"
)
NOT_FOUND_MESSAGE = "Service account not found"
DESCRIPTION_REQUIRED = "Description is required"
DESCRIPTION_MAX = 255
BOTH_SHAPES = "Specify either scopes or roleUuid, not both"
NO_SHAPE = "A service account must have either scopes or a roleUuid"
ACCESS_NEEDS_MEMBER = "projectAccess can only be set when scopes = [system:member]"
GRANT_ONE_OF = "Each projectAccess grant must specify exactly one of role or roleUuid"
GRANT_TWICE = "Each project can only be added once"
KEEP_ONE_PROJECT = (
    "A project-scoped service account must have at least one project. "
    "Delete it instead to remove all access."
)
CREATE_NEEDS_PROJECT = (
    "A project-scoped service account (scopes = [system:member]) must have at least one "
    "project: add a projectAccess grant"
)
SYSTEM_SCOPE_ALONE = "A system:<role> scope must be the only scope: remove the other scopes"
EXPIRE_IN_FUTURE = "Expire time must be in the future"
CANNOT_ROTATE_NON_EXPIRING = "Token with no expiration date cannot be rotated"
ROTATE_ONCE_PER_HOUR = "Token can only be rotated once per hour"
CUSTOM_ROLE_NEEDS_LICENSE = "Custom roles require an Enterprise License Key (LIGHTDASH_LICENSE_KEY)"

MEMBER_SCOPE = "system:member"
SYSTEM_SCOPES = tuple(f"system:{role}" for role in (*PROJECT_ROLES, "member"))
LEGACY_SCOPE_NAMES = tuple(sorted(LEGACY_SCOPES))
ACCEPTED_SCOPES = (*SYSTEM_SCOPES, *LEGACY_SCOPE_NAMES)
# What org:edit adds beyond the editor role (mirrors auth.grants, which applies it).
_LEGACY_EXTRA: dict[str, frozenset[Scope]] = {
    "org:edit": frozenset({Scope.parse("manage:ContentAsCode")})
}
ROTATION_INTERVAL = timedelta(hours=1)
MAX_GRACE_MINUTES = 1440
GRACE_RANGE = f"gracePeriodMinutes must be a whole number from 0 to {MAX_GRACE_MINUTES}"


# -- access and input --------------------------------------------------------


def check_access(settings: Settings, principal: Principal) -> None:
    """Gate every service-account endpoint (the caller is already authenticated).

    Rules: the feature needs SERVICE_ACCOUNT_ENABLED and a license, else 403 with
    the spec's message; then the caller needs `manage:Organization`, else 403.
    """
    if not settings.is_service_account_enabled:
        raise ForbiddenError(DISABLED_MESSAGE)
    if not allows_org(principal, "manage", "Organization"):
        raise ForbiddenError()


def clean_description(value: str | None) -> str:
    """The description to store.

    Rules: required, 1-255 characters after trimming surrounding whitespace.
    """
    text = (value or "").strip()
    if not text:
        raise ParameterError(DESCRIPTION_REQUIRED, {"fields": {"description": "required"}})
    if len(text) > DESCRIPTION_MAX:
        raise ParameterError(
            f"Description must be at most {DESCRIPTION_MAX} characters",
            {"fields": {"description": "too long"}},
        )
    return text


def check_future(expires_at: datetime | None, *, required: bool) -> None:
    """An expiry given by a client.

    Rules: when given (or `required`), it must be later than now.
    """
    if expires_at is None and not required:
        return
    if expires_at is None or expires_at <= utcnow():
        raise ParameterError(EXPIRE_IN_FUTURE, {"fields": {"expiresAt": "must be in the future"}})


MAX_IP_RANGES = 100


def clean_ip_ranges(values: Sequence[str] | None) -> list[str] | None:
    """The allowedIpRanges to store: None (any address) for null or an empty list.

    Rules: at most 100 CIDR ranges, IPv4 or IPv6; a bare address means that one
    address (/32, /128); host bits are dropped (`10.0.0.5/24` → `10.0.0.0/24`);
    duplicates are removed; anything else is a 400 naming the entry.
    """
    if not values:
        return None
    if len(values) > MAX_IP_RANGES:
        raise ParameterError(
            f"At most {MAX_IP_RANGES} allowedIpRanges", {"fields": {"allowedIpRanges": "too many"}}
        )
    ranges: list[str] = []
    for index, value in enumerate(values):
        try:
            network = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            raise ParameterError(
                f"allowedIpRanges: {str(value)[:60]!r} is not an IPv4 or IPv6 address or CIDR "
                "range (e.g. 203.0.113.0/24, 2001:db8::/32)",
                {"fields": {f"allowedIpRanges.{index}": "not a CIDR range"}},
            ) from None
        if str(network) not in ranges:
            ranges.append(str(network))
    return ranges


@dataclass(frozen=True)
class GrantRequest:
    """One projectAccess item: a project and exactly one of a system role or a custom role."""

    project_uuid: str
    role: str | None
    role_uuid: str | None


@dataclass(frozen=True)
class Shape:
    """One of the three permission shapes, validated."""

    kind: Literal["organization", "custom_role", "project"]
    scopes: tuple[str, ...]
    role_uuid: str | None = None
    grants: tuple[GrantRequest, ...] = ()


def _check_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(s.strip() for s in scopes))
    for scope in unique:
        if scope not in ACCEPTED_SCOPES:
            raise ParameterError(
                f"Unknown scope: {scope}. Accepted values: {', '.join(ACCEPTED_SCOPES)}",
                {"fields": {"scopes": "unknown scope"}},
            )
    if len(unique) > 1 and any(s.startswith("system:") for s in unique):
        raise ParameterError(SYSTEM_SCOPE_ALONE, {"fields": {"scopes": "system scope not alone"}})
    return unique


def _check_grants(items: Sequence[GrantRequest]) -> tuple[GrantRequest, ...]:
    seen: set[str] = set()
    grants: list[GrantRequest] = []
    for index, item in enumerate(items):
        if (item.role is None) == (item.role_uuid is None):
            raise ParameterError(
                GRANT_ONE_OF, {"fields": {f"projectAccess.{index}": "role or roleUuid"}}
            )
        if item.project_uuid in seen:
            raise ParameterError(
                GRANT_TWICE, {"fields": {f"projectAccess.{index}.projectUuid": "duplicate"}}
            )
        seen.add(item.project_uuid)
        if item.role is not None and item.role not in PROJECT_ROLES:
            raise ParameterError(
                f"Unknown project role {item.role!r}: use one of {', '.join(PROJECT_ROLES)}",
                {"fields": {f"projectAccess.{index}.role": "unknown role"}},
            )
        grants.append(item)
    return tuple(grants)


def parse_shape(
    scopes: Sequence[str] | None,
    role_uuid: str | None,
    project_access: Sequence[GrantRequest] | None,
    *,
    editing: bool,
) -> Shape | None:
    """Which of the three shapes a request asks for; None on an edit that only renames.

    Rules: an empty `scopes` list counts as absent; scopes and roleUuid are
    exclusive; one of them is required on create; only listed scopes are
    accepted and a `system:*` scope must be alone; projectAccess needs scopes
    = [system:member] (on edit, projectAccess alone also means project scope);
    a project scope needs at least one grant, one per project, each with
    exactly one of role (a system project role) or roleUuid.
    """
    wanted = list(scopes or [])
    if wanted and role_uuid is not None:
        raise ParameterError(
            BOTH_SHAPES, {"fields": {"scopes": "conflict", "roleUuid": "conflict"}}
        )
    checked = _check_scopes(wanted) if wanted else ()
    is_member = checked == (MEMBER_SCOPE,)
    if project_access is not None and (role_uuid is not None or (checked and not is_member)):
        raise ParameterError(ACCESS_NEEDS_MEMBER, {"fields": {"projectAccess": "not allowed"}})
    if is_member or (editing and project_access is not None and not checked):
        grants = _check_grants(project_access or [])
        if not grants:
            message = KEEP_ONE_PROJECT if editing else CREATE_NEEDS_PROJECT
            raise ParameterError(message, {"fields": {"projectAccess": "at least one grant"}})
        return Shape("project", (MEMBER_SCOPE,), None, grants)
    if role_uuid is not None:
        return Shape("custom_role", (), role_uuid)
    if checked:
        return Shape("organization", checked)
    if editing:
        return None
    raise ParameterError(NO_SHAPE, {"fields": {"scopes": "required", "roleUuid": "required"}})


# -- what a shape grants -------------------------------------------------------


def org_role_of(scopes: Sequence[str]) -> str:
    """The system org role a principal row gets for these SA scopes.

    Rules: `system:<role>` → role; legacy org:admin/org:edit/org:read|org:view →
    admin/editor/viewer (the highest); anything else (custom role, project
    scope) → member.
    """
    roles: list[str | None] = []
    for scope in scopes:
        if scope.startswith("system:"):
            roles.append(scope.removeprefix("system:"))
        elif scope in LEGACY_SCOPES:
            roles.append(LEGACY_SCOPES[scope])
    return highest(*roles) or "member"


def _org_scopes_granted(scopes: Sequence[str]) -> frozenset[Scope]:
    granted: set[Scope] = set()
    for scope in scopes:
        if scope in LEGACY_SCOPES:
            role = LEGACY_SCOPES[scope]
            granted |= org_role_scopes(role)
            granted |= _LEGACY_EXTRA.get(scope, frozenset())
        else:
            role = scope.removeprefix("system:")
            granted |= org_role_scopes(role)
    return frozenset(granted)


def _role_scopes(role: CustomRole) -> frozenset[Scope]:
    return frozenset(Scope.parse(s) for s in role.scopes)


def _custom_role(
    session: Session, settings: Settings, principal: Principal, role_uuid: str
) -> CustomRole:
    if not settings.has_enterprise_license:
        raise ForbiddenError(CUSTOM_ROLE_NEEDS_LICENSE)
    role = repository.custom_roles_in_organization(
        session, principal.organization_uuid, [role_uuid]
    )
    if role_uuid not in role:
        raise NotFoundError(f"Role {role_uuid} not found")
    return role[role_uuid]


def _bind_organization_grant(
    session: Session,
    settings: Settings,
    principal: Principal,
    account: ServiceAccount,
    user: User,
    shape: Shape,
) -> None:
    """Write the org-level part of a shape, after the grant ceiling."""
    if shape.kind == "custom_role":
        assert shape.role_uuid is not None
        role = _custom_role(session, settings, principal, shape.role_uuid)
        require_org_grant_within(principal, _role_scopes(role))
        user.role, user.custom_role_uuid = "member", role.uuid
        account.scopes, account.role_uuid = [], role.uuid
        return
    require_org_grant_within(principal, _org_scopes_granted(shape.scopes))
    user.role, user.custom_role_uuid = org_role_of(shape.scopes), None
    account.scopes, account.role_uuid = list(shape.scopes), None


def _add_project_grants(
    session: Session,
    settings: Settings,
    principal: Principal,
    user: User,
    grants: Sequence[GrantRequest],
) -> None:
    """One membership per grant, each within what the caller holds on that project."""
    projects = repository.projects_in_organization(
        session, principal.organization_uuid, [g.project_uuid for g in grants]
    )
    role_uuids = [g.role_uuid for g in grants if g.role_uuid is not None]
    if role_uuids and not settings.has_enterprise_license:
        raise ForbiddenError(CUSTOM_ROLE_NEEDS_LICENSE)
    roles = repository.custom_roles_in_organization(
        session, principal.organization_uuid, role_uuids
    )
    for grant in grants:
        project = projects.get(grant.project_uuid)
        target = project_target(project) if project is not None else None
        if target is None or not can_see_project(principal, target):
            raise NotFoundError(f"Project {grant.project_uuid} not found")
        if grant.role_uuid is not None:
            role = roles.get(grant.role_uuid)
            if role is None:
                raise NotFoundError(f"Role {grant.role_uuid} not found")
            wanted = frozenset(s for s in _role_scopes(role) if not is_org_level(s))
        else:
            assert grant.role is not None
            wanted = PROJECT_ROLE_SCOPES[grant.role]
        require_project_grant_within(principal, target, wanted)
        session.add(
            ProjectMembership(
                project_uuid=grant.project_uuid,
                user_uuid=user.uuid,
                role=grant.role,
                role_uuid=grant.role_uuid,
            )
        )
    session.flush()


def _apply_shape(
    session: Session,
    settings: Settings,
    principal: Principal,
    account: ServiceAccount,
    user: User,
    shape: Shape,
) -> None:
    _bind_organization_grant(
        session,
        settings,
        principal,
        account,
        user,
        Shape("organization", shape.scopes) if shape.kind == "project" else shape,
    )
    if shape.kind == "project":
        _add_project_grants(session, settings, principal, user, shape.grants)


def _clear_project_grants(session: Session, user_uuid: str) -> None:
    for membership in repository.memberships_of(session, user_uuid):
        session.delete(membership)
    session.flush()


def _snapshot(session: Session, account: ServiceAccount) -> dict[str, Any]:
    """What an SA may do, for audit details (never the token)."""
    return {
        "description": account.description,
        "scopes": list(account.scopes),
        "roleUuid": account.role_uuid,
        "projectAccess": [
            {"projectUuid": m.project_uuid, "role": m.role, "roleUuid": m.role_uuid}
            for m in repository.memberships_of(session, account.user_uuid)
        ],
        "expiresAt": iso(account.expires_at),
        "allowedIpRanges": list(account.allowed_ip_ranges or []),
    }


def _target(account: ServiceAccount) -> Target:
    return Target(TargetType.SERVICE_ACCOUNT, account.uuid, account.description)


# -- creating ----------------------------------------------------------------


def store_service_account(
    runtime: Runtime,
    session: Session,
    *,
    organization_uuid: str,
    description: str,
    expires_at: datetime | None,
    created_by_user_uuid: str | None,
    raw_token: str | None = None,
) -> tuple[ServiceAccount, User, str]:
    """The principal row and the SA row, with no grant yet; returns them and the plaintext token.

    Rules: the principal is a service-account user (no email, no password,
    first name = description, last name empty, role member); only the token's
    keyed hash and hint are stored.
    """
    raw = raw_token or generate(TokenKind.SERVICE_ACCOUNT)
    key_id, digest = runtime.keyring.hash(raw)
    user = User(
        organization_uuid=organization_uuid,
        email=None,
        first_name=description,
        last_name="",
        password_hash=None,
        role="member",
        is_service_account=True,
        is_active=True,
    )
    session.add(user)
    session.flush()
    account = ServiceAccount(
        organization_uuid=organization_uuid,
        user_uuid=user.uuid,
        description=description,
        token_hash=digest,
        token_key_id=key_id,
        token_hint=hint(raw),
        expires_at=expires_at,
        created_by_user_uuid=created_by_user_uuid,
        scopes=[],
        role_uuid=None,
    )
    session.add(account)
    session.flush()
    return account, user, raw


def create_service_account(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    *,
    description: str | None,
    expires_at: datetime | None,
    scopes: Sequence[str] | None,
    role_uuid: str | None,
    project_access: Sequence[GrantRequest] | None,
    allowed_ip_ranges: Sequence[str] | None = None,
) -> tuple[ServiceAccount, str]:
    """Create an SA in the caller's organization; returns it with its token (shown once).

    Network rules: `allowed_ip_ranges` (see `clean_ip_ranges`) limits where its
    tokens are accepted from.

    Rules: description required (1-255 after trim); expiresAt null (never) or
    in the future; exactly one of the three shapes (see `parse_shape`); custom
    roles and projects must be the caller's organization's (404 naming them);
    nobody grants more than they hold (org grants against org-wide holdings,
    project grants against the caller's holding on that project); every row is
    written in the caller's transaction, so a failure leaves nothing behind;
    audited as service_account.created.
    """
    text = clean_description(description)
    check_future(expires_at, required=False)
    shape = parse_shape(scopes, role_uuid, project_access, editing=False)
    assert shape is not None
    ranges = clean_ip_ranges(allowed_ip_ranges)
    account, user, raw = store_service_account(
        runtime,
        session,
        organization_uuid=principal.organization_uuid,
        description=text,
        expires_at=expires_at,
        created_by_user_uuid=principal.user_uuid,
    )
    _apply_shape(session, runtime.settings, principal, account, user, shape)
    account.allowed_ip_ranges = ranges
    session.flush()
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.SERVICE_ACCOUNT_CREATED,
        target=_target(account),
        details={
            **_snapshot(session, account),
            "userUuid": user.uuid,
            "tokenHint": account.token_hint,
        },
    )
    log.info(
        "service_account.created", uuid=account.uuid, organization_uuid=account.organization_uuid
    )
    return account, raw


# -- reading -----------------------------------------------------------------


def list_service_accounts(session: Session, principal: Principal) -> list[AccountRow]:
    """The caller's organization's SAs, newest first, with creator and project grant count.

    Rules: only the caller's organization; one query whatever the number of SAs.
    """
    return repository.account_rows(session, principal.organization_uuid, now=utcnow())


def get_service_account(session: Session, principal: Principal, uuid: str) -> AccountRow:
    """One SA of the caller's organization.

    Rules: another organization's SA, or an unknown id, is 404.
    """
    rows = repository.account_rows(session, principal.organization_uuid, uuid, now=utcnow())
    if not rows:
        raise NotFoundError(NOT_FOUND_MESSAGE)
    return rows[0]


def _account(session: Session, principal: Principal, uuid: str) -> ServiceAccount:
    account = repository.account_in_organization(session, principal.organization_uuid, uuid)
    if account is None:
        raise NotFoundError(NOT_FOUND_MESSAGE)
    return account


def _principal_row(session: Session, account: ServiceAccount) -> User:
    user = session.get(User, account.user_uuid)
    assert user is not None  # foreign key
    return user


def _reachable(
    settings: Settings, session: Session, principal: Principal, uuid: str
) -> tuple[ServiceAccount, User]:
    """An SA the caller may act on: its organization's (404), holding no more than the caller (403)."""
    account = _account(session, principal, uuid)
    user = _principal_row(session, account)
    require_may_act_on(principal, grants_for(session, settings, user, account))
    return account, user


def reachable_account(
    settings: Settings, session: Session, principal: Principal, uuid: str
) -> ServiceAccount:
    """An SA the caller may manage (its trust policies, for one): 404 outside the caller's
    organization, 403 when it holds more than the caller."""
    account, _user = _reachable(settings, session, principal, uuid)
    return account


@dataclass(frozen=True)
class ProjectGrantView:
    project_uuid: str
    project_name: str
    role: str | None
    role_uuid: str | None
    role_name: str | None


def project_grants(session: Session, principal: Principal, uuid: str) -> list[ProjectGrantView]:
    """The project grants of one SA, with project and custom-role names.

    Rules: the SA must be the caller's organization's (else 404); one query.
    """
    account = _account(session, principal, uuid)
    return [
        ProjectGrantView(
            project_uuid=project.uuid,
            project_name=project.name,
            role=membership.role,
            role_uuid=membership.role_uuid,
            role_name=role.name if role is not None else None,
        )
        for membership, project, role in repository.project_access(session, account.user_uuid)
    ]


# -- editing -----------------------------------------------------------------


def update_service_account(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    uuid: str,
    *,
    description: str | None,
    scopes: Sequence[str] | None,
    role_uuid: str | None,
    project_access: Sequence[GrantRequest] | None,
    allowed_ip_ranges: Sequence[str] | None = None,
    set_ip_ranges: bool = False,
) -> ServiceAccount:
    """Edit an SA in place: its description and, when asked, its shape and network rules.

    With `set_ip_ranges` the allowedIpRanges are replaced (empty or null: any
    address); the change reaches cached tokens on the next request.

    Rules: 404 outside the caller's organization; description required;
    non-member scopes → organization scope (role cleared), roleUuid → custom
    role (scopes cleared), projectAccess or [system:member] → project scope with
    its grants replaced (at least one); none of them → rename only; switching
    clears the old shape's grants; the new grants pass the grant ceiling; the
    token, expiry, creator and principal id are untouched; the principal's first
    name follows the description; nobody edits an SA holding more than they do
    (403); audited with before and after.
    """
    account, user = _reachable(runtime.settings, session, principal, uuid)
    text = clean_description(description)
    shape = parse_shape(scopes, role_uuid, project_access, editing=True)
    ranges = clean_ip_ranges(allowed_ip_ranges)
    before = _snapshot(session, account)
    account.description = text
    user.first_name = text
    if set_ip_ranges:
        account.allowed_ip_ranges = ranges
    if shape is not None:
        _clear_project_grants(session, user.uuid)
        _apply_shape(session, runtime.settings, principal, account, user, shape)
    session.flush()
    after = _snapshot(session, account)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.SERVICE_ACCOUNT_UPDATED,
        target=_target(account),
        details=changes(before, after),
    )
    log.info(
        "service_account.updated", uuid=account.uuid, organization_uuid=account.organization_uuid
    )
    return account


# -- rotating ----------------------------------------------------------------


def rotate_token(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    uuid: str,
    *,
    expires_at: datetime | None,
    grace_period_minutes: int = 0,
) -> tuple[ServiceAccount, str]:
    """Replace an SA's token; returns the SA with the new token (shown once).

    Grace period: with `grace_period_minutes` (0-1440, default 0) the previous
    token keeps working that long (never beyond its own expiry), so a running
    deploy is not broken; a rotation ends any earlier grace at once, so at most
    two tokens live (tokens minted by trust policies aside).

    Rules: 404 outside the caller's organization; only an SA with an expiry can
    be rotated (400); the new expiresAt is required and in the future (400); at
    most once per hour counted from the last rotation, the first never limited
    (429 with Retry-After), decided by one conditional UPDATE in the database so
    it holds across concurrent requests and processes; the old token stops
    working at once; rotatedAt/rotatedByUserUuid are set; nobody rotates (and
    so receives the token of) an SA holding more than they do (403); audited
    as service_account.rotated without the token.
    """
    account, _user = _reachable(runtime.settings, session, principal, uuid)
    if account.expires_at is None:
        raise ParameterError(CANNOT_ROTATE_NON_EXPIRING)
    check_future(expires_at, required=True)
    assert expires_at is not None
    if not 0 <= grace_period_minutes <= MAX_GRACE_MINUTES:
        raise ParameterError(GRACE_RANGE, {"fields": {"gracePeriodMinutes": "0 to 1440"}})
    old_hash, old_key_id, old_hint = account.token_hash, account.token_key_id, account.token_hint
    old_expiry = account.expires_at
    assert old_expiry is not None  # checked above
    raw = generate(TokenKind.SERVICE_ACCOUNT)
    key_id, digest = runtime.keyring.hash(raw)
    now = utcnow()
    account_uuid = account.uuid
    matched = repository.rotate_if_allowed(
        session,
        account_uuid,
        token_hash=digest,
        token_key_id=key_id,
        token_hint=hint(raw),
        expires_at=expires_at,
        now=now,
        not_rotated_since=now - ROTATION_INTERVAL,
        rotated_by_user_uuid=principal.user_uuid,
    )
    if not matched:
        last = repository.rotated_at(session, account_uuid)
        if last is None:  # deleted meanwhile
            raise NotFoundError(NOT_FOUND_MESSAGE)
        wait = math.ceil((last + ROTATION_INTERVAL - utcnow()).total_seconds())
        raise TooManyRequestsError(ROTATE_ONCE_PER_HOUR, max(1, wait))
    repository.end_grace(session, account_uuid)
    previous_until = min(now + timedelta(minutes=grace_period_minutes), old_expiry)
    if grace_period_minutes and previous_until > now:
        repository.keep_previous_token(
            session,
            account_uuid,
            token_hash=old_hash,
            token_key_id=old_key_id,
            token_hint=old_hint,
            expires_at=previous_until,
        )
    session.refresh(account)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.SERVICE_ACCOUNT_ROTATED,
        target=_target(account),
        details={
            "expiresAt": iso(account.expires_at),
            "tokenHint": account.token_hint,
            **(
                {
                    "gracePeriodMinutes": grace_period_minutes,
                    "previousTokenHint": old_hint,
                    "previousTokenExpiresAt": iso(previous_until),
                }
                if grace_period_minutes
                else {}
            ),
        },
    )
    log.info(
        "service_account.rotated", uuid=account.uuid, organization_uuid=account.organization_uuid
    )
    return account, raw


# -- deleting ----------------------------------------------------------------


def delete_service_account(
    runtime: Runtime, session: Session, principal: Principal, uuid: str
) -> None:
    """Delete an SA: its token stops working on the very next request.

    Rules: 404 outside the caller's organization; nobody deletes an SA holding
    more than they do (403); the SA row, its project grants and its org-level
    binding go; the principal row stays (inactive, holding nothing) so past
    work keeps resolving to its description; audited as service_account.deleted
    with what it could do.
    """
    account, user = _reachable(runtime.settings, session, principal, uuid)
    before = _snapshot(session, account)
    target = _target(account)
    _clear_project_grants(session, user.uuid)
    user.is_active = False
    user.role, user.custom_role_uuid = "member", None
    session.delete(account)
    session.flush()
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.SERVICE_ACCOUNT_DELETED,
        target=target,
        details={"before": before},
    )
    log.info(
        "service_account.deleted", uuid=target.uuid, organization_uuid=principal.organization_uuid
    )


def record_system_creation(session: Session, account: ServiceAccount, actor: Actor) -> None:
    """Audit an SA created without a request principal (setup).

    Rules: same event as the API's, attributed to `actor`, never with the token.
    """
    record(
        session,
        organization_uuid=account.organization_uuid,
        actor=actor,
        action=AuditAction.SERVICE_ACCOUNT_CREATED,
        target=_target(account),
        details={
            **_snapshot(session, account),
            "userUuid": account.user_uuid,
            "tokenHint": account.token_hint,
        },
    )


def record_expired_attempt(session: Session, refused: ExpiredServiceAccountToken) -> None:
    """Audit an attempt with an expired token that matched a service account.

    Rules: in the account's organization, as the account itself (its
    description and token hint, never the token), reason "expired".
    """
    record(
        session,
        organization_uuid=refused.organization_uuid,
        actor=Actor(
            "service_account",
            refused.service_account_uuid,
            refused.description,
            refused.token_hint,
        ),
        action=AuditAction.SERVICE_ACCOUNT_AUTHENTICATION_FAILED,
        target=Target(
            TargetType.SERVICE_ACCOUNT, refused.service_account_uuid, refused.description
        ),
        details={"reason": "expired"},
    )


def record_network_denial(session: Session, refused: NetworkDeniedServiceAccountToken) -> None:
    """Audit a request with an SA token from outside the SA's allowedIpRanges.

    Rules: in the account's organization, as the account itself (description
    and token hint, never the token), with the refused address.
    """
    assert refused.service_account_uuid is not None
    record(
        session,
        organization_uuid=refused.organization_uuid,
        actor=Actor(
            "service_account",
            refused.service_account_uuid,
            refused.description,
            refused.token_hint,
        ),
        action=AuditAction.SERVICE_ACCOUNT_NETWORK_DENIED,
        target=Target(
            TargetType.SERVICE_ACCOUNT, refused.service_account_uuid, refused.description
        ),
        details={"ip": refused.ip, "reason": "outside allowedIpRanges"},
    )
