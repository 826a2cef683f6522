"""The rules of trust policies: presets, the immutable-owner-id rule, exact matching.

A trust policy says which CI identity tokens may be exchanged for a short-lived
token of one service account: `issuer` (exact), `audience` (exact; default the
server's SITE_URL), `claims` (claim → exact value), optional `subject` (exact
`sub`). Rules enforced when a policy is written:

- GitHub (its issuer, or the preset) must pin `repository_owner_id` and
  `repository_id`; GitLab `namespace_id` and `project_id` (numeric ids, which
  survive renames and cannot be re-registered); any other issuer at least one
  claim or a subject besides `aud`. Audience-only trust is refused with 400.
- No wildcards: values are compared as exact strings, and a value containing
  `*` is refused so nobody believes it is a pattern.
- The issuer is an `https://` URL (plain http only with
  LIGHTKEEPER_OIDC_ALLOW_HTTP_ISSUERS, for tests), compared exactly: no
  trailing-slash normalisation.
- `maxTokenLifetimeSeconds` is 60 … 3600, default 900.
- The registered claims (`iss`, `aud`, `exp`, `nbf`, `iat`, `jti`) are checked by
  verification itself and cannot be pinned; `sub` is the `subject` field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lightkeeper.kit.errors import ParameterError
from lightkeeper.kit.jwks import is_allowed_url

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
DEFAULT_LIFETIME = 900
MIN_LIFETIME = 60
MAX_LIFETIME = 3600
MAX_CLAIMS = 20
MAX_TEXT = 512
REGISTERED_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "sub"})
_CLAIM_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")
_DIGITS = re.compile(r"[0-9]{1,20}")


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    issuer: str
    required_claims: tuple[str, ...]
    suggested_claims: tuple[str, ...]


PRESETS = {
    "github": Preset(
        "github",
        "GitHub Actions",
        GITHUB_ISSUER,
        ("repository_owner_id", "repository_id"),
        ("repository", "environment", "ref", "workflow_ref", "event_name", "runner_environment"),
    ),
    "gitlab": Preset(
        "gitlab",
        "GitLab CI",
        GITLAB_ISSUER,
        ("namespace_id", "project_id"),
        ("project_path", "ref", "ref_type", "ref_protected", "environment", "pipeline_source"),
    ),
}


def default_audience(site_url: str) -> str:
    """The audience a policy expects unless told otherwise: the server's own URL."""
    return site_url.rstrip("/")


def provider_of(preset: str | None, issuer: str) -> str:
    """github | gitlab | custom: the well-known issuers always get their own rule."""
    if issuer == GITHUB_ISSUER:
        return "github"
    if issuer == GITLAB_ISSUER:
        return "gitlab"
    return preset if preset in PRESETS else "custom"


def _field_error(field: str, message: str) -> ParameterError:
    return ParameterError(message, {"fields": {field: message}})


def check_issuer(issuer: str | None, *, allow_http: bool) -> str:
    if not issuer or not issuer.strip():
        raise _field_error("issuer", "issuer is required (or choose the github or gitlab preset)")
    if len(issuer) > MAX_TEXT or issuer != issuer.strip():
        raise _field_error("issuer", f"issuer must be a URL of at most {MAX_TEXT} characters")
    if not is_allowed_url(issuer, allow_http=allow_http) or "?" in issuer:
        raise _field_error(
            "issuer",
            "issuer must be an https:// URL without query or fragment, exactly as the "
            "identity token's iss claim",
        )
    return issuer


def check_audience(audience: str) -> str:
    if not audience.strip() or len(audience) > MAX_TEXT:
        raise _field_error("audience", f"audience must be 1 to {MAX_TEXT} characters")
    return audience


def check_subject(subject: str | None) -> str | None:
    if subject is None:
        return None
    if not subject or len(subject) > MAX_TEXT:
        raise _field_error("subject", f"subject must be 1 to {MAX_TEXT} characters, or null")
    if "*" in subject:
        raise _field_error("subject", "Wildcards are not supported: subject is matched exactly")
    return subject


def check_claims(claims: dict[str, Any]) -> dict[str, str]:
    if len(claims) > MAX_CLAIMS:
        raise _field_error("claims", f"At most {MAX_CLAIMS} claims")
    for name, value in claims.items():
        if not _CLAIM_NAME.fullmatch(name):
            raise _field_error("claims", "Claim names are letters, digits and _ . : - only")
        if name in REGISTERED_CLAIMS:
            raise _field_error(
                "claims",
                f"The {name} claim cannot be pinned here: "
                + ("use subject" if name == "sub" else "verification checks it"),
            )
        if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
            raise _field_error(
                "claims", f"Claim {name} needs a value of 1 to {MAX_TEXT} characters"
            )
        if "*" in value:
            raise _field_error(
                "claims", f"Wildcards are not supported: claim {name} is matched exactly"
            )
    return dict(claims)


def check_lifetime(seconds: int | None) -> int:
    if seconds is None:
        return DEFAULT_LIFETIME
    if not MIN_LIFETIME <= seconds <= MAX_LIFETIME:
        raise _field_error(
            "maxTokenLifetimeSeconds",
            f"maxTokenLifetimeSeconds must be between {MIN_LIFETIME} and {MAX_LIFETIME}",
        )
    return seconds


def require_immutable_owner(provider: str, claims: dict[str, str], subject: str | None) -> None:
    """Refuse audience-only trust: each provider pins what cannot be renamed or re-registered."""
    preset = PRESETS.get(provider)
    if preset is None:
        if not claims and subject is None:
            raise _field_error(
                "claims",
                "A trust policy must pin at least one claim (or a subject) besides aud: "
                "audience-only trust would admit every token of the issuer",
            )
        return
    missing = [c for c in preset.required_claims if c not in claims]
    if missing:
        raise _field_error(
            "claims",
            f"A {preset.label} trust policy must pin the immutable ids "
            f"{' and '.join(preset.required_claims)} (missing: {', '.join(missing)}): "
            "names can be renamed and re-registered, ids cannot",
        )
    for name in preset.required_claims:
        if not _DIGITS.fullmatch(claims[name]):
            raise _field_error("claims", f"Claim {name} must be the numeric id, e.g. 123456")


def claim_text(value: object) -> str | None:
    """A token claim as the text a policy compares with (ids may arrive as numbers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return None


def first_mismatch(
    policy_subject: str | None, policy_claims: dict[str, str], token: dict[str, Any]
) -> str | None:
    """The name of the first check a token fails against a policy, or None when it matches."""
    if policy_subject is not None and token.get("sub") != policy_subject:
        return "sub"
    for name, expected in sorted(policy_claims.items()):
        if claim_text(token.get(name)) != expected:
            return name
    return None
