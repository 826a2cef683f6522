"""The demo warehouse: Lightdash's "full jaffle shop demo" tables, shipped with the package.

``jaffle/<table>.csv`` and ``schema.json`` are the tables dbt built from the project whose
manifest is ``manifest.json`` (see README.md and manifest-README.md here: sources, licences,
how they were made). ``build_demo_duckdb`` turns them into a DuckDB file, typed per
``schema.json``; ``load_demo_postgres`` loads the same tables into a PostgreSQL schema (tests).

The manifest's tables are ``"jaffle_shop"."jaffle".<table>``. DuckDB names a database after its
file, so the demo file is always called ``jaffle_shop.duckdb``; for another database or schema
(a throwaway PostgreSQL schema) `retarget_explores` rewrites the explores' table references.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from psycopg import sql as pgsql

from lightkeeper.warehouse.clients import lightdash_type

DEMO_DIR = Path(__file__).resolve().parent
DEMO_MANIFEST = DEMO_DIR / "manifest.json"
DEMO_SCHEMA_FILE = DEMO_DIR / "schema.json"
DEMO_DATABASE = "jaffle_shop"
DEMO_SCHEMA = "jaffle"
DEMO_DATABASE_FILENAME = f"{DEMO_DATABASE}.duckdb"

_POSTGRES_TYPES = {
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "JSON": "jsonb",
}


@cache
def demo_tables() -> tuple[dict[str, Any], ...]:
    """The tables of schema.json: ``name``, ``file``, ``row_count``, ``columns`` (name, type)."""
    document = json.loads(DEMO_SCHEMA_FILE.read_text(encoding="utf-8"))
    return tuple(document["tables"])


def demo_column_types() -> dict[str, dict[str, str]]:
    """Lightdash's type of every demo column, by table (what a warehouse catalog would say)."""
    return {
        table["name"]: {c["name"].lower(): lightdash_type(c["type"]) for c in table["columns"]}
        for table in demo_tables()
    }


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_demo_duckdb(path: Path) -> Path:
    """Create the demo DuckDB file at ``path`` (replacing one that is there) and return it.

    Rules: the file name must be ``jaffle_shop.duckdb`` (the manifest names that database);
    the tables go into schema ``jaffle``, typed per schema.json; the file appears complete or
    not at all (built next to it, then renamed).
    """
    path = Path(path)
    if path.name != DEMO_DATABASE_FILENAME:
        raise ValueError(
            f"The demo database file must be named {DEMO_DATABASE_FILENAME} (the manifest's "
            f"tables are {DEMO_DATABASE}.{DEMO_SCHEMA}.*), not {path.name}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".demo-", dir=path.parent))
    try:
        building = scratch / DEMO_DATABASE_FILENAME
        conn = duckdb.connect(str(building))
        try:
            conn.execute(f"CREATE SCHEMA {_quote(DEMO_SCHEMA)}")
            for table in demo_tables():
                columns = ", ".join(f"'{c['name']}': '{c['type']}'" for c in table["columns"])
                # Names and types come from the packaged schema.json, the path is bound.
                conn.execute(
                    f"CREATE TABLE {_quote(DEMO_SCHEMA)}.{_quote(table['name'])} AS "  # noqa: S608
                    f"SELECT * FROM read_csv(?, columns = {{{columns}}}, header = true, "
                    "auto_detect = false, allow_quoted_nulls = false)",
                    [str(DEMO_DIR / table["file"])],
                )
            conn.execute("CHECKPOINT")
        finally:
            conn.close()
        os.replace(building, path)
    finally:
        for leftover in scratch.iterdir():
            leftover.unlink()
        scratch.rmdir()
    return path


def load_demo_postgres(conninfo: str, schema: str) -> None:
    """Load the demo tables into PostgreSQL schema ``schema`` (created; replaced if present).

    Column names are lower-case, as the manifest documents them (``postalzip``).
    """
    with psycopg.connect(conninfo, autocommit=False) as conn:
        ident = pgsql.Identifier(schema)
        conn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))
        conn.execute(pgsql.SQL("CREATE SCHEMA {}").format(ident))
        for table in demo_tables():
            target = pgsql.Identifier(schema, table["name"])
            columns = pgsql.SQL(", ").join(
                pgsql.SQL("{} {}").format(
                    pgsql.Identifier(c["name"].lower()), pgsql.SQL(_POSTGRES_TYPES[c["type"]])
                )
                for c in table["columns"]
            )
            conn.execute(pgsql.SQL("CREATE TABLE {} ({})").format(target, columns))
            copy_sql = pgsql.SQL("COPY {} FROM STDIN WITH (FORMAT csv, HEADER true)").format(target)
            with (
                conn.cursor().copy(copy_sql) as copy_in,
                (DEMO_DIR / table["file"]).open("rb") as source,
            ):
                while chunk := source.read(1 << 16):
                    copy_in.write(chunk)
        conn.commit()


def drop_demo_postgres(conninfo: str, schema: str) -> None:
    """Drop a schema made by `load_demo_postgres`."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(schema)))


def retarget_explores(
    explores: Iterable[dict[str, Any]], *, database: str | None, schema: str
) -> list[dict[str, Any]]:
    """Copies of ``explores`` whose demo tables point at ``database``.``schema`` instead.

    A table is rewritten when its ``sqlTable`` is the demo's ``"jaffle_shop"."jaffle"."<t>"``;
    ``database`` None leaves the database out (the connection's current one).
    """
    moved = []
    for explore in explores:
        explore = copy.deepcopy(explore)
        for table in explore.get("tables", {}).values():
            sql_table = table.get("sqlTable", "")
            prefix = f"{_quote(DEMO_DATABASE)}.{_quote(DEMO_SCHEMA)}."
            if isinstance(sql_table, str) and sql_table.startswith(prefix):
                parts = [*([database] if database else []), schema]
                rest = sql_table[len(prefix) :]
                table["sqlTable"] = ".".join(_quote(p) for p in parts) + "." + rest
                table["database"] = database or table.get("database")
                table["schema"] = schema
        moved.append(explore)
    return moved
