"""`POST /api/v1/service-accounts/revoke-leaked`: GitHub secret scanning's partner endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from lightkeeper.deps import RequestRoute, RuntimeDep, SessionDep
from lightkeeper.kit.errors import ParameterError
from lightkeeper.kit.request_context import current_request
from lightkeeper.secret_scanning import service
from lightkeeper.secret_scanning.schemas import LeakReport, LeakVerdict

router = APIRouter(tags=["Service accounts"], route_class=RequestRoute)


@router.post(
    "/api/v1/service-accounts/revoke-leaked",
    response_model=list[LeakVerdict],
    summary="Report leaked tokens (secret-scanning partner format); live ones are revoked",
    description=(
        "Unauthenticated and rate limited per address. Body: `[{token, type, url, source}]`, at "
        "most 100. Each live `ldsvc_`/`ldpat_` token is revoked and audited "
        "(`token.leak_reported`); the answer says only `true_positive` or `false_positive` per "
        "entry, with the first 12 hex digits of the token's SHA-256."
    ),
    responses={429: {"description": "TooManyRequestsError: too many reports from this address"}},
    openapi_extra={"security": []},
)
def revoke_leaked(
    reports: Annotated[list[LeakReport], Body()], runtime: RuntimeDep, session: SessionDep
) -> list[LeakVerdict]:
    service.check_rate(runtime, current_request.get())
    if not 1 <= len(reports) <= service.MAX_REPORTS:
        raise ParameterError(
            f"Send between 1 and {service.MAX_REPORTS} reports", {"fields": {"body": "length"}}
        )
    verdicts = service.revoke_leaked(
        runtime,
        session,
        [service.Report(r.token, r.type, r.url, r.source) for r in reports],
    )
    return [LeakVerdict(token_hash_prefix=v.token_hash_prefix, label=v.label) for v in verdicts]
