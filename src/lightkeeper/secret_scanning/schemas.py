"""Wire models of GitHub secret scanning's partner format (snake_case, as GitHub sends it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LeakReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token: str = Field(max_length=512)
    type: str = Field(default="", max_length=128)
    url: str = Field(default="", max_length=2048)
    source: str = Field(default="", max_length=128)


class LeakVerdict(BaseModel):
    token_hash_prefix: str
    label: str
