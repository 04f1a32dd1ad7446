"""A throwaway database for one benchmark run.

The server is the one in ``$FULLCHAIN_DATABASE_URL`` when set, else an embedded
PostgreSQL in ``$FULLCHAIN_DATA_DIR/pg-bench`` (default ``.data/pg-bench``). Either way
the run creates a database of its own, applies the product's schema to it and drops it
at the end, so a run leaves nothing behind and never touches real data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from application.store.database import (
    DATABASE_URL_VARIABLE,
    Database,
    data_dir,
    start_embedded_server,
)
from interface.runtime import init_database


def server_conninfo() -> tuple[str, str]:
    """The admin conninfo of the server to use, and a description of it for the report."""
    url = os.environ.get(DATABASE_URL_VARIABLE)
    if url:
        params = conninfo_to_dict(url)
        where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"
        return make_conninfo(url), f"server from ${DATABASE_URL_VARIABLE} ({where})"
    pgdata = data_dir() / "pg-bench"
    return start_embedded_server(pgdata), f"embedded PostgreSQL in {pgdata}"


def server_version(conninfo: str) -> str:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


@contextmanager
def throwaway_database(admin_conninfo: str, *, schema: bool = True) -> Iterator[Database]:
    """A fresh database with the product's schema (empty with ``schema=False``), dropped
    when the block exits."""
    name = f"fullchain_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        database = Database(admin_conninfo, embedded=False).with_dbname(name)
        if schema:
            init_database(database)
        yield database
    finally:
        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
