"""The Service Accounts page (`/generalSettings/serviceAccounts`) and its form posts.

Every change goes through `service_account.service`, exactly as the API's
handlers do; this module only turns forms into the service's arguments and
its answers into a page (or, for the page's own `fetch` calls, JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import zip_longest
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import PROJECT_ROLES, ROLE_LABELS
from lightkeeper.authz.access import require_org
from lightkeeper.config import Settings
from lightkeeper.deps import RuntimeDep, SessionDep
from lightkeeper.kit.clock import as_utc, iso, utcnow
from lightkeeper.kit.errors import LightkeeperError
from lightkeeper.kit.names import display_name
from lightkeeper.organization import service as organization_service
from lightkeeper.roles import service as roles_service
from lightkeeper.runtime import Runtime
from lightkeeper.service_account import service as sa_service
from lightkeeper.web.core import (
    PAGE_DEPENDENCIES,
    Csrf,
    Failure,
    FormProblem,
    PageRoute,
    SignedIn,
    json_ok,
    redirect,
    render,
    render_failure,
    wants_json,
)
from lightkeeper.web.forms import EXPIRATION_OPTIONS, FormList, FormText, expiry_from_choice
from lightkeeper.workload_identity import policies as trust_rules
from lightkeeper.workload_identity import service as trust_service

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

PAGE = "/generalSettings/serviceAccounts"
STALE_AFTER = timedelta(days=30)
EXPIRES_SOON = timedelta(days=7)

SELECT_PERMISSION_SET = "Please select a permission set"
ADD_A_PROJECT = "Add at least one project"
PICK_A_PROJECT = "Pick a project for each row"
CHOOSE_SCOPE = "Choose a scope: Organization or Project"

DEFAULT_EXPIRATION = "30"
ROTATE_OPTIONS = (("7", "7 days"), ("30", "30 days"), ("60", "60 days"), ("90", "90 days"))
STATUS_OPTIONS = (("all", "All"), ("active", "Active"), ("stale", "Stale"), ("expired", "Expired"))
GRACE_OPTIONS = (
    ("0", "None: the old token stops working at once"),
    ("15", "15 minutes"),
    ("60", "1 hour"),
    ("1440", "1 day"),
)
LIFETIME_OPTIONS = (("900", "15 minutes"), ("1800", "30 minutes"), ("3600", "1 hour"))
BAD_GRACE = "Choose a grace period"
BAD_CLAIM_LINE = "Write each extra claim as name=value, one per line"


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountView:
    """One row of the table: what the page shows of a service account."""

    uuid: str
    description: str
    is_project: bool
    access_label: str
    project_count: int
    custom_role_uuid: str | None
    role_value: str  # the create/edit role select's value for this SA
    legacy_scopes: str  # "" unless it holds legacy org:* scopes
    created_by: str | None
    created_by_uuid: str | None
    created_at: datetime
    expires_at: datetime | None
    expiry: str  # none | ok | soon | expired
    rotated_at: datetime | None
    last_used_at: datetime | None
    stale: bool
    status: str  # active | stale | expired
    token_hint: str
    previous_token_expires_at: datetime | None = None
    allowed_ip_ranges: str = ""  # one per line, as the edit modal shows them


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def account_view(
    row: sa_service.AccountRow, role_names: dict[str, str], now: datetime
) -> AccountView:
    account = row.account
    scopes = list(account.scopes or [])
    is_project = account.role_uuid is None and scopes == [sa_service.MEMBER_SCOPE]
    legacy = [s for s in scopes if s in sa_service.LEGACY_SCOPE_NAMES]
    if account.role_uuid is not None:
        label = role_names.get(account.role_uuid, "Custom role")
        role_value = f"custom:{account.role_uuid}"
    elif is_project:
        label = _count(row.project_access_count, "project")
        role_value = ""
    else:
        role = sa_service.org_role_of(scopes)
        label = ROLE_LABELS.get(role, role)
        role_value = "keep" if legacy else role
    created_at = as_utc(account.created_at)
    expires_at = as_utc(account.expires_at) if account.expires_at else None
    last_used = as_utc(account.last_used_at) if account.last_used_at else None
    if expires_at is None:
        expiry = "none"
    elif expires_at <= now:
        expiry = "expired"
    elif expires_at <= now + EXPIRES_SOON:
        expiry = "soon"
    else:
        expiry = "ok"
    stale = (last_used or created_at) < now - STALE_AFTER
    status = "expired" if expiry == "expired" else "stale" if stale else "active"
    creator = row.creator
    return AccountView(
        uuid=account.uuid,
        description=account.description,
        is_project=is_project,
        access_label=label,
        project_count=row.project_access_count,
        custom_role_uuid=account.role_uuid,
        role_value=role_value,
        legacy_scopes=", ".join(legacy),
        created_by=(
            display_name(creator.first_name, creator.last_name, creator.email) if creator else None
        ),
        created_by_uuid=creator.uuid if creator else None,
        created_at=created_at,
        expires_at=expires_at,
        expiry=expiry,
        rotated_at=as_utc(account.rotated_at) if account.rotated_at else None,
        last_used_at=last_used,
        stale=stale,
        status=status,
        token_hint=account.token_hint,
        previous_token_expires_at=row.previous_token_expires_at,
        allowed_ip_ranges="\n".join(account.allowed_ip_ranges or []),
    )


def _matches(view: AccountView, search: str, status: str, created_by: str) -> bool:
    if search and search.lower() not in view.description.lower():
        return False
    if status in ("active", "stale", "expired") and view.status != status:
        return False
    return not (created_by and view.created_by_uuid != created_by)


def _missing_settings(settings: Settings) -> list[str]:
    missing = []
    if not settings.service_account_enabled:
        missing.append("SERVICE_ACCOUNT_ENABLED=true")
    if not settings.has_enterprise_license:
        missing.append("LIGHTDASH_LICENSE_KEY")
    return missing


def _page(
    request: Request,
    runtime: Runtime,
    session: Session,
    principal: Principal,
    failure: Failure | None = None,
    created: dict[str, str] | None = None,
) -> Response:
    """The whole page: table, filters and the modals' choices."""
    require_org(principal, "manage", "Organization")
    settings = runtime.settings
    if not settings.is_service_account_enabled:
        return render(
            request,
            "service_accounts_disabled.html",
            {"missing": _missing_settings(settings)},
            active="serviceAccounts",
        )
    custom_roles = roles_service.list_roles(session, principal, principal.organization_uuid, "user")
    role_names = {r.role_uuid: r.name for r in custom_roles}
    now = utcnow()
    views = [
        account_view(row, role_names, now)
        for row in sa_service.list_service_accounts(session, principal)
    ]
    search = request.query_params.get("search", "").strip()
    status_filter = request.query_params.get("status", "all")
    created_by = request.query_params.get("createdBy", "")
    creators = sorted(
        {(v.created_by_uuid, v.created_by) for v in views if v.created_by_uuid and v.created_by},
        key=lambda item: (item[1] or "").lower(),
    )
    projects = organization_service.list_projects(session, principal)
    trust = trust_service.policies_by_account(runtime, session, principal)
    return render(
        request,
        "service_accounts.html",
        {
            "accounts": views,
            "shown": {v.uuid for v in views if _matches(v, search, status_filter, created_by)},
            "search": search,
            "status_filter": status_filter,
            "created_by": created_by,
            "creators": creators,
            "status_options": STATUS_OPTIONS,
            "system_roles": [(r, ROLE_LABELS[r]) for r in PROJECT_ROLES],
            "custom_roles": custom_roles,
            "projects": projects,
            "expiration_options": EXPIRATION_OPTIONS,
            "default_expiration": DEFAULT_EXPIRATION,
            "rotate_options": ROTATE_OPTIONS,
            "grace_options": GRACE_OPTIONS,
            "trust": trust,
            "presets": trust_rules.PRESETS,
            "lifetime_options": LIFETIME_OPTIONS,
            "error": failure.message if failure else None,
            "created": created,
        },
        status=failure.status if failure else 200,
        active="serviceAccounts",
    )


@router.get(PAGE)
def service_accounts_page(
    request: Request, principal: SignedIn, runtime: RuntimeDep, session: SessionDep
) -> Response:
    return _page(request, runtime, session, principal)


# -- forms into service arguments ---------------------------------------------------------


def ip_ranges_from_form(text: str) -> list[str]:
    """The modal's "Allowed IP ranges" box: one range per line (commas and spaces also split)."""
    return [part for part in text.replace(",", " ").split() if part]


def claims_from_form(first_id: str, second_id: str, preset: str, extra: str) -> dict[str, Any]:
    """A trust policy's claims: the preset's two immutable ids, then `name=value` lines."""
    claims: dict[str, Any] = {}
    chosen = trust_rules.PRESETS.get(preset)
    if chosen is not None:
        for name, value in zip(chosen.required_claims, (first_id, second_id), strict=True):
            if value.strip():
                claims[name] = value.strip()
    for line in extra.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise FormProblem(BAD_CLAIM_LINE, "claims")
        claims[name.strip()] = value.strip()
    return claims


@dataclass(frozen=True)
class ShapeChoice:
    scopes: list[str] | None
    role_uuid: str | None
    project_access: list[sa_service.GrantRequest] | None


def shape_from_form(
    scope: str,
    role: str,
    project_uuids: list[str] | None,
    project_roles: list[str] | None,
    *,
    editing: bool,
) -> ShapeChoice:
    """The service's shape arguments from the modal's fields (the page's own checks first)."""
    if scope == "project":
        rows = [
            (p.strip(), r.strip())
            for p, r in zip_longest(project_uuids or [], project_roles or [], fillvalue="")
        ]
        if not rows:
            raise FormProblem(ADD_A_PROJECT, "projects")
        if any(not p for p, _ in rows):
            raise FormProblem(PICK_A_PROJECT, "projects")
        if any(not r for _, r in rows):
            raise FormProblem(SELECT_PERMISSION_SET, "projects")
        grants = [
            sa_service.GrantRequest(p, None, r.removeprefix("custom:"))
            if r.startswith("custom:")
            else sa_service.GrantRequest(p, r, None)
            for p, r in rows
        ]
        return ShapeChoice([sa_service.MEMBER_SCOPE], None, grants)
    if scope != "organization":
        raise FormProblem(CHOOSE_SCOPE, "scope")
    role = role.strip()
    if not role:
        raise FormProblem(SELECT_PERMISSION_SET, "role")
    if role == "keep" and editing:
        return ShapeChoice(None, None, None)
    if role.startswith("custom:"):
        return ShapeChoice(None, role.removeprefix("custom:"), None)
    return ShapeChoice([f"system:{role}"], None, None)


def _failed(
    request: Request,
    runtime: Runtime,
    session: Session,
    principal: Principal,
    error: FormProblem | LightkeeperError,
) -> Response:
    return render_failure(
        request,
        session,
        lambda failure: _page(request, runtime, session, principal, failure),
        error,
    )


# -- changes ------------------------------------------------------------------------------


@router.post(PAGE)
def create_service_account(
    request: Request,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    description: FormText = "",
    expiration: FormText = DEFAULT_EXPIRATION,
    scope: FormText = "organization",
    role: FormText = "",
    project_uuid: FormList = None,
    project_role: FormList = None,
    allowed_ip_ranges: FormText = "",
) -> Response:
    sa_service.check_access(runtime.settings, principal)
    try:
        text = sa_service.clean_description(description)
        expires_at = expiry_from_choice(expiration)
        shape = shape_from_form(scope, role, project_uuid, project_role, editing=False)
        account, token = sa_service.create_service_account(
            runtime,
            session,
            principal,
            description=text,
            expires_at=expires_at,
            scopes=shape.scopes,
            role_uuid=shape.role_uuid,
            project_access=shape.project_access,
            allowed_ip_ranges=ip_ranges_from_form(allowed_ip_ranges),
        )
    except (FormProblem, LightkeeperError) as error:
        return _failed(request, runtime, session, principal, error)
    if wants_json(request):
        return json_ok(uuid=account.uuid, description=account.description, token=token)
    created = {
        "title": "Service account created",
        "description": account.description,
        "token": token,
        "notice": "Make sure to copy your access token now. You won't be able to see it again!",
    }
    return _page(request, runtime, session, principal, created=created)


@router.post(PAGE + "/{uuid}/edit")
def edit_service_account(
    request: Request,
    uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    description: FormText = "",
    scope: FormText = "organization",
    role: FormText = "",
    project_uuid: FormList = None,
    project_role: FormList = None,
    allowed_ip_ranges: FormText = "",
) -> Response:
    sa_service.check_access(runtime.settings, principal)
    try:
        shape = shape_from_form(scope, role, project_uuid, project_role, editing=True)
        sa_service.update_service_account(
            runtime,
            session,
            principal,
            uuid,
            description=description,
            scopes=shape.scopes,
            role_uuid=shape.role_uuid,
            project_access=shape.project_access,
            allowed_ip_ranges=ip_ranges_from_form(allowed_ip_ranges),
            set_ip_ranges=True,  # the modal always shows the ranges: what it sends is the list
        )
    except (FormProblem, LightkeeperError) as error:
        return _failed(request, runtime, session, principal, error)
    if wants_json(request):
        return json_ok()
    return redirect(PAGE + "?notice=sa_updated")


@router.post(PAGE + "/{uuid}/rotate")
def rotate_service_account(
    request: Request,
    uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    expiration: FormText = "",
    grace_period_minutes: FormText = "0",
) -> Response:
    sa_service.check_access(runtime.settings, principal)
    try:
        expires_at = expiry_from_choice(expiration, allow_never=False)
        if not grace_period_minutes.strip().isdigit():
            raise FormProblem(BAD_GRACE, "grace_period_minutes")
        account, token = sa_service.rotate_token(
            runtime,
            session,
            principal,
            uuid,
            expires_at=expires_at,
            grace_period_minutes=int(grace_period_minutes),
        )
        previous_until = sa_service.get_service_account(
            session, principal, account.uuid
        ).previous_token_expires_at
    except (FormProblem, LightkeeperError) as error:
        return _failed(request, runtime, session, principal, error)
    notice = (
        f"Your old token keeps working until {iso(previous_until)}."
        if previous_until
        else "Your old token is now invalid."
    )
    if wants_json(request):
        return json_ok(
            uuid=account.uuid,
            token=token,
            expiresAt=iso(account.expires_at),
            previousTokenExpiresAt=iso(previous_until),
            notice=notice,
        )
    created = {
        "title": "Token rotated",
        "description": account.description,
        "token": token,
        "notice": notice,
    }
    return _page(request, runtime, session, principal, created=created)


@router.post(PAGE + "/{uuid}/delete")
def delete_service_account(
    request: Request,
    uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    sa_service.check_access(runtime.settings, principal)
    try:
        sa_service.delete_service_account(runtime, session, principal, uuid)
    except LightkeeperError as error:
        return _failed(request, runtime, session, principal, error)
    if wants_json(request):
        return json_ok()
    return redirect(PAGE + "?notice=sa_deleted")


# -- trust policies (keyless CI) -------------------------------------------------------------


@router.post(PAGE + "/{uuid}/trust-policies")
def add_trust_policy(
    request: Request,
    uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    preset: FormText = "github",
    issuer: FormText = "",
    first_id: FormText = "",
    second_id: FormText = "",
    subject: FormText = "",
    claims: FormText = "",
    audience: FormText = "",
    max_token_lifetime_seconds: FormText = "900",  # noqa: S107 - seconds, not a secret
) -> Response:
    sa_service.check_access(runtime.settings, principal)
    try:
        lifetime = max_token_lifetime_seconds.strip()
        policy = trust_service.create_policy(
            runtime,
            session,
            principal,
            uuid,
            preset=preset if preset in trust_rules.PRESETS else "custom",
            issuer=issuer.strip() or None,
            audience=audience.strip() or None,
            subject=subject.strip() or None,
            claims=claims_from_form(first_id, second_id, preset, claims),
            max_token_lifetime_seconds=int(lifetime) if lifetime.isdigit() else None,
            enabled=True,
        )
    except (FormProblem, LightkeeperError) as error:
        return _failed(request, runtime, session, principal, error)
    if wants_json(request):
        return json_ok(uuid=policy.uuid)
    return redirect(PAGE + "?notice=trust_policy_added")


@router.post(PAGE + "/{uuid}/trust-policies/{policy_uuid}/delete")
def remove_trust_policy(
    request: Request,
    uuid: str,
    policy_uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    sa_service.check_access(runtime.settings, principal)
    try:
        trust_service.delete_policy(runtime, session, principal, uuid, policy_uuid)
    except LightkeeperError as error:
        return _failed(request, runtime, session, principal, error)
    if wants_json(request):
        return json_ok()
    return redirect(PAGE + "?notice=trust_policy_removed")
