"""LD_SETUP_* with LIGHTKEEPER_DEMO: the first organization also gets the demo project."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from lightkeeper.models import Explore, Project
from lightkeeper.runtime import Runtime
from lightkeeper.setup.service import add_demo_to_existing_instance, run_setup
from tests.support import audit_events

SETUP = {"LD_SETUP_ADMIN_EMAIL": "ops@acme.example", "LD_SETUP_ORGANIZATION_NAME": "Acme"}


def test_setup_with_the_demo_on_adds_the_demo_project_once(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(LIGHTKEEPER_DEMO=True)
    assert run_setup(runtime, SETUP) is True
    with runtime.sessions() as session:
        project = session.scalars(select(Project)).one()
        explores = session.scalars(
            select(Explore.name).where(Explore.project_uuid == project.uuid)
        ).all()
    assert project.name == "Jaffle shop (demo)"
    assert "orders" in explores and "tracks" not in explores
    connection = runtime.secret_box.open(project.warehouse_connection or "")
    assert connection["type"] == "duckdb" and connection["schema"] == "jaffle"
    assert (
        Path(connection["database"])
        == (runtime.settings.data_dir / "demo" / "jaffle_shop.duckdb").resolve()
    )
    created = audit_events(runtime, "project.created")
    assert [(e.actor_label, e.details["demo"]) for e in created] == [("LD_SETUP", True)]
    deployed = audit_events(runtime, "project.explores_deployed")
    assert deployed[0].details["explores"] == len(explores)

    # A restart sets nothing up again.
    assert run_setup(runtime, SETUP) is False
    with runtime.sessions() as session:
        assert len(session.scalars(select(Project)).all()) == 1


def test_setup_without_the_demo_adds_no_project(runtime: Runtime) -> None:
    assert run_setup(runtime, SETUP) is True
    with runtime.sessions() as session:
        assert session.scalars(select(Project)).all() == []


def test_turning_the_demo_on_later_adds_it_to_the_first_organization_once(
    make_runtime: Callable[..., Runtime],
) -> None:
    assert run_setup(make_runtime(), SETUP) is True  # set up without the demo
    later = make_runtime(LIGHTKEEPER_DEMO=True)
    assert run_setup(later, SETUP) is False  # the instance exists: first-run setup skips
    assert add_demo_to_existing_instance(later) is True
    assert add_demo_to_existing_instance(later) is False  # a restart adds nothing
    with later.sessions() as session:
        projects = session.scalars(select(Project)).all()
    assert [p.name for p in projects] == ["Jaffle shop (demo)"]
    admin = audit_events(later, "user.created")[0]
    assert projects[0].created_by_user_uuid == admin.target_uuid
    assert add_demo_to_existing_instance(make_runtime()) is False  # the variable off: nothing
