"""Base wire models: camelCase on the wire, the envelope, UTC times with milliseconds."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

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


class Envelope(BaseModel, Generic[T]):
    status: Literal["ok"] = "ok"
    results: T


class OkResponse(BaseModel):
    status: Literal["ok"] = "ok"
    results: None = None


def ok(results: Any = None) -> dict[str, Any]:
    return {"status": "ok", "results": results}
