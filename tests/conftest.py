"""Tests run against real PostgreSQL: the server in $FULLCHAIN_DATABASE_URL when set,
else an embedded server in .data/pg-test. Each test session works in a database of its
own, created here and dropped at the end; each test starts from empty tables.

As in production, two roles of the session's own: the schema owner applies the
migrations, and the service (``Services``, the ``database`` fixture) connects as the
runtime role, which owns nothing. The server's superuser only creates and drops them and
empties the tables between tests (the log refuses TRUNCATE to everyone else). Each test
starts with the application's clock pinned to ``tests.clock.NOW``."""

from __future__ import annotations

import logging
import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from application.evidence import EVIDENCE_DIR_VARIABLE
from application.store.database import (
    DATABASE_URL_VARIABLE,
    Database,
    WriteSidePool,
    data_dir,
    ensure_role,
    start_embedded_server,
)
from application.store.schema import TRACKING_TABLE
from interface.runtime import Services, all_migrations, init_database
from tests.branches import register_test_branches
from tests.clock import NOW, PinnedClock

#: A thread that takes a second connection of the write side's pool while it holds one
#: fails its test at once, instead of deadlocking only under load.
WriteSidePool.strict = True

#: The server's superuser conninfo, once the session has one (see ``truncate_all``).
_superuser: list[str] = []


@dataclass(frozen=True)
class SessionDatabase:
    """The session's database, as each of the three roles connects to it."""

    superuser: Database
    owner: Database
    runtime: Database


@pytest.fixture(scope="session", autouse=True)
def evidence_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's evidence store, a folder of its own (``application.evidence``): no
    test writes files into the project's ``.data``."""
    folder = tmp_path_factory.mktemp("evidence")
    os.environ[EVIDENCE_DIR_VARIABLE] = str(folder)
    return folder


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """A test that runs the command line in this process (``interface.cli.main``) gives
    the root logger a handler on that test's captured stderr, which pytest closes after
    it: the handler is taken away again, so that what is logged later (by other tests, or
    by the embedded server's clean-up at exit) does not go to a closed file. pytest's
    own handlers come and go with each phase and are left to it."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in before and not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def server_conninfo() -> str:
    url = os.environ.get(DATABASE_URL_VARIABLE)
    conninfo = url if url else start_embedded_server(data_dir() / "pg-test")
    _superuser.append(conninfo)
    return conninfo


@pytest.fixture(scope="session")
def session_database(server_conninfo: str) -> Iterator[SessionDatabase]:
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    name = f"fullchain_test_{tag}"
    owner_role, runtime_role = f"fullchain_test_owner_{tag}", f"fullchain_test_service_{tag}"
    password = secrets.token_hex(16)  # for servers that ask for one
    with psycopg.connect(server_conninfo, autocommit=True) as conn:
        ensure_role(conn, owner_role, password)
        ensure_role(conn, runtime_role, password)
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner_role)
            )
        )
    superuser = Database(server_conninfo, embedded=False).with_dbname(name)
    databases = SessionDatabase(
        superuser=superuser,
        owner=superuser.with_role(owner_role, password),
        runtime=superuser.with_role(runtime_role, password),
    )
    init_database(databases.owner, runtime_role=runtime_role)
    yield databases
    with psycopg.connect(server_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        for role in (runtime_role, owner_role):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@contextmanager
def fresh_database(server_conninfo: str) -> Iterator[Database]:
    """A database of its own on the server (as its superuser), with the schema, dropped
    afterwards. The name is unique to the process, so test sessions running at once never
    share one."""
    name = f"fullchain_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        database = Database(server_conninfo, embedded=False).with_dbname(name)
        init_database(database)
        yield database
    finally:
        with psycopg.connect(server_conninfo, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def database(session_database: SessionDatabase) -> Database:
    """The session's database as the service's runtime role."""
    return session_database.runtime


@pytest.fixture(scope="session")
def owner_database(session_database: SessionDatabase) -> Database:
    """The session's database as the schema owner."""
    return session_database.owner


@pytest.fixture(scope="session")
def superuser_database(session_database: SessionDatabase) -> Database:
    """The session's database as the server's superuser: for tests that play someone
    with the database's keys."""
    return session_database.superuser


#: Per database: the statements that empty it (see ``truncate_all``).
_emptying: dict[str, str] = {}


def truncate_all(database: Database) -> None:
    """Empty every table of ``database``, as the server's superuser, and restart the
    sequences the tables own (as ``TRUNCATE … RESTART IDENTITY`` would).

    ``DELETE`` rather than ``TRUNCATE``: the tables of a test hold a few rows, and
    truncating a hundred tables (new files for each, and their indexes) costs half a
    second per test where deleting costs milliseconds."""
    superuser = Database(_superuser[0], embedded=False).with_dbname(database.params["dbname"])
    with superuser.connect(autocommit=True) as conn:
        script = _emptying.get(database.params["dbname"])
        if script is None:
            script = _emptying_script(conn)
            _emptying[database.params["dbname"]] = script
        # The log refuses DELETE; tests start afresh as a superuser bypassing that (the
        # replica role turns off triggers, the log's guards and the foreign keys' alike).
        conn.execute(script.encode())


def _emptying_script(conn: psycopg.Connection[Any]) -> str:
    tables = []
    for migration in all_migrations():
        for statement in migration.statements:
            words = statement.split()
            if words[:2] == ["CREATE", "TABLE"]:
                name = words[5] if words[2:5] == ["IF", "NOT", "EXISTS"] else words[2]
                if name != TRACKING_TABLE:
                    tables.append(name)
    # Tables a later migration dropped are not there to empty.
    present = {
        str(r[0])
        for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    tables = sorted(set(t for t in tables if t in present))
    sequences = [
        str(r[0])
        for r in conn.execute(
            """
            SELECT DISTINCT s.oid::regclass::text
            FROM pg_class s
            JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                AND d.deptype IN ('a', 'i')
            JOIN pg_class t ON t.oid = d.refobjid
            WHERE s.relkind = 'S' AND t.relnamespace = 'public'::regnamespace
                AND t.relname = ANY(%s)
            ORDER BY 1
            """,
            (tables,),
        )
    ]
    return "".join(
        [
            "SET session_replication_role = replica;",
            *(f"DELETE FROM {t};" for t in tables),
            f"DELETE FROM {TRACKING_TABLE} WHERE application_name <> '__migration__';",
            *(f"ALTER SEQUENCE {s} RESTART;" for s in sequences),
            "RESET session_replication_role;",
        ]
    )


def open_services(database: Database, now: datetime = NOW, *, branches: bool = True) -> Services:
    """Services on ``database`` whose clock starts at ``now`` (see ``tests.clock``), its
    branch registry holding the branches tests name (``tests.branches``) unless
    ``branches`` is false (a log left empty, for the demo to fill)."""
    s = Services.open(database)
    s.app.clock = PinnedClock(now)
    if branches:
        register_test_branches(s)
    return s


@pytest.fixture
def services(database: Database) -> Iterator[Services]:
    truncate_all(database)
    s = open_services(database)
    yield s
    s.close()
