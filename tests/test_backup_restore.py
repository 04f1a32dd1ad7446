"""Backup and restore on real PostgreSQL, through the operators' command line: a dump taken
after a checkpoint was signed, restored into a fresh database, verifies whole (hash chain,
access log, evidence), still extends the checkpoint, refuses to be restored over data, and
the projection workers carry on from the restored read models' positions."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from application.store.backup import candidate_folders, client_tools, server_major, tools_in
from application.store.database import DATABASE_URL_VARIABLE, OWNER_DATABASE_URL_VARIABLE, Database
from domain.relationship import RelationshipKind
from interface.runtime import Services
from projections.freshness import log_head, tracking_positions
from tests.conftest import SessionDatabase, open_services
from tests.test_integrity import write_history
from tests.waiting import wait_until


def fullchain(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interface.cli", *args], env=env, capture_output=True, text=True
    )


def env_for(owner: Database, runtime: Database) -> dict[str, str]:
    return {
        **os.environ,
        DATABASE_URL_VARIABLE: runtime.conninfo,
        OWNER_DATABASE_URL_VARIABLE: owner.conninfo,
    }


@pytest.fixture
def empty_database(
    services: Services, session_database: SessionDatabase
) -> Iterator[tuple[Database, Database]]:
    """A database of its own on the same server, empty and owned by the session's schema
    owner: (as the owner, as the runtime role)."""
    name = f"fullchain_restore_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    superuser = session_database.superuser
    owner_role = session_database.owner.role
    with superuser.connect(autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner_role)
            )
        )
    try:
        yield session_database.owner.with_dbname(name), session_database.runtime.with_dbname(name)
    finally:
        with superuser.connect(autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def head(database: Database) -> int:
    with database.connect() as conn:
        return log_head(conn)


def test_a_restored_dump_verifies_extends_the_checkpoint_before_it_and_projects_on(
    services: Services,
    session_database: SessionDatabase,
    empty_database: tuple[Database, Database],
    tmp_path: Path,
) -> None:
    original = env_for(session_database.owner, session_database.runtime)
    services.start_workers()
    write_history(services, 3)
    # The read models are part of the dump, at the position they had reached.
    caught = head(services.database)
    wait_until(lambda: _positions(services.database) == caught, what="read models caught up")

    signed = fullchain(original, "checkpoint", "--tree")
    assert signed.returncode == 0, signed.stderr
    kept = tmp_path / "before-backup.note"
    kept.write_text(signed.stdout)
    write_history(services, 1)  # after the checkpoint, before the backup

    dump = tmp_path / "fullchain.dump"
    backed_up = fullchain(original, "backup", str(dump))
    assert backed_up.returncode == 0, backed_up.stderr
    assert dump.stat().st_size > 0
    dumped_head = head(services.database)
    write_history(services, 1)  # after the backup: lost with the original
    assert head(services.database) > dumped_head

    owner, runtime = empty_database
    restored_env = env_for(owner, runtime)
    restored = fullchain(restored_env, "restore", str(dump), "--since", str(kept))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    lines = restored.stdout.splitlines()
    assert "extends the checkpoint of" in restored.stdout, restored.stdout
    assert lines[-1] == "verdict: the log is intact"
    assert head(runtime) == dumped_head
    # The read models came back at the position they had reached before the dump.
    assert caught <= _positions(runtime) <= dumped_head

    again = fullchain(restored_env, "restore", str(dump))
    assert again.returncode == 1
    assert "empty database only" in again.stderr
    assert head(runtime) == dumped_head  # nothing was touched

    verified = fullchain(restored_env, "verify", "--since", str(kept))
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The service runs on the restored database: the runtime role may append, and the
    # projection workers carry on from the restored positions to the new entries.
    moved = open_services(runtime, branches=False)
    try:
        moved.start_workers()
        app = moved.app
        new = app.relationships.register_relationship(
            app.context("li.wei"),
            name="After the restore",
            kind=RelationshipKind.PROSPECT,
            industry="electronics",
            region="East China",
            branch="Suzhou",
        )
        assert new.position > dumped_head
        wait_until(lambda: _positions(runtime) >= new.position, what="workers on the restore")
        with moved.reads.connection() as conn:
            row = conn.execute(
                "SELECT name FROM account_status WHERE relationship_id = %s", (new.aggregate_id,)
            ).fetchone()
        assert row is not None
        assert row["name"] == "After the restore"
    finally:
        moved.close()


def _positions(database: Database) -> int:
    """The position every read model has reached (the least of them)."""
    with psycopg.connect(database.conninfo) as conn:
        positions = [p for name, p in tracking_positions(conn).items() if name != "__migration__"]
    return min(positions, default=0)


def test_the_client_tools_are_of_the_servers_version_or_newer(services: Services) -> None:
    major = server_major(services.database)
    tools = client_tools(major)
    assert tools.major >= major
    found = [t for t in (tools_in(f) for f in candidate_folders()) if t is not None]
    if any(t.major == major for t in found):
        assert tools.major == major  # the server's own version, when at hand
    assert Path(tools.pg_dump).is_file()
    assert Path(tools.pg_restore).is_file()
