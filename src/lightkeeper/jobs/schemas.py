"""Wire models of jobs: Lightdash's `ApiJobStatusResponse` results."""

from __future__ import annotations

from typing import Any, Literal

from lightkeeper.kit.schemas import CamelModel

JobState = Literal["scheduled", "started", "completed", "error"]


class JobStatusOut(CamelModel):
    status: JobState
    details: dict[str, Any] | None
