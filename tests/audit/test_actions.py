"""The audit vocabulary is closed: `record()` stores only names of `audit.actions`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Actor, Target, record
from lightkeeper.db import transaction
from lightkeeper.models import AuditEvent, new_uuid
from lightkeeper.runtime import Runtime
from tests.support import make_org

SRC = Path(__file__).resolve().parents[2] / "src" / "lightkeeper"


def test_record_refuses_an_action_or_target_type_outside_the_enumeration(
    runtime: Runtime,
) -> None:
    acme = make_org(runtime, "Acme", roles=("admin",))
    system = Actor("system", None, "test")
    with transaction(runtime.sessions) as session:
        with pytest.raises(ValueError, match=r"chart\.created"):
            record(
                session,
                organization_uuid=acme.uuid,
                actor=system,
                action="chart.created",
                target=Target(TargetType.SAVED_CHART, new_uuid(), "Revenue"),
            )
        with pytest.raises(ValueError, match="chart"):
            Target("chart", new_uuid(), "Revenue")
        event_uuid = record(
            session,
            organization_uuid=acme.uuid,
            actor=system,
            action=AuditAction.SAVED_CHART_CREATED,
            target=Target(TargetType.SAVED_CHART, new_uuid(), "Revenue"),
        )
        session.flush()
        stored = session.scalar(select(AuditEvent).where(AuditEvent.uuid == event_uuid))
        assert stored is not None
        assert (stored.action, stored.target_type) == ("saved_chart.created", "saved_chart")
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_every_name_the_code_records_is_in_the_enumeration() -> None:
    """A literal `action="…"` or `Target("…"` anywhere in the code is a member's value."""
    code = "\n".join(p.read_text() for p in SRC.rglob("*.py"))
    literal_actions = set(re.findall(r'\baction="([a-z_]+\.[a-z_]+)"', code))
    literal_targets = set(re.findall(r'\bTarget\("([a-z_]+)"', code))
    assert literal_actions <= {a.value for a in AuditAction}
    assert literal_targets <= {t.value for t in TargetType}
