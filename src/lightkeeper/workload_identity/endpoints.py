"""Workload identity API: trust policies per service account, and `POST /api/v1/oauth/token`."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lightkeeper.deps import CurrentPrincipal, RequestRoute, RuntimeDep, SessionDep
from lightkeeper.identity.attribution import user_refs
from lightkeeper.kit.schemas import Envelope, OkResponse, ok
from lightkeeper.models import TrustPolicy
from lightkeeper.workload_identity import exchange, policies, service
from lightkeeper.workload_identity.errors import NO_STORE, OAuthError
from lightkeeper.workload_identity.schemas import (
    OAuthErrorOut,
    PresetOut,
    TokenResponse,
    TrustPolicyCreate,
    TrustPolicyOut,
    TrustPolicyUpdate,
)

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
SUBJECT_TOKEN_TYPES = (
    "urn:ietf:params:oauth:token-type:id_token",
    "urn:ietf:params:oauth:token-type:jwt",
)
MAX_BODY = 32 * 1024

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "ParameterError: invalid policy (the message says what to fix)"},
    401: {"description": "AuthorizationError: no or invalid credential"},
    403: {"description": "ForbiddenError: feature disabled, not permitted, or beyond one's own"},
    404: {"description": "NotFoundError: no such service account or trust policy here"},
}
router = APIRouter(tags=["Workload identity"], route_class=RequestRoute)
_POLICIES = "/api/v1/service-accounts/{uuid}/trust-policies"


def _out(session: SessionDep, items: list[TrustPolicy]) -> list[TrustPolicyOut]:
    refs = user_refs(session, (p.created_by_user_uuid for p in items))
    return [
        TrustPolicyOut(
            uuid=p.uuid,
            service_account_uuid=p.service_account_uuid,
            provider=p.provider,
            issuer=p.issuer,
            audience=p.audience,
            subject=p.subject,
            claims=dict(p.claims),
            max_token_lifetime_seconds=p.max_token_lifetime_seconds,
            enabled=p.enabled,
            created_by_user_uuid=p.created_by_user_uuid,
            created_by=refs.get(p.created_by_user_uuid or ""),
            created_at=p.created_at,
            updated_at=p.updated_at,
            last_used_at=p.last_used_at,
        )
        for p in items
    ]


PolicyUuid = Annotated[UUID, Path(alias="policyUuid")]  # the spec's name in the path


@router.get(
    "/api/v1/trust-policy-presets",
    response_model=Envelope[list[PresetOut]],
    summary="Trust policy presets (GitHub Actions, GitLab CI)",
    description="The issuer and the claims each preset pins (required) or suggests.",
)
def trust_policy_presets(
    _principal: CurrentPrincipal, runtime: RuntimeDep
) -> Envelope[list[PresetOut]]:
    audience = policies.default_audience(runtime.settings.site_url)
    return Envelope[list[PresetOut]](
        results=[
            PresetOut(
                name=p.name,
                label=p.label,
                issuer=p.issuer,
                required_claims=list(p.required_claims),
                suggested_claims=list(p.suggested_claims),
                default_audience=audience,
            )
            for p in policies.PRESETS.values()
        ]
    )


@router.get(
    _POLICIES,
    response_model=Envelope[list[TrustPolicyOut]],
    responses=_ERRORS,
    summary="List a service account's trust policies",
)
def list_trust_policies(
    uuid: UUID, principal: CurrentPrincipal, runtime: RuntimeDep, session: SessionDep
) -> Envelope[list[TrustPolicyOut]]:
    items = service.list_policies(runtime, session, principal, str(uuid))
    return Envelope[list[TrustPolicyOut]](results=_out(session, items))


@router.post(
    _POLICIES,
    status_code=201,
    response_model=Envelope[TrustPolicyOut],
    responses=_ERRORS,
    summary="Trust CI identity tokens for a service account",
    description=(
        "`preset` github|gitlab fills the issuer. A policy must pin the immutable owner ids "
        "(GitHub `repository_owner_id` + `repository_id`, GitLab `namespace_id` + `project_id`; "
        "other issuers at least one claim or a subject), else 400. Values match exactly."
    ),
)
def create_trust_policy(
    uuid: UUID,
    body: TrustPolicyCreate,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Envelope[TrustPolicyOut]:
    policy = service.create_policy(
        runtime,
        session,
        principal,
        str(uuid),
        preset=body.preset,
        issuer=body.issuer,
        audience=body.audience,
        subject=body.subject,
        claims=body.claims,
        max_token_lifetime_seconds=body.max_token_lifetime_seconds,
        enabled=body.enabled,
    )
    return Envelope[TrustPolicyOut](results=_out(session, [policy])[0])


@router.patch(
    _POLICIES + "/{policyUuid}",
    response_model=Envelope[TrustPolicyOut],
    responses=_ERRORS,
    summary="Edit a trust policy",
    description="Only the fields sent change; disabling revokes the tokens it minted.",
)
def update_trust_policy(
    uuid: UUID,
    policy_uuid: PolicyUuid,
    body: TrustPolicyUpdate,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Envelope[TrustPolicyOut]:
    fields = {name: getattr(body, name) for name in body.model_fields_set}
    policy = service.update_policy(runtime, session, principal, str(uuid), str(policy_uuid), fields)
    return Envelope[TrustPolicyOut](results=_out(session, [policy])[0])


@router.delete(
    _POLICIES + "/{policyUuid}",
    response_model=OkResponse,
    responses=_ERRORS,
    summary="Remove a trust policy",
    description="The tokens it minted stop working on the very next request.",
)
def delete_trust_policy(
    uuid: UUID,
    policy_uuid: PolicyUuid,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    service.delete_policy(runtime, session, principal, str(uuid), str(policy_uuid))
    return ok()


# -- the token endpoint --------------------------------------------------------------


def _form(pairs: list[tuple[str, Any]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise OAuthError("invalid_request", f"Parameter {name} is given more than once")
        if not isinstance(value, str):
            raise OAuthError("invalid_request", f"Parameter {name} must be text, not a file")
        params[name] = value
    return params


def _json(body: bytes) -> dict[str, str]:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        raise OAuthError("invalid_request", "The JSON body could not be read") from None
    if not isinstance(document, dict) or not all(isinstance(v, str) for v in document.values()):
        raise OAuthError("invalid_request", "The JSON body must be an object of string values")
    return document


async def token_parameters(request: Request) -> dict[str, str]:
    """The request's parameters, as a form (RFC 6749) or JSON; no Authorization header."""
    if "authorization" in request.headers:
        raise OAuthError(
            "invalid_request",
            "Send no Authorization header: the identity token (subject_token) is the credential",
        )
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        # Parsed once by the app's input check already (kit/unstorable.py); cached since.
        return _form(list((await request.form()).multi_items()))
    if content_type == "application/json":
        body = await request.body()
        if len(body) > MAX_BODY:
            raise OAuthError("invalid_request", f"The body is larger than {MAX_BODY} bytes")
        return _json(body)
    raise OAuthError(
        "invalid_request",
        "Send the parameters as application/x-www-form-urlencoded (or application/json)",
    )


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise OAuthError("invalid_request", f"{name} is required")
    return value


class TokenRoute(RequestRoute):
    """The token endpoint's route: input refused before the handler (kit/unstorable.py: NUL,
    lone surrogates) is answered in RFC 6749's shape too, `invalid_request`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def in_oauth_shape(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                problems = [
                    f"{p['loc'][-1]} {p['msg']}" if p.get("loc") else str(p.get("msg"))
                    for p in error.errors()
                ]
                raise OAuthError("invalid_request", "; ".join(problems)) from None

        return in_oauth_shape


def oauth_token(
    params: Annotated[dict[str, str], Depends(token_parameters)],
    runtime: RuntimeDep,
    session: SessionDep,
) -> JSONResponse:
    grant_type = _required(params, "grant_type")
    if grant_type != TOKEN_EXCHANGE:
        raise OAuthError("unsupported_grant_type", f"Only grant_type={TOKEN_EXCHANGE} is supported")
    subject_token = _required(params, "subject_token")
    if _required(params, "subject_token_type") not in SUBJECT_TOKEN_TYPES:
        raise OAuthError(
            "invalid_request", f"subject_token_type must be {' or '.join(SUBJECT_TOKEN_TYPES)}"
        )
    requested = params.get("requested_token_type")
    if requested not in (None, "", exchange.ISSUED_TOKEN_TYPE):
        raise OAuthError(
            "invalid_request", f"requested_token_type must be {exchange.ISSUED_TOKEN_TYPE}"
        )
    if params.get("actor_token"):
        raise OAuthError("invalid_request", "Delegation (actor_token) is not supported")
    audience = params.get("audience") or None
    if audience is not None and len(audience) > 200:
        raise OAuthError("invalid_target", "audience is longer than 200 characters")
    result = exchange.exchange(runtime, session, subject_token, audience)
    body = TokenResponse(
        access_token=result.token,
        issued_token_type=exchange.ISSUED_TOKEN_TYPE,
        token_type="Bearer",  # noqa: S106 - the scheme, not a secret
        expires_in=result.expires_in,
    )
    return JSONResponse(body.model_dump(), headers=NO_STORE)


router.add_api_route(
    "/api/v1/oauth/token",
    oauth_token,
    methods=["POST"],
    route_class_override=TokenRoute,
    response_model=TokenResponse,
    summary="Exchange a CI identity token for a short-lived service-account token (RFC 8693)",
    description=(
        "Form (or JSON) fields: `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`, "
        "`subject_token` (the CI's OIDC token), `subject_token_type="
        "urn:ietf:params:oauth:token-type:id_token`, optional `audience` (a trust policy uuid or "
        "`sa:<service account uuid>`). No Authorization header. Errors are RFC 6749 "
        "`{error, error_description}` with 400 (503 `temporarily_unavailable` when the issuer's "
        "keys cannot be fetched)."
    ),
    responses={
        400: {"model": OAuthErrorOut, "description": "invalid_request, invalid_grant, …"},
        503: {"model": OAuthErrorOut, "description": "temporarily_unavailable"},
    },
    openapi_extra={
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type", "subject_token", "subject_token_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": [TOKEN_EXCHANGE]},
                            "subject_token": {"type": "string"},
                            "subject_token_type": {
                                "type": "string",
                                "enum": list(SUBJECT_TOKEN_TYPES),
                            },
                            "audience": {"type": "string"},
                        },
                    }
                }
            },
        },
    },
)
