"""Errors in Lightdash's envelope: each carries its HTTP status and `name`."""

from __future__ import annotations

from typing import Any


class LightkeeperError(Exception):
    status_code = 500
    name = "UnexpectedServerError"
    default_message = "Something went wrong."

    def __init__(
        self,
        message: str | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.data = data or {}
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {
            "status": "error",
            "error": {
                "statusCode": self.status_code,
                "name": self.name,
                "message": self.message,
                "data": self.data,
            },
        }


class ParameterError(LightkeeperError):
    status_code = 400
    name = "ParameterError"
    default_message = "Invalid parameters"


class AuthorizationError(LightkeeperError):
    status_code = 401
    name = "AuthorizationError"
    default_message = "Unauthorized"


class ForbiddenError(LightkeeperError):
    status_code = 403
    name = "ForbiddenError"
    default_message = "You do not have permission"


class NotFoundError(LightkeeperError):
    status_code = 404
    name = "NotFoundError"
    default_message = "Not found"


class AlreadyExistsError(LightkeeperError):
    status_code = 409
    name = "AlreadyExistsError"
    default_message = "Already exists"


class ExpiredError(LightkeeperError):
    """Something that existed is gone for good (query results past their lifetime)."""

    status_code = 406
    name = "ExpiredError"
    default_message = "Expired"


class PayloadTooLargeError(LightkeeperError):
    status_code = 413
    name = "PayloadTooLargeError"
    default_message = "Request body is too large"


class PaginationError(LightkeeperError):
    """A page outside what a result holds (Lightdash's name and status)."""

    status_code = 422
    name = "PaginationError"
    default_message = "Invalid page"


class TooManyRequestsError(LightkeeperError):
    status_code = 429
    name = "TooManyRequestsError"
    default_message = "Too many requests"

    def __init__(self, message: str | None = None, retry_after_seconds: int = 60) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after_seconds))})
        self.retry_after_seconds = retry_after_seconds


class UnexpectedServerError(LightkeeperError):
    pass
