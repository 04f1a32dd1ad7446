"""Tests run against real PostgreSQL: the server in $FULLCHAIN_DATABASE_URL when set,
else an embedded server in .data/pg-test. Each test session works in a database of its
own, created here and dropped at the end; each test starts from empty tables."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from application.database import (
    DATABASE_URL_VARIABLE,
    Database,
    data_dir,
    start_embedded_server,
)
from application.schema import TRACKING_TABLE
from interface.runtime import Services, all_migrations, init_database


@pytest.fixture(scope="session")
def server_conninfo() -> str:
    url = os.environ.get(DATABASE_URL_VARIABLE)
    if url:
        return url
    return start_embedded_server(data_dir() / "pg-test")


@pytest.fixture(scope="session")
def database(server_conninfo: str) -> Iterator[Database]:
    name = f"fullchain_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database = Database(server_conninfo, embedded=False).with_dbname(name)
    init_database(database)
    yield database
    with psycopg.connect(server_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def truncate_all(database: Database) -> None:
    tables = []
    for migration in all_migrations():
        for statement in migration.statements:
            words = statement.split()
            if words[:2] == ["CREATE", "TABLE"]:
                name = words[5] if words[2:5] == ["IF", "NOT", "EXISTS"] else words[2]
                if name != TRACKING_TABLE:
                    tables.append(name)
    with database.connect(autocommit=True) as conn:
        # The log refuses TRUNCATE; tests start afresh as a superuser bypassing that.
        conn.execute("SET session_replication_role = replica")
        conn.execute(f"TRUNCATE {', '.join(sorted(set(tables)))} RESTART IDENTITY")
        conn.execute(f"DELETE FROM {TRACKING_TABLE} WHERE application_name <> '__migration__'")


@pytest.fixture
def services(database: Database) -> Iterator[Services]:
    truncate_all(database)
    s = Services.open(database)
    yield s
    s.close()
