"""Base wire models: camelCase on the wire, the envelope, UTC times with milliseconds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

from lightkeeper.kit.clock import iso

T = TypeVar("T")

# Paging parameters stay far inside what the databases' integers hold (kit/unstorable.py).
MAX_OFFSET = 1_000_000_000

# Output times: ISO-8601 UTC with milliseconds and Z. Inputs must carry an offset.
UTCTime = Annotated[datetime, PlainSerializer(iso, return_type=str)]
InputTime = AwareDatetime


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
