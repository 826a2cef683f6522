"""The ceiling of the request-path benchmark: the database work of an endpoint and nothing else.

Each route runs, against the benchmark's own Lightkeeper database, what the endpoint
it stands for asks of the database, in a bare FastAPI `async def` started like the
bare handler (tests/bench/bare.py): no authentication, access decision, middleware,
validation of input or shaping of output. Its ratio to the bare handler is about the
most that endpoint could reach on this machine with this framework, server and
driver, so the benchmark prints it next to the endpoint's own.

- `GET /projects/{organization_uuid}`: the projects list's statement
  (`organization.repository.PROJECT_LIST`) through the event-loop reads
  (`lightkeeper.reads`, as the endpoint reads), its rows written by orjson as arrays;
- `GET /spaces/{organization_uuid}/{project_uuid}`: the space list's statement
  (`content.repository.SPACE_LIST`), likewise;
- `POST /write/{project_uuid}/spaces`, `DELETE /write/{project_uuid}/spaces/{uuid}`
  (PostgreSQL): one transaction each on psycopg's async connection, three statements:
  the project's check, the insert or the delete, an audit row (the endpoints make
  about ten, tests/bench/request_path.py says which).

The database is `BENCH_CEILING_DATABASE_URL` (a SQLAlchemy URL, as `DATABASE_URL`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import psycopg
from fastapi import FastAPI, HTTPException, Request, Response
from sqlalchemy import create_engine

from lightkeeper.content.repository import SPACE_LIST
from lightkeeper.kit.clock import utcnow
from lightkeeper.organization.repository import PROJECT_LIST
from lightkeeper.reads import READ_CONNECTIONS, Read, reads_for

_PROJECTS = Read(PROJECT_LIST.statement, tuple)
_SPACES = Read(SPACE_LIST.statement, tuple)

_PROJECT = "SELECT organization_uuid FROM projects WHERE uuid = %s"
_INSERT_SPACE = (
    "INSERT INTO spaces (uuid, project_uuid, name, slug, is_private, created_at)"
    " VALUES (%s, %s, %s, %s, false, now()) ON CONFLICT DO NOTHING RETURNING uuid"
)
_DELETE_SPACE = "DELETE FROM spaces WHERE uuid = %s AND project_uuid = %s RETURNING name"
_AUDIT = (
    "INSERT INTO audit_events (uuid, organization_uuid, occurred_at, actor_type, actor_label,"
    " action, target_type, target_uuid, target_label, details)"
    " VALUES (%s, %s, now(), 'user', 'bench', %s, 'space', %s, %s, %s::jsonb)"
)


def _body(results: Any) -> Response:
    return Response(
        b'{"status":"ok","results":' + orjson.dumps(results) + b"}", media_type="application/json"
    )


class _Connections:
    """At most `READ_CONNECTIONS` psycopg async connections (not autocommit), opened on demand."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        self._open = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        if self._idle.empty() and self._open < READ_CONNECTIONS:
            self._open += 1
            self._idle.put_nowait(await psycopg.AsyncConnection.connect(self._conninfo))
        connection = await self._idle.get()
        try:
            async with connection.transaction():
                yield connection
        finally:
            self._idle.put_nowait(connection)


def create_app() -> FastAPI:
    engine = create_engine(os.environ["BENCH_CEILING_DATABASE_URL"])
    reads = reads_for(engine)
    postgres = engine.url.get_backend_name() == "postgresql"
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    writes = _Connections(conninfo)
    app = FastAPI()

    @app.get("/")
    async def started() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/projects/{organization_uuid}")
    async def projects(organization_uuid: str) -> Response:
        params = {"organization_uuid": organization_uuid, "now": utcnow()}
        return _body(await reads.run(_PROJECTS, params))

    @app.get("/spaces/{organization_uuid}/{project_uuid}")
    async def spaces(organization_uuid: str, project_uuid: str) -> Response:
        params = {"organization_uuid": organization_uuid, "project_uuid": project_uuid}
        return _body(await reads.run(_SPACES, params))

    @app.post("/write/{project_uuid}/spaces")
    async def create(project_uuid: str, request: Request) -> Response:
        if not postgres:
            raise HTTPException(404, "The write's ceiling is measured on PostgreSQL")
        name = orjson.loads(await request.body())["name"]
        space_uuid = str(uuid.uuid4())
        async with writes.transaction() as connection:
            project = await (await connection.execute(_PROJECT, (project_uuid,))).fetchone()
            if project is None:
                raise HTTPException(404, "Project not found")
            created = await connection.execute(
                _INSERT_SPACE, (space_uuid, project_uuid, name, space_uuid)
            )
            if await created.fetchone() is None:
                raise HTTPException(409, "Slug taken")
            details = orjson.dumps({"projectUuid": project_uuid, "slug": space_uuid}).decode()
            await connection.execute(
                _AUDIT, (str(uuid.uuid4()), project[0], "space.created", space_uuid, name, details)
            )
        return _body({"uuid": space_uuid, "name": name, "parentSpaceUuid": None})

    @app.delete("/write/{project_uuid}/spaces/{space_uuid}")
    async def delete(project_uuid: str, space_uuid: str) -> Response:
        async with writes.transaction() as connection:
            project = await (await connection.execute(_PROJECT, (project_uuid,))).fetchone()
            deleted = await connection.execute(_DELETE_SPACE, (space_uuid, project_uuid))
            row = await deleted.fetchone()
            if project is None or row is None:
                raise HTTPException(404, "Space not found")
            await connection.execute(
                _AUDIT, (str(uuid.uuid4()), project[0], "space.deleted", space_uuid, row[0], "{}")
            )
        return Response(status_code=204)

    return app
