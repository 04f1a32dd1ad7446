"""Explicit, idempotent schema creation (``fullchain db init``).

The library can create its tables on start-up, but it does so with DDL that queues
behind open writer transactions (``CREATE INDEX IF NOT EXISTS`` and the tracking-table
migration take locks before they find there is nothing to do). Here every object belongs
to a numbered migration, and ``init_schema`` reads which are applied with a plain SELECT:
on a database that is up to date it issues no DDL and takes no lock, so a worker or API
process never waits at start-up. Missing migrations are applied under an advisory lock
(so two processes never apply the same one) with a lock timeout.

The event-store tables are the library's own layout (``eventsourcing.postgres``), plus
``recorded_at``: the server time of the append, stamped by PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from application.database import Database

EVENTS_TABLE = "fullchain_events"
TRACKING_TABLE = "projection_tracking"
SCHEMA_ADVISORY_LOCK = 7_301_001


@dataclass(frozen=True)
class Migration:
    migration_id: str
    description: str
    statements: Sequence[str]


EVENT_STORE = Migration(
    "0001_event_store",
    "append-only event log and projection tracking",
    [
        f"""
        CREATE TABLE {EVENTS_TABLE} (
            originator_id uuid NOT NULL,
            originator_version bigint NOT NULL,
            topic text NOT NULL,
            state bytea NOT NULL,
            notification_id bigserial NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (originator_id, originator_version)
        ) WITH (
            autovacuum_vacuum_threshold = 100000000,
            autovacuum_vacuum_scale_factor = 0.5,
            autovacuum_analyze_threshold = 1000,
            autovacuum_analyze_scale_factor = 0.01
        )
        """,
        f"CREATE UNIQUE INDEX {EVENTS_TABLE}_notification_id_idx "
        f"ON {EVENTS_TABLE} (notification_id)",
        f"""
        CREATE TABLE {TRACKING_TABLE} (
            application_name text PRIMARY KEY,
            notification_id bigint
        )
        """,
        # The row type the library's append statement unnests.
        "CREATE TYPE stored_event_uuid AS "
        "(originator_id uuid, originator_version bigint, topic text, state bytea)",
        # The library's marker for single-row tracking tables.
        f"INSERT INTO {TRACKING_TABLE} VALUES ('__migration__', 1)",
    ],
)

STAFF_TOKENS = Migration(
    "0002_staff_tokens",
    "bearer tokens of staff members, stored as SHA-256 hashes",
    [
        """
        CREATE TABLE staff_token (
            token_sha256 bytea PRIMARY KEY,
            staff_id text NOT NULL,
            display_name text NOT NULL,
            issued_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ],
)


def _ensure_registry(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    exists = conn.execute("SELECT to_regclass('fullchain_schema') IS NOT NULL").fetchone()
    if exists and exists[0]:
        return
    with conn.transaction():
        conn.execute(
            """
            CREATE TABLE IF NOT EXISTS fullchain_schema (
                migration_id text PRIMARY KEY,
                description text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )


def applied_migrations(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    exists = conn.execute("SELECT to_regclass('fullchain_schema') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return set()
    return {str(r[0]) for r in conn.execute("SELECT migration_id FROM fullchain_schema")}


def missing_migrations(database: Database, migrations: Sequence[Migration]) -> list[str]:
    with database.connect(autocommit=True) as conn:
        applied = applied_migrations(conn)
    return [m.migration_id for m in migrations if m.migration_id not in applied]


def init_schema(
    database: Database, migrations: Sequence[Migration], *, lock_timeout_s: int = 10
) -> list[str]:
    """Apply the migrations not yet applied; return their ids (empty when up to date)."""
    with database.connect(autocommit=True) as conn:
        applied = applied_migrations(conn)
        todo = [m for m in migrations if m.migration_id not in applied]
        if not todo:
            return []
        _ensure_registry(conn)
        done: list[str] = []
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_ADVISORY_LOCK,))
            conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_s)}s'")
            applied = applied_migrations(conn)  # another process may have just applied some
            for migration in todo:
                if migration.migration_id in applied:
                    continue
                for statement in migration.statements:
                    conn.execute(statement)  # type: ignore[call-overload]
                conn.execute(
                    "INSERT INTO fullchain_schema (migration_id, description) VALUES (%s, %s)",
                    (migration.migration_id, migration.description),
                )
                done.append(migration.migration_id)
        return done


class SchemaNotReady(RuntimeError):
    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(
            "the database schema is not up to date (missing "
            + ", ".join(missing)
            + "); run `fullchain db init`"
        )
