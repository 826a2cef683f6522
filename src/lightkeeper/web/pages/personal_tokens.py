"""`/generalSettings/personalAccessTokens`: one's own personal tokens (the token shown once)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lightkeeper.auth.principal import Principal
from lightkeeper.deps import RuntimeDep, SessionDep
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import ForbiddenError, LightkeeperError
from lightkeeper.personal_token import service as personal_token_service
from lightkeeper.runtime import Runtime
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
from lightkeeper.web.forms import EXPIRATION_OPTIONS, FormText, add_months, expiry_from_choice

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

PAGE = "/generalSettings/personalAccessTokens"


def _expiration_options(runtime: Runtime) -> list[tuple[str, str]]:
    """The create choices, within PAT_MAX_EXPIRATION_TIME_IN_DAYS when it is set."""
    max_days = runtime.settings.pat_max_expiration_time_in_days
    if max_days is None:
        return list(EXPIRATION_OPTIONS)
    now = utcnow()
    days = {"6m": (add_months(now, 6) - now).days, "1y": (add_months(now, 12) - now).days}
    options = []
    for value, label in EXPIRATION_OPTIONS:
        if value == "never":
            continue
        if (days.get(value) or int(value)) <= max_days:
            options.append((value, label))
    return options or [(str(max_days), f"{max_days} days")]


def _tokens_page(
    request: Request,
    runtime: Runtime,
    session: Session,
    principal: Principal,
    failure: Failure | None = None,
    created: dict[str, str] | None = None,
) -> Response:
    try:
        tokens = personal_token_service.list_personal_tokens(runtime, session, principal)
    except ForbiddenError as problem:
        return render(
            request,
            "personal_tokens.html",
            {"disabled": problem.message, "tokens": [], "options": [], "created": None},
            active="personalAccessTokens",
        )
    options = _expiration_options(runtime)
    return render(
        request,
        "personal_tokens.html",
        {
            "disabled": None,
            "tokens": tokens,
            "options": options,
            "default_expiration": "30" if any(v == "30" for v, _ in options) else options[0][0],
            "created": created,
            "error": failure.message if failure else None,
        },
        status=failure.status if failure else 200,
        active="personalAccessTokens",
    )


@router.get(PAGE)
def personal_tokens_page(
    request: Request, principal: SignedIn, runtime: RuntimeDep, session: SessionDep
) -> Response:
    return _tokens_page(request, runtime, session, principal)


@router.post(PAGE)
def create_personal_token(
    request: Request,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
    description: FormText = "",
    expiration: FormText = "30",
) -> Response:
    try:
        expires_at = expiry_from_choice(expiration)
        pat, token = personal_token_service.create_personal_token(
            runtime, session, principal, description=description, expires_at=expires_at
        )
    except (FormProblem, LightkeeperError) as error:
        return render_failure(
            request,
            session,
            lambda failure: _tokens_page(request, runtime, session, principal, failure),
            error,
        )
    if wants_json(request):
        return json_ok(uuid=pat.uuid, description=pat.description, token=token)
    created = {"description": pat.description, "token": token}
    return _tokens_page(request, runtime, session, principal, created=created)


@router.post(PAGE + "/{uuid}/delete")
def delete_personal_token(
    request: Request,
    uuid: str,
    _csrf: Csrf,
    principal: SignedIn,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    try:
        personal_token_service.delete_personal_token(runtime, session, principal, uuid)
    except LightkeeperError as error:
        return render_failure(
            request,
            session,
            lambda failure: _tokens_page(request, runtime, session, principal, failure),
            error,
        )
    return redirect(PAGE + "?notice=pat_deleted")
