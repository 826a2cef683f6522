"""Slugs under concurrency: the unique constraint decides, and a lost race costs no transaction."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from lightkeeper.content import repository as repo
from lightkeeper.content import shared
from lightkeeper.db import transaction
from lightkeeper.kit.errors import AlreadyExistsError
from lightkeeper.models import SavedChart, Space
from tests.content.helpers import World
from tests.support import audit_events


def test_a_slug_taken_after_it_was_read_free_gets_the_next_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request committed "sales" after this one read the taken slugs."""
    world.space("admin", "Sales")
    picks: list[str] = []
    real = shared.unique_slug

    def stale_then_real(*args: object, **kwargs: object) -> str:
        picks.append("stale" if not picks else "fresh")
        return "sales" if len(picks) == 1 else real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shared, "unique_slug", stale_then_real)
    created = world.space("admin", "Sales")
    assert picks == ["stale", "fresh"]
    assert created["slug"] == "sales-2"
    events = audit_events(world.runtime, "space.created")
    assert [e.details["slug"] for e in events] == ["sales", "sales-2"]
    listed = world.call("admin", "GET", f"/api/v1/projects/{world.project}/spaces").json()
    assert sorted(s["slug"] for s in listed["results"]) == ["sales", "sales-2"]


def test_an_exact_slug_taken_is_refused_and_the_transaction_goes_on(world: World) -> None:
    """A clash inserts nothing and leaves the transaction usable (PostgreSQL included)."""
    taken = world.space("admin", "Sales")
    with transaction(world.runtime.sessions) as session:
        clash = Space(project_uuid=world.project, name="Sales again", is_private=False)
        with pytest.raises(AlreadyExistsError, match="'sales' is already used"):
            shared.insert_with_slug(session, clash, "Sales again", slug="sales")
        other = shared.insert_with_slug(
            session, Space(project_uuid=world.project, name="Other"), "Other"
        )
        assert other.slug == "other"
    with transaction(world.runtime.sessions) as session:
        slugs = session.scalars(select(Space.slug).where(Space.project_uuid == world.project))
        assert sorted(slugs) == ["other", "sales"]
        kept = session.get(Space, taken["uuid"])
        assert kept is not None and kept.name == "Sales"


def test_an_inserted_row_belongs_to_the_session_with_its_defaults(world: World) -> None:
    space = world.space("admin", "Sales")
    with transaction(world.runtime.sessions) as session:
        chart = SavedChart(
            project_uuid=world.project, space_uuid=space["uuid"], name="Revenue", slug=""
        )
        shared.insert_with_slug(session, chart, "Revenue")
        # Column defaults, as a flush would have filled them in.
        assert chart.uuid and chart.created_at is not None
        assert chart.metric_query == {} and chart.table_name == ""
        assert session.get(SavedChart, chart.uuid) is chart
        chart.name = "Revenue by month"  # tracked: the session writes it on commit
        uuid = chart.uuid
    with transaction(world.runtime.sessions) as session:
        stored = session.get(SavedChart, uuid)
        assert stored is not None and (stored.name, stored.slug) == ("Revenue by month", "revenue")
        count = select(func.count()).select_from(SavedChart)
        assert session.scalar(count) == 1


def test_two_transactions_racing_for_a_slug_both_insert(
    world: World, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second waits for the first's row; PostgreSQL then skips the insert and it takes the next slug.

    The first transaction holds "sales" uncommitted while the second reads the taken slugs
    (not seeing it), picks "sales" too and inserts; only when the first commits does the
    second learn the slug is gone. On SQLite the second cannot begin writing until the
    first has committed, and reads "sales" as taken.
    """
    attempts: list[bool] = []
    insert = repo.insert_unless_taken

    def recorded(session: Session, row: Space) -> bool:
        attempts.append(insert(session, row))
        return attempts[-1]

    monkeypatch.setattr(repo, "insert_unless_taken", recorded)
    holding = threading.Event()
    second: list[str] = []

    def first() -> None:
        with transaction(world.runtime.sessions) as session:
            shared.insert_with_slug(
                session, Space(project_uuid=world.project, name="Sales"), "Sales"
            )
            holding.set()
            _wait_until_another_waits(world, backend)

    def then() -> None:
        holding.wait(10)
        with transaction(world.runtime.sessions) as session:
            space = Space(project_uuid=world.project, name="Sales")
            second.append(shared.insert_with_slug(session, space, "Sales").slug)

    threads = [threading.Thread(target=first), threading.Thread(target=then)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert second == ["sales-2"]
    if backend == "postgresql":
        assert attempts == [True, False, True]  # the second's first try found the slug gone
    with transaction(world.runtime.sessions) as session:
        slugs = session.scalars(select(Space.slug).where(Space.project_uuid == world.project))
        assert sorted(slugs) == ["sales", "sales-2"]


def _wait_until_another_waits(world: World, backend: str) -> None:
    """Until another connection waits on a lock (PostgreSQL), or a moment (SQLite)."""
    if backend != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 10
    with world.runtime.engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar()
            connection.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second transaction never waited for the first's row")
