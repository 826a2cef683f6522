"""Plumbing of the web UI: templates, the signed-in person, CSRF, error pages, the side menu.

Pages authenticate by the session cookie only (never an `Authorization`
header), so every signed-in page has a session to derive its CSRF token from.
Every unsafe request must carry that token (form field `csrf_token` or header
`X-CSRF-Token`); anonymous forms (login, register, invite) use a token derived
from a random HTTP-only cookie instead. Errors raised by the services reach the
person as a page (or, for the pages' own `fetch` calls, as a JSON message the
page shows), never as the API's raw envelope; a refused form post is shown
again through `render_failure`, the one rollback-and-re-render path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
import structlog
from fastapi import Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from lightkeeper import __version__
from lightkeeper.auth.credentials import SESSION_COOKIE
from lightkeeper.auth.principal import Principal
from lightkeeper.auth.roles import ROLE_LABELS
from lightkeeper.auth.service import authenticate_session
from lightkeeper.authz.access import allows_org
from lightkeeper.deps import RequestRoute, RuntimeDep, SessionDep
from lightkeeper.identity.endpoints import cookie_is_secure
from lightkeeper.kit.clock import as_utc, utcnow
from lightkeeper.kit.errors import LightkeeperError, TooManyRequestsError
from lightkeeper.kit.names import display_name
from lightkeeper.kit.request_context import current_request
from lightkeeper.kit.threadpool import run_sync
from lightkeeper.runtime import Runtime

log = structlog.get_logger()

ANON_CSRF_COOKIE = "lightkeeper_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_REFUSED = (
    "This form could not be verified (missing or invalid security token). "
    "Reload the page and try again."
)
NO_ACCESS_TITLE = "You don't have access"
NO_ACCESS_TEXT = (
    "Your role in this organization does not allow you to use this page. "
    "Ask an administrator of your organization if you need it."
)

# Pages never load anything from elsewhere and never run inline code.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

NOTICES = {
    "logged_out": "You have been logged out.",
    "password_changed": "Your password has been changed. Your other sessions were ended.",
    "sa_updated": "Service account updated.",
    "sa_deleted": "Service account deleted. Its token no longer works.",
    "trust_policy_added": "Trust policy added: CI jobs it trusts can now exchange their identity token.",
    "trust_policy_removed": "Trust policy removed. The tokens it issued no longer work.",
    "pat_deleted": "Personal access token deleted. It no longer works.",
    "role_changed": "Role changed.",
    "member_removed": "Member removed. Their sessions and personal tokens were revoked.",
    "invite_deleted": "Invite link deleted.",
    "role_created": "Custom role created.",
    "role_updated": "Custom role saved.",
    "role_deleted": "Custom role deleted.",
    "project_member_added": "Project member added.",
    "project_member_updated": "Project member's role changed.",
    "project_member_removed": "Project member removed.",
    "group_created": "Group created.",
    "group_deleted": "Group deleted. Its members lost what it gave them.",
    "group_member_added": "Member added to the group.",
    "group_member_removed": "Member removed from the group.",
    "warehouse_saved": "Warehouse connection saved.",
    "warehouse_removed": "Warehouse connection removed.",
}


# -- templates --------------------------------------------------------------------------


Time = datetime | str  # a time, or its wire text (`kit.clock.iso`: the lists read times so)


def _utc(value: Time) -> datetime:
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _date(value: Time | None) -> str:
    if value is None:
        return ""
    value = _utc(value)
    return f"{value.strftime('%b')} {value.day}, {value.year}"


def _full_time(value: Time | None) -> str:
    if value is None:
        return ""
    return _utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(value: Time | None) -> str:
    if value is None:
        return ""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _role_label(role: str | None) -> str:
    return ROLE_LABELS.get(role or "", role or "")


def static_url(path: str) -> str:
    return f"/static/web/{path}?v={quote(__version__)}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("lightkeeper.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date"] = _date
    env.filters["full_time"] = _full_time
    env.filters["iso"] = _iso
    env.filters["role_label"] = _role_label
    env.globals["static"] = static_url
    return env


def static_root() -> Any:
    return files("lightkeeper.web") / "static"


# -- who is signed in ---------------------------------------------------------------------


class LoginRequired(Exception):
    """No valid session: the page sends the person to /login."""


class CsrfRejected(Exception):
    """An unsafe request without a valid CSRF token."""


async def _web_principal(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> Principal | None:
    """The person of the session cookie; headers are ignored (pages are for browsers)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    principal = await run_sync(authenticate_session, runtime, session, cookie) if cookie else None
    request.state.web_principal = principal
    return principal


OptionalUser = Annotated[Principal | None, Depends(_web_principal)]


async def _signed_in(principal: OptionalUser) -> Principal:
    if principal is None:
        raise LoginRequired()
    return principal


SignedIn = Annotated[Principal, Depends(_signed_in)]


# -- CSRF -------------------------------------------------------------------------------


def _mac(runtime: Runtime, purpose: str, value: str) -> str:
    message = f"lightkeeper/csrf/v1:{purpose}:{value}".encode()
    return hmac.new(runtime.keyring.current.key, message, hashlib.sha256).hexdigest()


def session_csrf_token(runtime: Runtime, principal: Principal) -> str:
    """Derived from the session's stored hash: valid exactly as long as the session."""
    return _mac(runtime, "session", principal.session_token_hash or "")


def _expected_token(request: Request, runtime: Runtime, principal: Principal | None) -> str | None:
    if principal is not None and principal.session_token_hash:
        return session_csrf_token(runtime, principal)
    cookie = request.cookies.get(ANON_CSRF_COOKIE)
    return _mac(runtime, "anonymous", cookie) if cookie else None


async def _check_csrf(
    request: Request,
    runtime: RuntimeDep,
    principal: OptionalUser,
    csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> None:
    presented = csrf_token or request.headers.get(CSRF_HEADER)
    expected = _expected_token(request, runtime, principal)
    if not presented or not expected or not hmac.compare_digest(presented, expected):
        log.warning("web.csrf_refused", path=request.url.path, ip=current_request.get().ip)
        raise CsrfRejected()


Csrf = Annotated[None, Depends(_check_csrf)]


async def _check_anonymous_csrf(
    request: Request,
    runtime: RuntimeDep,
    csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> None:
    """Forms shown to people who are not signed in (login, register, invite)."""
    presented = csrf_token or request.headers.get(CSRF_HEADER)
    expected = _expected_token(request, runtime, None)
    if not presented or not expected or not hmac.compare_digest(presented, expected):
        log.warning("web.csrf_refused", path=request.url.path, ip=current_request.get().ip)
        raise CsrfRejected()


AnonymousCsrf = Annotated[None, Depends(_check_anonymous_csrf)]


def _csrf_for_page(
    request: Request, runtime: Runtime, principal: Principal | None, anonymous: bool = False
) -> str:
    """The token a rendered form carries; anonymous pages get a fresh cookie if they have none."""
    if principal is not None and principal.session_token_hash and not anonymous:
        return session_csrf_token(runtime, principal)
    cookie = request.cookies.get(ANON_CSRF_COOKIE) or getattr(request.state, "new_anon_csrf", None)
    if not cookie:
        cookie = secrets.token_urlsafe(32)
        request.state.new_anon_csrf = cookie
    return _mac(runtime, "anonymous", cookie)


# -- responses ----------------------------------------------------------------------------


def wants_json(request: Request) -> bool:
    """The pages' own `fetch` calls ask for JSON; a plain form post gets a page."""
    return "application/json" in request.headers.get("accept", "")


def json_ok(**values: Any) -> JSONResponse:
    return JSONResponse({"status": "ok", **values}, headers={"Cache-Control": "no-store"})


def json_error(message: str, status: int, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"status": "error", "error": {"statusCode": status, "message": message, "field": field}},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def error_message(error: LightkeeperError) -> str:
    """A service error as a sentence for a person (rate limits say when to retry)."""
    message = error.message
    if isinstance(error, TooManyRequestsError):
        minutes = max(1, round(error.retry_after_seconds / 60))
        message += f". Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        message = message.replace("..", ".")
    return message


def _finish(request: Request, response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    new_cookie = getattr(request.state, "new_anon_csrf", None)
    if new_cookie:
        runtime: Runtime = request.app.state.runtime
        response.set_cookie(
            ANON_CSRF_COOKIE,
            new_cookie,
            path="/",
            httponly=True,
            samesite="strict",
            secure=cookie_is_secure(request, runtime),
        )
    return response


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str
    href: str


def menu(runtime: Runtime, principal: Principal) -> list[MenuItem]:
    """The side menu: only the pages this principal may use."""
    items: list[MenuItem] = []
    manages_org = allows_org(principal, "manage", "Organization")
    if manages_org:
        items.append(
            MenuItem("serviceAccounts", "Service accounts", "/generalSettings/serviceAccounts")
        )
    items.append(
        MenuItem(
            "personalAccessTokens",
            "Personal access tokens",
            "/generalSettings/personalAccessTokens",
        )
    )
    if allows_org(principal, "view", "OrganizationMemberProfile"):
        items.append(MenuItem("users", "Users", "/generalSettings/users"))
    items.append(MenuItem("projects", "Projects", "/generalSettings/projects"))
    if manages_org:
        items.append(MenuItem("customRoles", "Custom roles", "/generalSettings/customRoles"))
        items.append(MenuItem("auditLog", "Audit log", "/generalSettings/auditLog"))
    items.append(MenuItem("password", "Password", "/generalSettings/password"))
    return items


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    principal: Principal | None = None,
    active: str | None = None,
    anonymous: bool = False,
) -> Response:
    """A page. Signed-in pages get the layout's side menu and the session's CSRF token."""
    runtime: Runtime = request.app.state.runtime
    principal = principal or getattr(request.state, "web_principal", None)
    notice_key = request.query_params.get("notice", "")
    values: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "csrf_token": _csrf_for_page(request, runtime, principal, anonymous),
        "menu": menu(runtime, principal) if principal is not None else [],
        "active": active,
        "notice": NOTICES.get(notice_key),
        "error": None,
        "display_name": display_name,
        "now": utcnow(),
    }
    values.update(context or {})
    html = environment().get_template(template).render(values)
    return _finish(request, HTMLResponse(html, status_code=status))


def redirect(url: str, *, status: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status, headers={"Cache-Control": "no-store"})


def safe_next(value: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/generalSettings"


# -- a failed form post -------------------------------------------------------------------


class FormProblem(Exception):
    """A form the page itself refuses before asking the service (the page's own checks)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Failure:
    """Why a form post failed, as the page shows it again: status, sentence, fields to mark."""

    status: int
    message: str
    fields: tuple[str, ...] = ()  # in the service's order: the first is the one to focus


def failure_of(error: FormProblem | LightkeeperError) -> Failure:
    if isinstance(error, FormProblem):
        return Failure(400, error.message, (error.field,))
    fields = error.data.get("fields") if isinstance(error.data, dict) else None
    named = tuple(fields) if isinstance(fields, dict) else ()
    return Failure(error.status_code, error_message(error), named)


def render_failure(
    request: Request,
    session: Session,
    page: Callable[[Failure], Response],
    error: FormProblem | LightkeeperError,
) -> Response:
    """A refused form post: roll back what it wrote, then show `page` again with the error.

    The rollback comes first so the page re-reads the state as it was before
    the attempt. The pages' own `fetch` calls get the JSON message instead;
    the service's headers (a rate limit's Retry-After) are kept either way.
    """
    session.rollback()
    failure = failure_of(error)
    response: Response
    if wants_json(request):
        response = json_error(failure.message, failure.status, next(iter(failure.fields), None))
    else:
        response = page(failure)
    if isinstance(error, LightkeeperError):
        response.headers.update(error.headers)
    return response


# -- errors as pages ----------------------------------------------------------------------


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    if wants_json(request):
        return json_error(message, status)
    template = "no_access.html" if status == 403 else "error.html"
    principal = getattr(request.state, "web_principal", None)
    return render(
        request,
        template,
        {"title": title, "message": message, "status": status},
        status=status,
        principal=principal,
    )


async def _lightkeeper_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, LightkeeperError)
    if error.status_code == 403:
        # The service's sentence says why (e.g. a feature switched off); the title stays the same.
        detail = error.message if error.message != "You do not have permission" else NO_ACCESS_TEXT
        response = error_page(request, 403, NO_ACCESS_TITLE, detail)
    elif error.status_code == 404:
        response = error_page(request, 404, "Not found", error_message(error))
    elif error.status_code == 401:
        return _login_redirect(request)
    else:
        response = error_page(
            request, error.status_code, "Something is not right", error_message(error)
        )
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def _login_redirect(request: Request) -> Response:
    if wants_json(request):
        return json_error("Your session has ended: log in again.", 401)
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = "/generalSettings"
    return redirect("/login?next=" + quote(target, safe="/"))


async def _login_required(request: Request, _error: Exception) -> Response:
    return _login_redirect(request)


async def _csrf_rejected(request: Request, _error: Exception) -> Response:
    return error_page(request, 403, "Request refused", CSRF_REFUSED)


async def _invalid(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    names = sorted({str(e.get("loc", ("", "?"))[-1]) for e in error.errors()})
    return error_page(
        request,
        400,
        "Something is not right",
        "Some fields are missing or invalid: " + ", ".join(names) + ". Go back and try again.",
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 404:
        return error_page(request, 404, "Not found", "There is no page at this address.")
    return error_page(request, error.status_code, "Something is not right", str(error.detail))


async def _unexpected(request: Request, error: Exception) -> Response:
    frames = traceback.extract_tb(error.__traceback__)[-8:]
    log.error(
        "web.request_failed",
        error_type=type(error).__name__,
        where=[f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames],
    )
    request_id = current_request.get().request_id
    return error_page(
        request,
        500,
        "Something went wrong",
        f"The server could not complete this request. Try again; if it keeps happening, "
        f"quote request id {request_id} to your administrator.",
    )


Handler = Callable[[Request, Exception], Awaitable[Response]]
PAGE_EXCEPTION_HANDLERS: dict[Any, Handler] = {
    LoginRequired: _login_required,
    CsrfRejected: _csrf_rejected,
    LightkeeperError: _lightkeeper_error,
    RequestValidationError: _invalid,
    StarletteHTTPException: _http_error,
    Exception: _unexpected,
}


class PageRoute(RequestRoute):
    """A route whose errors become pages.

    The request's transaction is rolled back first (the session dependency
    would otherwise commit once a handled error returns a response), then the
    error becomes an HTML page, or a JSON message for the pages' own `fetch`
    calls. The API's routes keep the API's JSON envelope.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:
                session: Session | None = getattr(request.state, "web_db", None)
                if session is not None:
                    await run_sync(session.rollback)
                for kind in type(error).__mro__:
                    if kind in PAGE_EXCEPTION_HANDLERS:
                        return await PAGE_EXCEPTION_HANDLERS[kind](request, error)
                raise

        return page_handler


async def _remember_session(request: Request, session: SessionDep) -> None:
    """Every page route gets the request's session, so an error can roll it back."""
    request.state.web_db = session


PAGE_DEPENDENCIES = [Depends(_remember_session)]
