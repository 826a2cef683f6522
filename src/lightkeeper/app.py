"""`create_app(settings)`: the ASGI application. Nothing happens at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from lightkeeper import __version__
from lightkeeper.audit.endpoints import router as audit_router
from lightkeeper.auth.service import ExpiredServiceAccountToken, NetworkDeniedServiceAccountToken
from lightkeeper.config import Settings
from lightkeeper.content.endpoints import router as content_router
from lightkeeper.db import transaction
from lightkeeper.groups.endpoints import router as groups_router
from lightkeeper.health.endpoints import router as health_router
from lightkeeper.identity.endpoints import router as identity_router
from lightkeeper.invite.endpoints import router as invite_router
from lightkeeper.kit.http import RequestPlumbing, error_response, install_error_handlers
from lightkeeper.kit.logs import configure_logging
from lightkeeper.kit.routing import flat_routes, index_routes
from lightkeeper.kit.threadpool import run_sync
from lightkeeper.membership.endpoints import router as membership_router
from lightkeeper.organization.endpoints import router as organization_router
from lightkeeper.personal_token.endpoints import router as personal_token_router
from lightkeeper.project.endpoints import router as project_router
from lightkeeper.project.endpoints import v2_router as project_v2_router
from lightkeeper.queries.endpoints import v1 as queries_v1_router
from lightkeeper.queries.endpoints import v2 as queries_v2_router
from lightkeeper.queries.runner import close_runner
from lightkeeper.registration.endpoints import router as registration_router
from lightkeeper.roles.endpoints import router as roles_router
from lightkeeper.runtime import Runtime
from lightkeeper.secret_scanning.endpoints import router as secret_scanning_router
from lightkeeper.service_account.endpoints import router as service_account_router
from lightkeeper.service_account.service import record_expired_attempt, record_network_denial
from lightkeeper.web.pages import ROUTERS as WEB_ROUTERS
from lightkeeper.workload_identity.endpoints import router as workload_identity_router

# Every router of the app. Their routes are served from one flat list through an index of
# path segments (kit.routing), so a route's place costs nothing. The order decides nothing
# else either: no two routers answer the same method and path (tests/test_routes.py), but
# for the web UI's catch-all 404 under /generalSettings, which comes last.
ROUTERS = (
    health_router,
    identity_router,
    organization_router,
    content_router,
    queries_v2_router,  # the results poll: every SDK query polls it, and pages through it
    registration_router,
    personal_token_router,
    invite_router,
    project_router,
    project_v2_router,
    membership_router,
    audit_router,
    roles_router,
    secret_scanning_router,  # before service_account's /{uuid} routes
    service_account_router,
    groups_router,
    queries_v1_router,
    workload_identity_router,
    *WEB_ROUTERS,
)

SECURITY_SCHEMES = {
    "BearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "Service-account token `ldsvc_…` (also accepted: personal tokens).",
    },
    "ApiKeyAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`ApiKey ldpat_…` (personal token) or `ApiKey ldsvc_…` (service account).",
    },
    "SessionCookie": {"type": "apiKey", "in": "cookie", "name": "lightkeeper_session"},
}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["status", "error"],
    "properties": {
        "status": {"type": "string", "enum": ["error"]},
        "error": {
            "type": "object",
            "required": ["statusCode", "name", "message", "data"],
            "properties": {
                "statusCode": {"type": "integer"},
                "name": {"type": "string"},
                "message": {"type": "string"},
                "data": {"type": "object"},
            },
        },
    },
}
_DEFAULT_SECURITY: list[dict[str, list[str]]] = [
    {"BearerAuth": []},
    {"ApiKeyAuth": []},
    {"SessionCookie": []},
]


def audit_expired_service_account_tokens(app: FastAPI, runtime: Runtime) -> None:
    """An expired SA token is refused with the usual 401 and lands in its organization's audit log.

    Authentication (auth/) knows nothing of the audit log: it raises, and this
    handler records the attempt in a transaction of its own, since the
    request's own transaction has rolled back.
    """

    def record(refused: ExpiredServiceAccountToken) -> None:
        with transaction(runtime.sessions) as session:
            record_expired_attempt(session, refused)

    @app.exception_handler(ExpiredServiceAccountToken)
    async def _expired(_request: Request, refused: ExpiredServiceAccountToken) -> JSONResponse:
        await run_sync(record, refused)
        return error_response(refused)

    def record_denial(refused: NetworkDeniedServiceAccountToken) -> None:
        with transaction(runtime.sessions) as session:
            record_network_denial(session, refused)

    @app.exception_handler(NetworkDeniedServiceAccountToken)
    async def _denied(_request: Request, refused: NetworkDeniedServiceAccountToken) -> JSONResponse:
        await run_sync(record_denial, refused)
        return error_response(refused)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else Settings())
    configure_logging(settings.log_level, settings.log_format)
    owned = runtime is None  # a runtime handed in belongs to its caller, who closes it
    runtime = runtime or Runtime.build(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        close_runner(runtime)  # running queries are cancelled in their warehouses
        if owned:
            runtime.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Lightkeeper",
        version=__version__,
        description="Identity and access layer of a Lightdash-style analytics platform.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        # Lightkeeper logs, it does not emit OpenTelemetry: without this FastAPI looks for a
        # configured provider on every request (docs/decisions.md, "Request path", fifth pass).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Input no database can store is refused by every route's class (deps.RequestRoute).
        # The routes themselves, not their routers: each carries its router's prefix, tags and
        # dependencies, and the router dispatches through an index of them (kit.routing).
        routes=flat_routes(ROUTERS),
    )
    index_routes(app.router)
    app.state.runtime = runtime
    install_error_handlers(app)
    audit_expired_service_account_tokens(app, runtime)
    app.add_middleware(
        RequestPlumbing,
        max_body=settings.max_payload_bytes,
        trusted_hops=settings.proxy_hops if settings.trust_proxy else None,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        schema["components"].setdefault("schemas", {})["ErrorResponse"] = _ERROR_SCHEMA
        schema["components"]["schemas"].pop("HTTPValidationError", None)
        schema["components"]["schemas"].pop("ValidationError", None)
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                operation.setdefault("security", _DEFAULT_SECURITY)
                responses = operation.setdefault("responses", {})
                # Request validation answers 400 ParameterError, never the framework's 422.
                if responses.pop("422", None) is not None:
                    responses["400"] = {
                        "description": "ParameterError: bad input; `error.data.fields` names the fields",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ErrorResponse"}
                            }
                        },
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` worker processes."""
    return create_app(Settings())
