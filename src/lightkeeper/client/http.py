"""The HTTP client of the `lightkeeper` API commands.

- Authentication by token prefix: `ldsvc_…` → `Authorization: Bearer`, anything else →
  `Authorization: ApiKey` (what Lightdash's CLI sends).
- Every request sends `Lightdash-Request-Method: CLI` (`CLI_CI` when `CI=true`).
- JSON bodies over 1 KiB are gzip-compressed (`Content-Encoding: gzip`), as Lightdash's CLI does.
- Lightdash's envelope is unwrapped: a call returns `results`.
- Failures become `CliError`s with the exit code the CLI uses: 1 for an API error (the server's
  message as is), 3 when the server cannot be reached. A token never appears in a message.
"""

from __future__ import annotations

import gzip
import json
import platform
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from lightkeeper.client.config import ENV_TOKEN, ENV_URL, Source, is_ci

EXIT_API = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
GZIP_THRESHOLD = 1024
DEFAULT_TIMEOUT = 60.0

Params = Mapping[str, str | int | Sequence[str]]


class CliError(Exception):
    """An expected failure: one message (and an optional hint) and an exit code."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: int = EXIT_API,
        hint: str | None = None,
        in_json: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.hint = hint
        # The command's --json document already reports this failure: print no second one.
        self.in_json = in_json


class ApiError(CliError):
    """The server answered with an error envelope (or something that is not the API)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        name: str = "",
        data: Any = None,
        retry_after: str | None = None,
        hint: str | None = None,
    ):
        super().__init__(message, exit_code=EXIT_API, hint=hint)
        self.status = status
        self.name = name
        self.data = data
        self.retry_after = retry_after


def auth_header(token: str) -> str:
    """The Authorization value: Bearer for service-account tokens, ApiKey for anything else."""
    return f"Bearer {token}" if token.startswith("ldsvc_") else f"ApiKey {token}"


def request_method() -> str:
    return "CLI_CI" if is_ci() else "CLI"


def token_hint(token: str) -> str:
    """The prefix, `…` and the last 4 characters (how the server shows tokens), never the token."""
    prefix = token.split("_", 1)[0] + "_" if "_" in token[:8] else ""
    return f"{prefix}…{token[-4:]}" if len(token) >= 12 else "…"


def check_token(token: str, source: Source | None) -> str:
    """A token usable in a header; raises CliError naming where it came from otherwise."""
    cleaned = token.strip()
    if not cleaned or any(ch.isspace() or not ch.isprintable() for ch in cleaned):
        where = {
            Source.FLAG: "--token",
            Source.ENV: ENV_TOKEN,
            Source.CONFIG: "the saved token",
        }.get(source or Source.FLAG, "the token")
        raise CliError(
            f"{where} contains spaces, line breaks or other invalid characters",
            hint="Paste the token again, without quotes or line breaks.",
        )
    return cleaned


def _user_agent() -> str:
    from lightkeeper import __version__

    return f"lightkeeper-cli/{__version__} (Python {platform.python_version()})"


class ApiClient:
    """A small synchronous client for one server and one token."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        url_source: Source | None = None,
        token_source: Source | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.url_source = url_source
        self.token_source = token_source
        token = check_token(token, token_source)
        self._http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            follow_redirects=False,  # never carry the token to another address
            transport=transport,
            headers={
                "Authorization": auth_header(token),
                "Lightdash-Request-Method": request_method(),
                "Accept": "application/json",
                "Content-Type": "application/json",
                "User-Agent": _user_agent(),
            },
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- requests ------------------------------------------------------------------

    def get(self, path: str, *, params: Params | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body=body)

    def put(self, path: str, body: Any = None) -> Any:
        return self.request("PUT", path, body=body)

    def patch(self, path: str, body: Any = None) -> Any:
        return self.request("PATCH", path, body=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(
        self, method: str, path: str, *, body: Any = None, params: Params | None = None
    ) -> Any:
        """Send one request and return the envelope's `results`; raise CliError on failure."""
        content: bytes | None = None
        headers: dict[str, str] = {}
        if body is not None:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            if len(content) > GZIP_THRESHOLD:
                content = gzip.compress(content, compresslevel=6)
                headers["Content-Encoding"] = "gzip"
        try:
            response = self._http.request(
                method, path, content=content, params=params, headers=headers
            )
        except httpx.TimeoutException:
            raise CliError(
                f"Cannot reach the server at {self.url}: no answer within "
                f"{self._http.timeout.read:.0f} s",
                exit_code=EXIT_UNREACHABLE,
                hint=self._url_hint(),
            ) from None
        except httpx.TransportError as error:
            reason = str(error) or type(error).__name__
            raise CliError(
                f"Cannot reach the server at {self.url}: {reason}",
                exit_code=EXIT_UNREACHABLE,
                hint=self._url_hint(),
            ) from None
        return self._unwrap(method, path, response)

    # -- answers -------------------------------------------------------------------

    def _unwrap(self, method: str, path: str, response: httpx.Response) -> Any:
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("location", "")
            raise ApiError(
                f"The server at {self.url} redirected {method} {path} to {location or '?'}",
                status=status,
                hint=f"Use the address it redirects to (e.g. https://…). {self._url_hint()}",
            )
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict) or "status" not in document:
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise ApiError(
                f"Unexpected answer from {self.url} to {method} {path}: HTTP {status} ({kind}), "
                "not a Lightkeeper API response",
                status=status,
                hint=self._url_hint(),
            )
        if status < 400 and document.get("status") == "ok":
            return document.get("results")
        found = document.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        message = str(error.get("message") or f"HTTP {status}")
        name = str(error.get("name") or "")
        data = error.get("data")
        if status == 401:
            raise ApiError(
                f"Token rejected by {self.url}: {_sentence(message)} {self._token_fix()}",
                status=status,
                name=name,
                data=data,
            )
        raise ApiError(
            message,
            status=status,
            name=name,
            data=data,
            retry_after=response.headers.get("retry-after"),
        )

    def _token_fix(self) -> str:
        if self.token_source == Source.FLAG:
            return f"Check --token (or {ENV_TOKEN})."
        if self.token_source == Source.OIDC:
            return "The token exchanged for the CI identity token was refused: check the service account."
        if self.token_source == Source.CONFIG:
            return (
                f"The saved token no longer works: run `lightkeeper login` again or set "
                f"{ENV_TOKEN}."
            )
        return f"Check {ENV_TOKEN}."

    def _url_hint(self) -> str:
        if self.url_source == Source.FLAG:
            return "Check the URL and that the server is running."
        if self.url_source == Source.CONFIG:
            return (
                "Check that the server is running, or log in again (`lightkeeper login URL`) "
                f"or set {ENV_URL}."
            )
        return f"Check {ENV_URL} and that the server is running."


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def field_errors(error: ApiError) -> list[str]:
    """`data.fields` of a 400 as `path: what is wrong` lines (empty when there are none)."""
    data: dict[str, Any] = error.data if isinstance(error.data, dict) else {}
    found = data.get("fields")
    fields: dict[str, Any] = found if isinstance(found, dict) else {}
    return [f"{key}: {value}" for key, value in fields.items() if str(value) not in error.message]
