"""HTTP plumbing: request context, gzip bodies, payload limits, the error envelope."""

from __future__ import annotations

import gzip
import ipaddress
import json
import random
import traceback
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lightkeeper.kit.errors import (
    LightkeeperError,
    NotFoundError,
    ParameterError,
    PayloadTooLargeError,
    UnexpectedServerError,
)
from lightkeeper.kit.request_context import RequestContext, current_request

log = structlog.get_logger()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def error_response(error: LightkeeperError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)


def forwarded_entry(raw_headers: list[tuple[bytes, bytes]], name: bytes, hops: int) -> str | None:
    """The entry of an X-Forwarded-* header written by the outermost trusted proxy.

    Each proxy appends what it saw, so only the rightmost `hops` entries come from
    proxies we trust; anything left of them is whatever the client sent and is
    never used. With fewer entries than hops the leftmost one is taken: every
    entry present was then written by a trusted proxy. Repeated headers count as
    one list, in order (RFC 9110 §5.3).
    """
    entries = [
        entry.strip()
        for key, value in raw_headers
        if key.lower() == name
        for entry in value.decode("latin-1").split(",")
        if entry.strip()
    ]
    if not entries:
        return None
    return entries[-min(hops, len(entries))]


def _client_address(scope: Scope, trusted_hops: int | None) -> str:
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if trusted_hops is None:
        return peer
    forwarded = forwarded_entry(scope["headers"], b"x-forwarded-for", trusted_hops)
    try:
        # A proxy writes an address; anything else (a port, "unknown") keeps the peer.
        return str(ipaddress.ip_address(forwarded)) if forwarded else peer
    except ValueError:
        return peer


_UUID4_BITS = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant
_UUID4_MASK = ~((0xF000 << 64) | (0xC000 << 48))


def new_request_id() -> str:
    """A random version-4 UUID, as text.

    A request id names a request in logs and error messages; it is not a secret,
    so it comes from `random` rather than a system call per request (uuid4).
    """
    digits = f"{random.getrandbits(128) & _UUID4_MASK | _UUID4_BITS:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


_PLUMBING_HEADERS = frozenset(
    {
        b"x-request-id",
        b"user-agent",
        b"lightdash-request-method",
        b"content-length",
        b"content-encoding",
        b"transfer-encoding",
    }
)


class RequestPlumbing:
    """Pure ASGI middleware: request id, client address and scheme, body limit, gzip decoding.

    The one place that reads X-Forwarded-For/-Proto: behind trusted proxies the
    client address and the scheme come from `forwarded_entry`, and the scope's
    scheme is rewritten so every later `request.url` agrees.

    The body is read whole (it is bounded by the limit) so that a gzip body can be
    inflated with the same bound before the app sees it.
    """

    def __init__(self, app: ASGIApp, *, max_body: int, trusted_hops: int | None) -> None:
        """`trusted_hops`: proxies in front of the server (TRUST_PROXY_HOPS), None to trust none."""
        self.app = app
        self.max_body = max_body
        self.trusted_hops = trusted_hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Only the headers read here are decoded (this runs on every request).
        wanted: dict[bytes, str] = {}
        for key, value in scope["headers"]:
            key = key.lower()
            if key in _PLUMBING_HEADERS:
                wanted[key] = value.decode("latin-1")
        request_id = wanted.get(b"x-request-id", "")[:64] or new_request_id()
        if self.trusted_hops is not None:
            proto = forwarded_entry(scope["headers"], b"x-forwarded-proto", self.trusted_hops)
            if proto and proto.lower() in ("http", "https"):
                scope["scheme"] = proto.lower()
        ctx = RequestContext(
            request_id=request_id,
            ip=_client_address(scope, self.trusted_hops),
            user_agent=wanted.get(b"user-agent"),
            client_kind=wanted.get(b"lightdash-request-method"),
        )
        token = current_request.set(ctx)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        id_header = (b"x-request-id", request_id.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            body_error, replay = await self._read_body(scope, receive, wanted)
            if body_error is not None:
                await error_response(body_error)(scope, replay, send_with_id)
                return
            try:
                await self.app(scope, replay, send_with_id)
            except Exception as error:
                _log_unexpected(error)
                if not started:
                    response = error_response(
                        UnexpectedServerError(
                            f"Something went wrong. Quote request id {request_id} to your administrator."
                        )
                    )
                    await response(scope, replay, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            current_request.reset(token)

    def _too_large(self) -> LightkeeperError:
        return PayloadTooLargeError(
            f"Request body is larger than the limit of {self.max_body} bytes (LIGHTDASH_MAX_PAYLOAD)"
        )

    async def _read_body(
        self, scope: Scope, receive: Receive, headers: dict[bytes, str]
    ) -> tuple[LightkeeperError | None, Receive]:
        declared = headers.get(b"content-length", "")
        if b"transfer-encoding" not in headers and declared in ("", "0"):
            return None, receive  # HTTP/1.1: no length and no chunking means no body
        if declared.isdigit() and int(declared) > self.max_body:
            return self._too_large(), receive
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return self._too_large(), receive
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        encoding = headers.get(b"content-encoding", "").lower()
        if encoding == "gzip" and body:
            try:
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                body = inflater.decompress(body, self.max_body + 1)
            except (zlib.error, gzip.BadGzipFile):
                return ParameterError("Request body is not valid gzip"), receive
            if len(body) > self.max_body or inflater.unconsumed_tail:
                return self._too_large(), receive
            scope["headers"] = [
                (k, v)
                for k, v in scope["headers"]
                if k.lower() not in (b"content-encoding", b"content-length")
            ] + [(b"content-length", str(len(body)).encode())]
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return None, replay


def _log_unexpected(error: Exception) -> None:
    # Only the exception type and where it happened are logged: messages of
    # database errors quote SQL and parameters, which must never reach a log line.
    frames = traceback.extract_tb(error.__traceback__)[-8:]
    log.error(
        "request.failed",
        error_type=type(error).__name__,
        where=[f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames],
    )


def _field_path(location: tuple[Any, ...]) -> str:
    # Only the first element says where the field is (body, query, path, header): a body
    # field may itself be called "query" or "path" and keeps its name.
    parts = [str(p) for p in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or str(location[-1] if location else "body")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LightkeeperError)
    async def _known(_request: Request, error: LightkeeperError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        fields: dict[str, str] = {}
        for item in error.errors():
            if item.get("type") == "json_invalid":
                return error_response(
                    ParameterError(
                        "Request body is not valid JSON: check its syntax",
                        {"fields": {"body": "invalid JSON"}},
                    )
                )
            fields.setdefault(
                _field_path(tuple(item.get("loc", ()))), str(item.get("msg", "invalid"))
            )
        summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
        return error_response(ParameterError(f"Invalid request: {summary}", {"fields": fields}))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            return error_response(NotFoundError("No route matches this path"))
        known = LightkeeperError(str(error.detail))
        known.status_code = error.status_code
        known.name = {405: "MethodNotAllowedError", 400: "ParameterError"}.get(
            error.status_code, "Error"
        )
        return error_response(known)

    @app.exception_handler(json.JSONDecodeError)
    async def _bad_json(_request: Request, _error: json.JSONDecodeError) -> JSONResponse:
        return error_response(ParameterError("Request body is not valid JSON: check its syntax"))
