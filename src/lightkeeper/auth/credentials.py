"""Reading the credential of a request: the prefix decides its kind, not the scheme word."""

from __future__ import annotations

from dataclasses import dataclass

from lightkeeper.kit.tokens import TokenKind, kind_of

SESSION_COOKIE = "lightkeeper_session"
_SCHEMES = ("bearer", "apikey")


@dataclass(frozen=True)
class PresentedCredential:
    kind: TokenKind | None  # None: not one of our prefixes
    token: str
    scheme_present: bool


def read_authorization(header: str | None) -> PresentedCredential | None:
    """Parse `Authorization`: `Bearer <t>`, `ApiKey <t>` or a bare token; None if absent."""
    if header is None:
        return None
    value = header.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() in _SCHEMES:
        token = rest.strip()
        return PresentedCredential(kind_of(token), token, scheme_present=True)
    if value.lower() in _SCHEMES:  # a scheme with nothing after it
        return PresentedCredential(None, "", scheme_present=True)
    return PresentedCredential(kind_of(value), value, scheme_present=False)
