"""`lightkeeper.reads`: a read on the event loop gives what the same read gives in a session.

The two lists read on the loop (no thread hop, no SQLAlchemy execution); every
other caller reads the same statements in its session. Both must agree on
every value and type, on both databases, or a list and a detail page would
disagree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, select, text, update

from lightkeeper.authz import tenancy
from lightkeeper.content import repository as content_repository
from lightkeeper.db import transaction
from lightkeeper.kit.clock import iso, utcnow
from lightkeeper.models import Project, Space, SpaceShare, User
from lightkeeper.organization import repository as organization_repository
from lightkeeper.reads import PostgresReads, Read, reads_for, wire_time
from lightkeeper.runtime import Runtime
from tests.support import add_person, make_org, make_project

T = TypeVar("T")


def _on_a_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on an event loop of its own thread, as a server's loop would.

    Not `asyncio.run` here: Playwright's sync API (the browser tests, in the same
    pytest worker) keeps an event loop running in the main thread.
    """
    with ThreadPoolExecutor(1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


def _world(runtime: Runtime) -> dict[str, Any]:
    """An organization with a preview that expires, a private shared space and a nested space."""
    org = make_org(runtime, "Reads")
    viewer = add_person(runtime, org, "viewer")
    project = make_project(runtime, org, "Jaffle")
    preview_uuid = make_project(runtime, org, "Preview", type_="PREVIEW")
    admin = org.people["admin"].uuid
    with transaction(runtime.sessions) as session:
        preview = session.get(Project, preview_uuid)
        assert preview is not None
        preview.expires_at = utcnow() + timedelta(hours=1)
        private = Space(
            project_uuid=project,
            name="Private",
            slug="private",
            is_private=True,
            created_by_user_uuid=admin,
        )
        public = Space(project_uuid=project, name="Public", slug="public", is_private=False)
        session.add_all([private, public])
        session.flush()
        session.add(
            Space(project_uuid=project, name="Nested", slug="nested", parent_space_uuid=public.uuid)
        )
        session.add(SpaceShare(space_uuid=private.uuid, user_uuid=viewer.uuid, role="editor"))
    return {"org": org.uuid, "project": project, "preview": preview_uuid}


def _reads_of(world: dict[str, Any]) -> list[tuple[Read[Any], dict[str, Any]]]:
    return [
        (
            organization_repository.PROJECT_LIST,
            {"organization_uuid": world["org"], "now": utcnow()},
        ),
        (tenancy.PROJECT_TARGET, {"uuid": world["preview"], "organization_uuid": world["org"]}),
        (tenancy.PROJECT_SHARES, {"project_uuid": world["project"]}),
        (
            content_repository.SPACE_LIST,
            {"project_uuid": world["project"], "organization_uuid": world["org"]},
        ),
        (content_repository.PEOPLE_OF_PROJECT_SPACES, {"project_uuid": world["project"]}),
    ]


def test_a_read_on_the_loop_gives_what_the_session_gives(runtime: Runtime) -> None:
    world = _world(runtime)
    for read, params in _reads_of(world):
        with runtime.sessions() as session:
            in_session = read.run(session, params)
        on_loop = _on_a_loop(runtime.reads.run(read, params))

        assert in_session, read.statement  # every read finds something in this world
        assert on_loop == in_session
        assert [[type(v) for v in row] for row in on_loop] == [
            [type(v) for v in row] for row in in_session
        ]


def test_the_reads_find_what_the_lists_show(runtime: Runtime) -> None:
    world = _world(runtime)
    in_project = {"project_uuid": world["project"], "organization_uuid": world["org"]}
    head, *spaces = _on_a_loop(runtime.reads.run(content_repository.SPACE_LIST, in_project))
    assert isinstance(head, content_repository.ProjectHead)
    assert head.project[0] == world["project"]
    assert head.shared  # the private space is shared
    assert all(isinstance(s, content_repository.SpaceSummaryRow) for s in spaces)
    assert [(s.name, s.is_private, s.chart_count) for s in spaces] == [
        ("Nested", False, 0),
        ("Private", True, 0),
        ("Public", False, 0),
    ]
    people = _on_a_loop(
        runtime.reads.run(
            content_repository.PEOPLE_OF_PROJECT_SPACES, {"project_uuid": world["project"]}
        )
    )
    assert sorted(p.first_name for p in people) == ["Admin", "Viewer"]  # creator and share
    projects = _on_a_loop(
        runtime.reads.run(
            organization_repository.PROJECT_LIST,
            {"organization_uuid": world["org"], "now": utcnow() + timedelta(hours=2)},
        )
    )
    assert [p.name for p in projects] == ["Jaffle"]  # the preview has expired by then

    # A project without spaces is its head alone; another organization's, no row.
    empty = {"project_uuid": world["preview"], "organization_uuid": world["org"]}
    [row] = _on_a_loop(runtime.reads.run(content_repository.SPACE_LIST, empty))
    assert row == content_repository.ProjectHead(row.project, shared=False)
    assert row.project[0] == world["preview"]
    elsewhere = {"project_uuid": world["project"], "organization_uuid": make_org(runtime, "B").uuid}
    assert _on_a_loop(runtime.reads.run(content_repository.SPACE_LIST, elsewhere)) == []


def test_a_read_with_an_in_list_is_refused_before_it_runs(runtime: Runtime) -> None:
    read = Read(select(User.uuid).where(User.uuid.in_(bindparam("uuids", expanding=True))), tuple)
    with pytest.raises(TypeError, match="no expanding"):
        _on_a_loop(runtime.reads.run(read, {"uuids": ["x"]}))


def test_an_in_memory_sqlite_database_is_refused_with_a_reason() -> None:
    from sqlalchemy import create_engine

    with pytest.raises(ValueError, match="SQLite database file"):
        reads_for(create_engine("sqlite://"))


def test_many_concurrent_reads_share_a_few_connections(runtime: Runtime, backend: str) -> None:
    world = _world(runtime)
    read, params = _reads_of(world)[0]
    reads = reads_for(runtime.engine)
    if isinstance(reads, PostgresReads):
        reads = PostgresReads(reads._conninfo, runtime.engine.dialect, idle=1, limit=2)

    async def many() -> list[list[Any]]:
        return await asyncio.gather(*(reads.run(read, params) for _ in range(12)))

    try:
        results = _on_a_loop(many())
        assert len(results) == 12 and all(r == results[0] for r in results)
        if isinstance(reads, PostgresReads):
            assert reads._open <= 2 and not reads._waiters
    finally:
        reads.close()


@pytest.mark.postgresql_only
@pytest.mark.parametrize("when", ["while queued", "once woken"])
def test_a_waiter_that_is_cancelled_passes_its_turn(runtime: Runtime, when: str) -> None:
    """With one connection: a read waits for it; a cancelled waiter never keeps the next one waiting."""
    world = _world(runtime)
    read, params = _reads_of(world)[0]
    conninfo = reads_for(runtime.engine)._conninfo  # type: ignore[attr-defined]
    reads = PostgresReads(conninfo, runtime.engine.dialect, idle=1, limit=1)

    async def scenario() -> list[Any]:
        slow = asyncio.ensure_future(
            reads.run(Read(select(text("1 FROM pg_sleep(0.3)")), tuple), {})
        )
        await asyncio.sleep(0.1)  # the one connection is taken
        first = asyncio.ensure_future(reads.run(read, params))
        second = asyncio.ensure_future(reads.run(read, params))
        await asyncio.sleep(0.05)
        if when == "while queued":
            first.cancel()
            await slow
        else:
            await slow  # the connection is back and `first` is woken, not yet running
            first.cancel()
        return await asyncio.wait_for(second, 5)

    try:
        assert [r.name for r in _on_a_loop(scenario())] == ["Jaffle", "Preview"]
    finally:
        reads.close()


@pytest.mark.postgresql_only
def test_a_read_survives_its_connection_being_killed(runtime: Runtime) -> None:
    world = _world(runtime)
    read, params = _reads_of(world)[0]
    reads = runtime.reads

    async def twice() -> tuple[list[Any], list[Any]]:
        first = await reads.run(read, params)
        with runtime.engine.connect() as conn:  # e.g. a database restart or an idle timeout
            killed = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = 'lightkeeper-reads'"
                )
            ).scalars()
            assert list(killed) == [True]  # the one read connection, idle in the pool
        return first, await reads.run(read, params)

    first, second = _on_a_loop(twice())
    assert first == second


@pytest.mark.postgresql_only
def test_a_process_opens_at_most_ten_read_connections(runtime: Runtime) -> None:
    """What the README promises an operator sizing max_connections."""
    world = _world(runtime)
    read, params = _reads_of(world)[0]

    async def many() -> list[list[Any]]:
        return await asyncio.gather(*(runtime.reads.run(read, params) for _ in range(40)))

    assert len(_on_a_loop(many())) == 40
    with runtime.engine.connect() as conn:
        opened = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'lightkeeper-reads'"
            )
        ).scalar_one()
    assert 1 <= opened <= 10


def test_a_sqlite_file_whose_path_needs_escaping_is_read(tmp_path: Any) -> None:
    """A data directory may be named anything: the reader opens the file by a URI."""
    from sqlalchemy import create_engine

    folder = tmp_path / "data #1 ?100%"
    folder.mkdir()
    path = folder / "lightkeeper.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (7)"))
    reads = reads_for(engine)
    try:
        assert _on_a_loop(reads.run(Read(select(text("n FROM t")), tuple), {})) == [(7,)]
    finally:
        reads.close()
        engine.dispose()


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 4, 1, 30, 18, 565090, tzinfo=UTC),
        datetime(2026, 12, 4, 1, 30, 18, 999999, tzinfo=UTC),  # truncated, never rounded up
        datetime(2026, 12, 4, 1, 30, 18, tzinfo=UTC),  # no fraction at all
        datetime(1999, 12, 31, 23, 59, 59, 1000, tzinfo=ZoneInfo("Europe/Paris")),
        datetime(999, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),  # a year before 1000
    ],
)
def test_a_wire_time_reads_as_the_api_writes_the_time(runtime: Runtime, moment: datetime) -> None:
    """`wire_time` gives `kit.clock.iso` of the stored time, in a session and on the loop."""
    org = make_org(runtime, "Wire")
    project = make_project(runtime, org, "Times")
    with transaction(runtime.sessions) as session:
        space = Space(project_uuid=project, name="T", slug="t", created_at=moment)
        session.add(space)
        session.flush()
        uuid = space.uuid
    read = Read(select(wire_time(Space.__table__.c.created_at)).where(Space.uuid == uuid), tuple)
    with runtime.sessions() as session:
        [(in_session,)] = read.run(session, {})
        stored = session.get(Space, uuid)
        assert stored is not None
        expected = iso(stored.created_at)
    [(on_loop,)] = _on_a_loop(runtime.reads.run(read, {}))
    assert in_session == on_loop == expected == iso(moment)


@pytest.mark.sqlite_only
def test_a_wire_time_takes_other_text_sqlite_may_hold(runtime: Runtime) -> None:
    """Text another writer left (no fraction, a T) is parsed rather than rearranged."""
    org = make_org(runtime, "Wire")
    project = make_project(runtime, org, "Times")
    with transaction(runtime.sessions) as session:
        space = Space(project_uuid=project, name="T", slug="t")
        session.add(space)
        session.flush()
        uuid = space.uuid
    read = Read(select(wire_time(Space.__table__.c.created_at)).where(Space.uuid == uuid), tuple)
    for text_, expected in [
        ("2026-12-04 01:30:18", "2026-12-04T01:30:18.000Z"),
        ("2026-12-04T01:30:18.5", "2026-12-04T01:30:18.500Z"),
    ]:
        with transaction(runtime.sessions) as session:
            session.execute(
                update(Space.__table__)
                .where(Space.uuid == uuid)
                .values(created_at=text(f"'{text_}'"))
            )
        [(on_loop,)] = _on_a_loop(runtime.reads.run(read, {}))
        assert on_loop == expected
