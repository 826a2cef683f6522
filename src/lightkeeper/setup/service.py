"""First-run setup: initialize an empty instance from LD_SETUP_* variables.

`run_setup` runs at server start (`lightkeeper serve`), after migrations. It
reads the variables from the environment, with a `.env` file in the working
directory underneath (the environment wins), as the settings do.

Order of work, and why:
1. Every LD_SETUP_* value is validated on every start, even when the
   instance is already set up: a bad value stops the server with a message
   naming the variable instead of lying dormant until the next fresh install.
2. Nothing happens without LD_SETUP_ADMIN_EMAIL (Lightdash's rule).
3. Only while no organization exists: a restart never duplicates anything.
4. Everything is created in one transaction: the organization, the admin,
   then each optional step (`SETUP_STEPS`), each with its audit event. A
   failure leaves the instance exactly as empty as it was.

Optional pieces are `SetupStep`s: `prepare` validates the step's variables
and returns the action to run (or None when the step is not configured).
The setup service account (LD_SETUP_SERVICE_ACCOUNT_TOKEN / _EXPIRATION) is
one such step (setup/service_account.py); see `SETUP_STEPS`. What a step is,
and the readers every step shares, are in setup/steps.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
from dotenv import dotenv_values
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, record
from lightkeeper.auth.roles import ORG_ROLES
from lightkeeper.db import transaction
from lightkeeper.identity import repository as identity_repository
from lightkeeper.identity.people import create_organization_with_admin, validate_password
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import LightkeeperError
from lightkeeper.kit.tokens import TokenKind
from lightkeeper.models import Project
from lightkeeper.personal_token.service import store_personal_token
from lightkeeper.project import repository as project_repository
from lightkeeper.project.demo import DEMO_PROJECT_NAME, create_demo_project
from lightkeeper.runtime import Runtime
from lightkeeper.setup import service_account as service_account_setup
from lightkeeper.setup.steps import (
    SETUP_ACTOR,
    SetupAction,
    SetupContext,
    SetupError,
    SetupStep,
    check_setup_token,
    env_value,
    expiry,
    parse_expiration_days,
)

log = structlog.get_logger()

PREFIX = "LD_SETUP_"
DEFAULT_ADMIN_NAME = "Admin User"
ADMIN_API_KEY_DESCRIPTION = "Initial setup API key"


# -- reading and validating variables ----------------------------------------------


def setup_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The LD_SETUP_* variables: `environ` as given, else the process environment over `.env`."""
    if environ is None:
        from_file = {k: v for k, v in dotenv_values(Path(".env")).items() if v is not None}
        environ = {**from_file, **os.environ}
    return {k: v for k, v in environ.items() if k.startswith(PREFIX)}


# -- the core: organization and admin ----------------------------------------------

CORE_VARIABLES = (
    "LD_SETUP_ORGANIZATION_NAME",
    "LD_SETUP_ADMIN_EMAIL",
    "LD_SETUP_ADMIN_NAME",
    "LD_SETUP_ADMIN_PASSWORD",
    "LD_SETUP_ORGANIZATION_DEFAULT_ROLE",
)


@dataclass(frozen=True)
class CorePlan:
    organization_name: str
    default_role: str
    admin_email: str
    admin_first_name: str
    admin_last_name: str
    admin_password: str | None


def _split_name(full_name: str) -> tuple[str, str]:
    first, _, last = full_name.strip().partition(" ")
    return first, last.strip()


def parse_core(runtime: Runtime, env: Mapping[str, str]) -> CorePlan | None:
    """The organization and its admin; None without LD_SETUP_ADMIN_EMAIL.

    Rules: every value that is set is validated even without the email (a
    typo never lies dormant); with the email, LD_SETUP_ORGANIZATION_NAME is
    required; the default role is an org role (default viewer); the name
    defaults to "Admin User" (first word = first name); a password obeys
    the password rules.
    """
    role = env_value(env, "LD_SETUP_ORGANIZATION_DEFAULT_ROLE") or "viewer"
    if role not in ORG_ROLES:
        raise SetupError(
            f"LD_SETUP_ORGANIZATION_DEFAULT_ROLE must be one of {', '.join(ORG_ROLES)}, "
            f"not {role!r}"
        )
    password = env.get("LD_SETUP_ADMIN_PASSWORD") or None  # a password's blanks are its own
    if password is not None:
        try:
            validate_password(runtime, password)
        except LightkeeperError as error:
            raise SetupError(f"LD_SETUP_ADMIN_PASSWORD: {error.message}") from None
    email = env_value(env, "LD_SETUP_ADMIN_EMAIL")
    if email is not None and ("@" not in email or len(email) > 320 or " " in email):
        raise SetupError("LD_SETUP_ADMIN_EMAIL must be a valid email address")
    organization_name = env_value(env, "LD_SETUP_ORGANIZATION_NAME")
    if organization_name is not None and len(organization_name) > 255:
        raise SetupError("LD_SETUP_ORGANIZATION_NAME must be at most 255 characters")
    first_name, last_name = _split_name(env_value(env, "LD_SETUP_ADMIN_NAME") or DEFAULT_ADMIN_NAME)
    if len(first_name) > 255 or len(last_name) > 255:
        raise SetupError("LD_SETUP_ADMIN_NAME is too long (at most 255 characters per name)")
    if email is None:
        return None
    if organization_name is None:
        raise SetupError(
            "LD_SETUP_ORGANIZATION_NAME is required when LD_SETUP_ADMIN_EMAIL is set: "
            "name the organization to create"
        )
    return CorePlan(organization_name, role, email.lower(), first_name, last_name, password)


def _create_core(runtime: Runtime, session: Session, plan: CorePlan) -> SetupContext:
    organization, admin = create_organization_with_admin(
        runtime,
        session,
        organization_name=plan.organization_name,
        default_role=plan.default_role,
        email=plan.admin_email,
        first_name=plan.admin_first_name,
        last_name=plan.admin_last_name,
        password=plan.admin_password,
        actor=SETUP_ACTOR,
        via="setup",
    )
    return SetupContext(runtime, session, organization, admin, utcnow())


# -- optional steps ---------------------------------------------------------------


def _prepare_admin_api_key(runtime: Runtime, env: Mapping[str, str]) -> SetupAction | None:
    """LD_SETUP_ADMIN_API_KEY / LD_SETUP_API_KEY_EXPIRATION: a personal token for the admin.

    Rules: the token's shape (see `check_setup_token`); the expiration is
    validated even without a token; an explicit expiration beyond
    PAT_MAX_EXPIRATION_TIME_IN_DAYS (or "never" while a maximum is set) is
    refused, and the default is shortened to that maximum.
    """
    explicit = env_value(env, "LD_SETUP_API_KEY_EXPIRATION") is not None
    days = parse_expiration_days(env, "LD_SETUP_API_KEY_EXPIRATION")
    limit = runtime.settings.pat_max_expiration_time_in_days
    if limit is not None and (days is None or days > limit):
        if explicit:
            raise SetupError(
                f"LD_SETUP_API_KEY_EXPIRATION must be between 1 and {limit} days: "
                f"PAT_MAX_EXPIRATION_TIME_IN_DAYS is {limit}"
            )
        days = limit
    token = check_setup_token(env, "LD_SETUP_ADMIN_API_KEY", TokenKind.PERSONAL)
    if token is None:
        return None
    settings = runtime.settings
    if not settings.pat_enabled:
        log.warning(
            "setup.admin_api_key_disabled",
            reason="PAT_ENABLED=false",
            hint="the token is stored but works only once PAT_ENABLED=true",
        )
    elif "admin" not in settings.pat_allowed_roles:
        log.warning(
            "setup.admin_api_key_disabled",
            reason="PAT_ALLOWED_ORG_ROLES excludes admin",
            hint="the token is stored but admins may not use personal tokens",
        )

    def create(ctx: SetupContext) -> None:
        pat, _raw = store_personal_token(
            ctx.runtime,
            ctx.session,
            ctx.admin,
            description=ADMIN_API_KEY_DESCRIPTION,
            expires_at=expiry(days, ctx.now),
            raw=token,
        )
        record(
            ctx.session,
            organization_uuid=ctx.organization.uuid,
            actor=ctx.actor,
            action=AuditAction.PERSONAL_ACCESS_TOKEN_CREATED,
            target=Target(TargetType.PERSONAL_ACCESS_TOKEN, pat.uuid, pat.description),
            details={
                "userUuid": ctx.admin.uuid,
                "tokenHint": pat.token_hint,
                "expiresAt": pat.expires_at.isoformat() if pat.expires_at else None,
            },
        )

    return create


def _prepare_project(runtime: Runtime, env: Mapping[str, str]) -> SetupAction | None:
    """LD_SETUP_PROJECT_NAME: a first DEFAULT project, created by the admin.

    Rules: at most 255 characters; no warehouse connection (set one with
    PATCH /api/v1/projects/{uuid} or on the Projects settings page).
    """
    name = env_value(env, "LD_SETUP_PROJECT_NAME")
    if name is None:
        return None
    if len(name) > 255:
        raise SetupError("LD_SETUP_PROJECT_NAME must be at most 255 characters")

    def create(ctx: SetupContext) -> None:
        project = Project(
            organization_uuid=ctx.organization.uuid,
            name=name,
            type="DEFAULT",
            created_by_user_uuid=ctx.admin.uuid,
        )
        ctx.session.add(project)
        ctx.session.flush()
        record(
            ctx.session,
            organization_uuid=ctx.organization.uuid,
            actor=ctx.actor,
            action=AuditAction.PROJECT_CREATED,
            target=Target(TargetType.PROJECT, project.uuid, project.name),
            details={"name": project.name, "type": project.type},
        )

    return create


def _prepare_demo(runtime: Runtime, env: Mapping[str, str]) -> SetupAction | None:
    """LIGHTKEEPER_DEMO: the demo project (project/demo.py), created by the admin.

    Rules: only with LIGHTKEEPER_DEMO=true (`serve --demo`); no LD_SETUP_* variable of its own.
    """
    if not runtime.settings.demo:
        return None

    def create(ctx: SetupContext) -> None:
        create_demo_project(ctx.runtime, ctx.session, ctx.organization, ctx.admin, ctx.actor)

    return create


ADMIN_API_KEY_STEP = SetupStep(
    "admin_api_key",
    ("LD_SETUP_ADMIN_API_KEY", "LD_SETUP_API_KEY_EXPIRATION"),
    _prepare_admin_api_key,
)
PROJECT_STEP = SetupStep("project", ("LD_SETUP_PROJECT_NAME",), _prepare_project)
DEMO_STEP = SetupStep("demo_project", (), _prepare_demo)

# The setup service account (LD_SETUP_SERVICE_ACCOUNT_TOKEN / _EXPIRATION) is the
# step of setup/service_account.py: it validates with `check_setup_token` and
# `parse_expiration_days` (setup/steps.py) and creates the account with `ctx.admin` as creator.
SERVICE_ACCOUNT_STEP = SetupStep(
    "service_account",
    service_account_setup.VARIABLES,
    service_account_setup.prepare_service_account,
)

# The optional steps, in order; each runs after the organization and admin exist.
# Another LD_SETUP_* feature plugs in as one more SetupStep here.
SETUP_STEPS: tuple[SetupStep, ...] = (
    ADMIN_API_KEY_STEP,
    SERVICE_ACCOUNT_STEP,
    PROJECT_STEP,
    DEMO_STEP,
)


# -- running it -------------------------------------------------------------------


def run_setup(
    runtime: Runtime,
    environ: Mapping[str, str] | None = None,
    *,
    steps: Sequence[SetupStep] | None = None,
) -> bool:
    """Initialize an empty instance from LD_SETUP_*; does nothing once an organization exists.

    Rules: every set variable is validated on every start (SetupError names
    the variable); nothing happens without LD_SETUP_ADMIN_EMAIL; only while
    no organization exists; the organization, admin and every step are
    created in one transaction with their audit events (actor LD_SETUP);
    a concurrent start that set the instance up first wins, the other skips.
    Logs `setup.completed` or `setup.skipped`, never a token. Returns
    whether the instance was initialized.
    """
    env = setup_environment(environ)
    steps = SETUP_STEPS if steps is None else steps
    plan = parse_core(runtime, env)
    actions = [
        (step.name, action) for step in steps if (action := step.prepare(runtime, env)) is not None
    ]
    known = {*CORE_VARIABLES, *(v for step in steps for v in step.variables)}
    if unknown := sorted(set(env) - known):
        # A typo (LD_SETUP_ADMIN_EMIAL) or a variable this version does not support yet.
        log.warning("setup.unknown_variables", variables=unknown, hint="they are ignored")
    if plan is None:
        if env:
            log.warning(
                "setup.skipped", reason="LD_SETUP_ADMIN_EMAIL is not set", variables=sorted(env)
            )
        return False
    try:
        with transaction(runtime.sessions) as session:
            # The same lock as first registration: a setup racing the web
            # registration page, or another server process, waits and then skips.
            identity_repository.lock_first_registration(session)
            if identity_repository.organization_count(session) > 0:
                log.info("setup.skipped", reason="an organization already exists")
                return False
            ctx = _create_core(runtime, session, plan)
            for _name, action in actions:
                action(ctx)
            organization_uuid, admin_uuid = ctx.organization.uuid, ctx.admin.uuid
    except IntegrityError:
        # Another server process initialized the instance at the same moment
        # (unique organization name / email): theirs stands, ours rolled back.
        with runtime.sessions() as session:
            if identity_repository.organization_count(session) > 0:
                log.info("setup.skipped", reason="another process set the instance up first")
                return False
        raise
    except LightkeeperError as error:
        # The services' own rules (e.g. a name conflict): name the setup as the culprit.
        raise SetupError(f"LD_SETUP_*: {error.message}") from None
    log.info(
        "setup.completed",
        organization_uuid=organization_uuid,
        organization_name=plan.organization_name,
        admin_uuid=admin_uuid,
        admin_email=plan.admin_email,
        steps=[name for name, _action in actions],
    )
    return True


def add_demo_to_existing_instance(runtime: Runtime) -> bool:
    """LIGHTKEEPER_DEMO on an instance set up without it: give its first organization the demo.

    Rules: only with LIGHTKEEPER_DEMO=true; only when an organization exists and has no project
    named like the demo's (so a restart adds nothing, and unsetting the variable stops it);
    created by that organization's first active admin (none: nothing happens, with a warning);
    audited with the setup actor. Returns whether the demo project was added.
    """
    if not runtime.settings.demo:
        return False
    with transaction(runtime.sessions) as session:
        identity_repository.lock_first_registration(session)
        organization = identity_repository.first_organization(session)
        if organization is None:
            return False  # the first registration or LD_SETUP_* adds it
        if project_repository.project_named(session, organization.uuid, DEMO_PROJECT_NAME):
            return False
        admin = identity_repository.first_admin(session, organization.uuid)
        if admin is None:
            log.warning("setup.demo_skipped", reason="the first organization has no active admin")
            return False
        project = create_demo_project(runtime, session, organization, admin, SETUP_ACTOR)
        log.info("setup.demo_added", organization_uuid=organization.uuid, project_uuid=project.uuid)
    return True
