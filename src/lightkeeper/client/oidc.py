"""Keyless CI: the CLI trades the CI job's identity token for a short-lived service-account token.

Where the identity token comes from, first found wins:
1. `--oidc-token` or `LIGHTDASH_OIDC_TOKEN` (GitLab CI `id_tokens:`, or any CI that hands one out);
2. in GitHub Actions (`ACTIONS_ID_TOKEN_REQUEST_URL` and `…_TOKEN`, present when the job has
   `permissions: id-token: write`), requested for the audience `--oidc-audience` /
   `LIGHTDASH_OIDC_AUDIENCE`.

It is then exchanged at `POST /api/v1/oauth/token` (RFC 8693) and never sent anywhere else.
`LIGHTDASH_OIDC_SERVICE_ACCOUNT` (a service account uuid) chooses when several trust policies
match. A token given by `--token` or `LIGHTDASH_API_KEY` wins over all of this.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import httpx

from lightkeeper.client.http import CliError

ENV_OIDC_TOKEN = "LIGHTDASH_OIDC_TOKEN"  # noqa: S105 - a variable name
ENV_OIDC_AUDIENCE = "LIGHTDASH_OIDC_AUDIENCE"
ENV_OIDC_SERVICE_ACCOUNT = "LIGHTDASH_OIDC_SERVICE_ACCOUNT"
GITHUB_REQUEST_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
GITHUB_REQUEST_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"  # noqa: S105 - a variable name
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105
TIMEOUT = 15.0


@dataclass(frozen=True)
class OidcOptions:
    """What the command line says (None: ask the environment)."""

    token: str | None = None
    audience: str | None = None
    service_account: str | None = None


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def configured(options: OidcOptions) -> bool:
    """Whether the user asked for keyless authentication."""
    return bool(
        options.token or options.audience or _env(ENV_OIDC_TOKEN) or _env(ENV_OIDC_AUDIENCE)
    )


def _github_token(audience: str) -> str:
    url, bearer = _env(GITHUB_REQUEST_URL), _env(GITHUB_REQUEST_TOKEN)
    if url is None or bearer is None:
        raise CliError(
            f"{ENV_OIDC_AUDIENCE} is set, but this is not a GitHub Actions job that may request "
            f"an identity token ({GITHUB_REQUEST_URL} is not set)",
            hint=(
                "Give the job `permissions: id-token: write`, or pass the CI's identity token "
                f"in {ENV_OIDC_TOKEN} (GitLab CI: `id_tokens:`)."
            ),
        )
    try:
        response = httpx.get(
            url,
            params={"audience": audience},
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=TIMEOUT,
        )
    except httpx.HTTPError as error:
        raise CliError(
            f"GitHub did not hand out an identity token: {type(error).__name__}"
        ) from None
    try:
        document = response.json() if response.status_code == 200 else None
    except ValueError:  # not JSON: a proxy's page, say
        document = None
    value = document.get("value") if isinstance(document, dict) else None
    if not isinstance(value, str) or not value:
        raise CliError(
            f"GitHub did not hand out an identity token (HTTP {response.status_code})",
            hint="Check `permissions: id-token: write` on the job.",
        )
    return value


def identity_token(options: OidcOptions) -> str:
    """The CI's identity token (see the module docstring for where it comes from)."""
    token = options.token or _env(ENV_OIDC_TOKEN)
    if token:
        return token
    audience = options.audience or _env(ENV_OIDC_AUDIENCE)
    assert audience is not None  # `configured` said so
    return _github_token(audience)


def exchange(server_url: str, options: OidcOptions) -> str:
    """A short-lived `ldsvc_` token for the CI's identity; CliError with the server's reason."""
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": identity_token(options),
        "subject_token_type": ID_TOKEN,
    }
    target = options.service_account or _env(ENV_OIDC_SERVICE_ACCOUNT)
    if target:
        try:
            form["audience"] = f"sa:{uuid.UUID(target)}"
        except ValueError:
            raise CliError(f"{ENV_OIDC_SERVICE_ACCOUNT} {target!r} is not a uuid") from None
    try:
        response = httpx.post(f"{server_url}/api/v1/oauth/token", data=form, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        raise CliError(
            f"Cannot reach {server_url} for the token exchange: {type(error).__name__}"
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body.get("access_token"), str):
        return str(body["access_token"])
    raise CliError(
        f"The server refused the CI identity token ({body.get('error', response.status_code)}): "
        f"{body.get('error_description', 'no reason given')}",
        hint="Check the service account's trust policy (issuer, audience, claims).",
    )
