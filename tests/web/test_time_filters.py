"""The pages' time filters take a time or its wire text (the lists read times as text)."""

from __future__ import annotations

from datetime import UTC, datetime

from lightkeeper.kit.clock import iso
from lightkeeper.web.core import environment


def test_a_time_and_its_wire_text_render_alike() -> None:
    moment = datetime(2026, 12, 4, 1, 30, 18, 565090, tzinfo=UTC)
    template = environment().from_string("{{ t | date }}|{{ t | full_time }}|{{ t | iso }}")
    rendered = template.render(t=moment)
    assert rendered == "Dec 4, 2026|2026-12-04 01:30:18 UTC|2026-12-04T01:30:18Z"
    assert template.render(t=iso(moment)) == rendered
