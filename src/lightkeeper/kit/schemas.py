"""Base wire models: camelCase on the wire, the envelope, UTC times with milliseconds."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Annotated, Any, Final, Generic, Literal, TypeVar

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError
from starlette.responses import Response

from lightkeeper.kit.clock import iso

T = TypeVar("T")

# Paging parameters stay far inside what the databases' integers hold (kit/unstorable.py).
MAX_OFFSET = 1_000_000_000

# Output times: ISO-8601 UTC with milliseconds and Z. Inputs must carry an offset.
UTCTime = Annotated[datetime, PlainSerializer(iso, return_type=str)]

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
NOT_ISO_TIME = "Expected an ISO-8601 time with an offset, e.g. 2030-01-01T00:00:00Z, not a number"


def _not_a_number(value: Any) -> Any:
    # Pydantic reads numbers (and numeric strings) as Unix timestamps; the API
    # promises ISO text with an offset, so a number is refused, not guessed at.
    if isinstance(value, bool | int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value)
    ):
        raise PydanticCustomError("iso_time", NOT_ISO_TIME)
    return value


InputTime = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]


class CamelModel(BaseModel):
    """Requests ignore unknown fields (identity fields in bodies are never trusted anyway)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


def _is_none(value: Any) -> bool:
    return value is None


def omitted_if_none() -> Any:
    """A field Lightdash's types mark optional (`field?: T`): absent when there is none, never
    `null`, since Lightdash's clients parse a present value as T."""
    return Field(default=None, exclude_if=_is_none)


class Envelope(BaseModel, Generic[T]):
    status: Literal["ok"] = "ok"
    results: T


class OkResponse(BaseModel):
    status: Literal["ok"] = "ok"
    results: None = None


def ok(results: Any = None) -> dict[str, Any]:
    return {"status": "ok", "results": results}


@functools.cache
def _envelope_adapter(results_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(Envelope[results_type])


def ok_bytes(results_type: Any, results: Any) -> bytes:
    """`{"status":"ok","results":…}` as JSON bytes: what FastAPI writes for `response_model=Envelope[results_type]`.

    `results` must already be of `results_type` (models built by the service):
    it is serialised, not validated again. Same pydantic-core serialiser, by
    alias, so the bytes are those of the response model path.
    """
    envelope = Envelope[results_type].model_construct(results=results)
    return _envelope_adapter(results_type).dump_json(envelope, by_alias=True)


class _WireValues:
    """`ok_response`'s marker for results that are plain JSON values already in wire shape."""

    def __repr__(self) -> str:
        return "WIRE_VALUES"


WIRE_VALUES: Final = _WireValues()


def ok_response(results_type: Any, results: Any) -> Response:
    """The reply of a route declared with `response_model=Envelope[…]`, serialised once.

    FastAPI validates a handler's return value against the response model and
    then serialises it; for a list of 50 models built from the database that
    second validation costs more than the query (docs/decisions.md, "Request
    path"). A `Response` is passed through as it is, while the route's
    `response_model` still documents the body in OpenAPI.

    `results_type` is the model type the results already are (serialised by
    pydantic-core, by alias, as `ok_bytes`), or `WIRE_VALUES` for plain dicts,
    lists, strings, numbers, booleans and None already in wire shape (camelCase
    keys, times as `kit.clock.iso` text): serialised by orjson with no model at
    all, which is what the hot lists use (no per-row model).
    """
    if results_type is WIRE_VALUES:
        body = b'{"status":"ok","results":' + orjson.dumps(results) + b"}"
    else:
        body = ok_bytes(results_type, results)
    return Response(body, media_type="application/json")
