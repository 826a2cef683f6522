"""Errors of the token endpoint, in RFC 6749 §5.2's shape rather than the API envelope."""

from __future__ import annotations

from typing import Any, Literal

from lightkeeper.kit.errors import LightkeeperError

OAuthErrorCode = Literal[
    "invalid_request",
    "invalid_grant",
    "unsupported_grant_type",
    "invalid_target",
    "temporarily_unavailable",
]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(LightkeeperError):
    """`{error, error_description}` with 400 (503 for `temporarily_unavailable`).

    A LightkeeperError, so it rolls the request back and is answered by the
    app's one error handler, which writes `body()`.
    """

    def __init__(
        self,
        error: OAuthErrorCode,
        description: str,
        *,
        status_code: int = 400,
        retry_after: int | None = None,
    ) -> None:
        headers = dict(NO_STORE)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        super().__init__(description, headers=headers)
        self.status_code = status_code
        self.error = error
        self.name = error

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.message}
