"""The service's database role cannot rewrite the log: it owns nothing, reads the log and
appends through ``fullchain_append`` only. Every way to alter the log or its triggers is
tried as that role and refused; the service itself works as that role."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from application.store.database import (
    DATA_DIR_VARIABLE,
    DATABASE_URL_VARIABLE,
    EMBEDDED_DATABASE_NAME,
    EMBEDDED_OWNER_ROLE,
    EMBEDDED_RUNTIME_ROLE,
    OWNER_DATABASE_URL_VARIABLE,
    Database,
    ensure_database,
    start_embedded_server,
)
from application.store.integrity import check_checkpoint, sign_head, signing_key, verify
from application.store.schema import (
    EVENTS_TABLE,
    REGISTRY_TABLE,
    TRACKING_TABLE,
    Migration,
    SchemaNotReady,
    adopt_schema_objects,
    init_schema,
    privilege_statements,
    runtime_role_powers,
)
from domain.relationship import RelationshipKind
from interface.runtime import Services, all_migrations, init_database
from projections.account_status.queries import get_account
from projections.engine import rebuild
from projections.freshness import wait_for_position
from tests.branches import register_test_branches
from tests.conftest import SessionDatabase

Connection = psycopg.Connection[tuple[Any, ...]]


def register(services: Services, name: str) -> tuple[Any, int]:
    app = services.app
    result = app.relationships.register_relationship(
        app.context("li.wei"),
        name=name,
        kind=RelationshipKind.PROSPECT,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    )
    return result.aggregate_id, result.position


def rows(conn: Connection, query: str, *params: Any) -> list[tuple[Any, ...]]:
    return conn.execute(query, params).fetchall()  # type: ignore[call-overload, no-any-return]


def refused(conn: Connection, statement: str | sql.Composable) -> None:
    """``statement`` fails for want of privilege, and changes nothing."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
        conn.execute(statement)  # type: ignore[arg-type]


def log_state(conn: Connection) -> tuple[Any, ...]:
    """What a rewrite of the log would have to change: its rows, owner, triggers, rules,
    privileges and the append functions' security."""
    return (
        rows(conn, f"SELECT notification_id, topic, state, chain_hash FROM {EVENTS_TABLE}"),
        rows(
            conn,
            "SELECT relowner::regrole::text, relacl::text FROM pg_class WHERE oid = %s::regclass",
            EVENTS_TABLE,
        ),
        rows(
            conn,
            "SELECT tgname, tgenabled, tgfoid::regproc::text FROM pg_trigger "
            "WHERE tgrelid = %s::regclass ORDER BY 1",
            EVENTS_TABLE,
        ),
        rows(conn, "SELECT rulename FROM pg_rules WHERE tablename = %s", EVENTS_TABLE),
        rows(
            conn,
            "SELECT oid::regprocedure::text, md5(prosrc), prosecdef, proconfig, "
            "proowner::regrole::text, proacl::text FROM pg_proc "
            "WHERE pronamespace = 'public'::regnamespace ORDER BY 1",
        ),
    )


def test_the_runtime_role_cannot_alter_the_log_or_its_triggers(
    services: Services, owner_database: Database
) -> None:
    register(services, "Before")
    runtime = services.database
    with owner_database.connect(autocommit=True) as owner:
        before = log_state(owner)
        owner_role = owner_database.role
    with runtime.connect(autocommit=True) as conn:
        assert rows(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == [
            (False,)
        ]
        triggers = [
            r[0]
            for r in rows(
                conn,
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                EVENTS_TABLE,
            )
        ]
        assert {"fullchain_events_append_only", "fullchain_events_chain"} <= set(triggers)
        functions = rows(
            conn,
            "SELECT oid::regprocedure::text, pg_get_functiondef(oid) FROM pg_proc "
            "WHERE pronamespace = 'public'::regnamespace AND prokind = 'f'",
        )
        appends = [f for f, _ in functions if f.startswith("fullchain_append")]
        assert appends
        assert {"fullchain_chain_event()", "fullchain_refuse_rewrite()"} <= {
            f for f, _ in functions
        }

        # Rows: no rewrite, no removal, no way around the append function.
        refused(conn, f"UPDATE {EVENTS_TABLE} SET topic = 'Rewritten'")
        refused(conn, f"DELETE FROM {EVENTS_TABLE}")
        refused(conn, f"TRUNCATE {EVENTS_TABLE}")
        refused(
            conn,
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state) "
            "VALUES (gen_random_uuid(), 1, 'Forged.Event', '\\x7b7d')",
        )
        refused(conn, f"SELECT setval('{EVENTS_TABLE}_notification_id_seq', 1)")
        refused(conn, f"LOCK TABLE {EVENTS_TABLE} IN ACCESS EXCLUSIVE MODE")
        # Triggers: not disabled, dropped, renamed or added to; no rules.
        refused(conn, f"ALTER TABLE {EVENTS_TABLE} DISABLE TRIGGER ALL")
        refused(conn, f"ALTER TABLE {EVENTS_TABLE} DISABLE TRIGGER USER")
        for trigger in triggers:
            name = sql.Identifier(trigger)
            table = sql.Identifier(EVENTS_TABLE)
            refused(conn, sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(table, name))
            refused(conn, sql.SQL("ALTER TABLE {} ENABLE REPLICA TRIGGER {}").format(table, name))
            refused(conn, sql.SQL("DROP TRIGGER {} ON {}").format(name, table))
            refused(conn, sql.SQL("ALTER TRIGGER {} ON {} RENAME TO gone").format(name, table))
        refused(
            conn,
            f"CREATE TRIGGER sneaky BEFORE INSERT ON {EVENTS_TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION fullchain_chain_event()",
        )
        refused(
            conn,
            f"CREATE RULE no_deletes AS ON DELETE TO {EVENTS_TABLE} DO INSTEAD NOTHING",
        )
        refused(conn, "SET session_replication_role = replica")
        # The table itself: not dropped, renamed, given away or altered.
        refused(conn, f"DROP TABLE {EVENTS_TABLE}")
        refused(conn, f"DROP TABLE {EVENTS_TABLE} CASCADE")
        refused(conn, f"ALTER TABLE {EVENTS_TABLE} RENAME TO old_events")
        refused(conn, f"ALTER TABLE {EVENTS_TABLE} OWNER TO CURRENT_USER")
        refused(conn, f"ALTER TABLE {EVENTS_TABLE} ADD COLUMN note text")
        refused(conn, f"CREATE INDEX sneaky_idx ON {EVENTS_TABLE} (topic)")
        # Functions: the append and the triggers' functions are not replaced or altered.
        for signature, definition in functions:
            refused(conn, definition)  # CREATE OR REPLACE FUNCTION, the same body even
            refused(conn, f"ALTER FUNCTION {signature} SECURITY INVOKER")
            refused(conn, f"ALTER FUNCTION {signature} RESET ALL")
            refused(conn, f"ALTER FUNCTION {signature} OWNER TO CURRENT_USER")
            refused(conn, f"DROP FUNCTION {signature} CASCADE")
        # Its own privileges: no more than it was given, no other role to become.
        conn.execute(f"GRANT ALL ON {EVENTS_TABLE} TO CURRENT_USER")  # a no-op: a warning
        conn.execute(f"GRANT ALL ON {EVENTS_TABLE} TO PUBLIC")
        refused(conn, sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(owner_role)))
        refused(conn, sql.SQL("SET ROLE {}").format(sql.Identifier(owner_role)))
        refused(conn, "ALTER ROLE CURRENT_USER SUPERUSER")
        refused(conn, "ALTER ROLE CURRENT_USER BYPASSRLS")
        # Nor a table or function of its own to put in the append's way.
        refused(conn, "CREATE TABLE public.shadow (x int)")
        refused(
            conn, "CREATE FUNCTION public.sha256(bytea) RETURNS bytea LANGUAGE sql AS 'SELECT $1'"
        )

        assert runtime_role_powers(conn) == []
        privileges = rows(
            conn,
            "SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', "
            "'REFERENCES', 'TRIGGER']) AS p WHERE has_table_privilege(%s, p)",
            EVENTS_TABLE,
        )
        assert privileges == [("SELECT",)]

    with owner_database.connect(autocommit=True) as owner:
        assert log_state(owner) == before
    assert verify(runtime).intact
    # …and it still appends, through the function.
    _, position = register(services, "After")
    assert verify(runtime).intact_up_to == position


def security_of(conn: Connection, functions: str) -> list[tuple[Any, ...]]:
    """Of the functions matching the condition ``functions``: SECURITY DEFINER, settings,
    owner, whether the connected role and whether PUBLIC may execute."""
    return rows(
        conn,
        f"""
        SELECT prosecdef, proconfig, proowner::regrole::text,
               has_function_privilege(current_user, oid, 'EXECUTE'),
               EXISTS (SELECT 1 FROM aclexplode(COALESCE(
                           proacl, acldefault('f'::"char", proowner))) a
                       WHERE a.grantee = 0)
        FROM pg_proc WHERE {functions}
        """,
    )


def test_the_append_functions_run_as_the_owner_with_a_fixed_search_path(
    services: Services, owner_database: Database
) -> None:
    with services.database.connect(autocommit=True) as conn:
        appends = security_of(conn, "starts_with(proname, 'fullchain_append')")
    assert appends
    for definer, config, owner, runtime_may, public_may in appends:
        assert (definer, owner, runtime_may, public_may) == (
            True,
            owner_database.role,
            True,
            False,
        )
        assert config == ["search_path=pg_catalog, public, pg_temp"]


def test_the_service_works_as_the_runtime_role(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        Services.open(services.database).close()
    assert "honesty" not in caplog.text

    rid, _ = register(services, "Acme")
    app = services.app
    last = app.relationships.rename_relationship(
        app.context("li.wei"), rid, name="Acme Ltd"
    ).position
    token_owner = app.staff.register_staff(
        app.context("admin"), staff_id="li.wei", name="Li Wei", branch="Suzhou"
    )
    assert token_owner.version == 1
    # Projections, and a rebuild of one.
    for projection in services.projections:
        services.worker(projection).catch_up()
    with services.reads.connection() as conn:
        assert wait_for_position(conn, "account_status", last, timeout=120)
        row = get_account(conn, rid, now=services.app.clock())
        assert row is not None
        assert row["name"] == "Acme Ltd"
    assert rebuild(services.worker(services.projections[0])) > 0
    with services.reads.connection() as conn:
        row = get_account(conn, rid, now=services.app.clock())
        assert row is not None
        assert row["name"] == "Acme Ltd"
    # Tamper evidence: verify, sign and check a checkpoint.
    assert verify(services.database).intact
    key = signing_key(services.database)
    checkpoint = sign_head(services.database, key)
    assert check_checkpoint(services.database, checkpoint, key.public_key()).extends
    # Time travel.
    at = services.time_travel().state("Relationship", rid, version=1)
    assert at.aggregate.name == "Acme"  # type: ignore[attr-defined]


def test_db_init_as_the_runtime_role_does_nothing_or_is_refused(services: Services) -> None:
    """A server process given only the runtime role's URL (`serve` runs `db init`)."""
    runtime = services.database
    assert init_database(runtime, runtime_role=runtime.role) == []  # up to date: no DDL
    with pytest.raises(SchemaNotReady, match="may not bring the schema up to date"):
        init_schema(runtime, [*all_migrations(), FUTURE], runtime_role=runtime.role)
    with runtime.connect(autocommit=True) as conn:
        assert rows(conn, "SELECT to_regclass('future_model')") == [(None,)]


def test_one_role_for_both_is_allowed_with_a_warning(
    owner_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        Services.open(owner_database).close()
    assert "append-only rule then rests on that role's honesty" in caplog.text
    assert f"it owns {EVENTS_TABLE}" in caplog.text


# --- migrations to come, and databases of earlier versions -------------------------------


@pytest.fixture
def other_database(
    server_conninfo: str, session_database: SessionDatabase
) -> Iterator[tuple[Database, Database]]:
    """A second database of the session's roles, with no schema yet: (superuser, owner)."""
    name = f"fullchain_other_{uuid.uuid4().hex[:8]}"
    superuser = session_database.superuser.with_dbname(name)
    with psycopg.connect(server_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield superuser, session_database.owner.with_dbname(name)
    finally:
        with psycopg.connect(server_conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


FUTURE = Migration(
    "9001_future",
    "a read model and an append function of a later version",
    [
        "CREATE TABLE future_model (id bigserial PRIMARY KEY, note text NOT NULL)",
        """
        CREATE FUNCTION fullchain_append_with_note(note text) RETURNS bigint
        LANGUAGE sql AS $$ SELECT count(*) FROM fullchain_events $$
        """,
    ],
)

REPLACED = Migration(
    "9002_replaced",
    "the append function replaced (which resets its security to the defaults)",
    [
        """
        CREATE OR REPLACE FUNCTION fullchain_append_with_note(note text) RETURNS bigint
        LANGUAGE sql AS $$ SELECT count(*) + 1 FROM fullchain_events $$
        """,
    ],
)


def test_objects_of_a_later_migration_get_the_same_privileges(
    session_database: SessionDatabase, other_database: tuple[Database, Database]
) -> None:
    superuser, owner = other_database
    runtime = session_database.runtime.with_dbname(owner.params["dbname"])
    with superuser.connect(autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(owner.params["dbname"]), sql.Identifier(owner.role)
            )
        )
    migrations = [*all_migrations(), FUTURE]
    assert FUTURE.migration_id in init_schema(owner, migrations, runtime_role=runtime.role)

    def append_function() -> tuple[Any, ...]:
        with runtime.connect(autocommit=True) as conn:
            found = security_of(conn, "proname = 'fullchain_append_with_note'")
        assert len(found) == 1
        return found[0]

    secured = (True, ["search_path=pg_catalog, public, pg_temp"], owner.role, True, False)
    assert append_function() == secured
    with runtime.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO future_model (note) VALUES ('written')")
        conn.execute("UPDATE future_model SET note = 'changed'")
        assert rows(conn, "SELECT id, note FROM future_model") == [(1, "changed")]
        conn.execute("DELETE FROM future_model")
        conn.execute("TRUNCATE future_model")
        assert rows(conn, "SELECT fullchain_append_with_note('x')") == [(0,)]
        refused(conn, "ALTER TABLE future_model ADD COLUMN extra text")
        refused(conn, "DROP TABLE future_model")

    # Privileges someone added by hand are taken back by the next `db init`.
    with owner.connect(autocommit=True) as conn:
        for grant in (
            f"GRANT INSERT, UPDATE ON {EVENTS_TABLE} TO {{}}",
            "GRANT TRIGGER, REFERENCES ON future_model TO {}",
            "GRANT EXECUTE ON FUNCTION fullchain_append_with_note(text) TO PUBLIC, {}",
        ):
            conn.execute(sql.SQL(grant).format(sql.Identifier(runtime.role)))  # type: ignore[arg-type]
    # CREATE OR REPLACE resets SECURITY DEFINER and the search_path: set again in the
    # migration's own transaction.
    assert init_schema(owner, [*migrations, REPLACED], runtime_role=runtime.role) == [
        REPLACED.migration_id
    ]
    assert append_function() == secured
    with runtime.connect(autocommit=True) as conn:
        assert rows(conn, "SELECT fullchain_append_with_note('x')") == [(1,)]
        assert runtime_role_powers(conn) == []
        assert rows(
            conn,
            "SELECT has_table_privilege('future_model', 'TRIGGER'), "
            "has_table_privilege('future_model', 'REFERENCES')",
        ) == [(False, False)]
    # Up to date: nothing left to do, so nothing is done.
    with owner.connect(autocommit=True) as conn:
        assert privilege_statements(conn, owner.role, runtime.role) == []
    assert init_schema(owner, [*migrations, REPLACED], runtime_role=runtime.role) == []


def apply_as_earlier_versions_did(database: Database) -> None:
    """The schema as earlier versions left it: migrations run by the server's superuser,
    which then owns everything, with no privileges set."""
    with database.connect(autocommit=True) as conn, conn.transaction():
        conn.execute(
            "CREATE TABLE fullchain_schema (migration_id text PRIMARY KEY, "
            "description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in all_migrations():
            for statement in migration.statements:
                conn.execute(statement)  # type: ignore[call-overload]
            conn.execute(
                "INSERT INTO fullchain_schema VALUES (%s, %s)",
                (migration.migration_id, migration.description),
            )


def test_db_init_hands_a_database_of_an_earlier_version_to_the_owner(
    server_conninfo: str,
    session_database: SessionDatabase,
    other_database: tuple[Database, Database],
) -> None:
    superuser, owner = other_database
    dbname = owner.params["dbname"]
    runtime = session_database.runtime.with_dbname(dbname)
    apply_as_earlier_versions_did(superuser)
    earlier = Services.open(superuser)
    register_test_branches(earlier)
    try:
        rid, _ = register(earlier, "Written by an earlier version")
    finally:
        earlier.close()

    # What the embedded server does on `db init`: the database and its objects to the
    # owner, then the privileges.
    ensure_database(server_conninfo, dbname, owner=owner.role)
    handed = adopt_schema_objects(superuser, owner.role)
    assert any(EVENTS_TABLE in statement for statement in handed)
    assert init_database(owner, runtime_role=runtime.role) == []
    # Idempotent: nothing more to hand over or grant.
    assert adopt_schema_objects(superuser, owner.role) == []
    with owner.connect(autocommit=True) as conn:
        assert privilege_statements(conn, owner.role, runtime.role) == []
        assert rows(
            conn,
            "SELECT DISTINCT relowner::regrole::text FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace",
        ) == [(owner.role,)]
        assert rows(
            conn,
            "SELECT DISTINCT proowner::regrole::text FROM pg_proc "
            "WHERE pronamespace = 'public'::regnamespace",
        ) == [(owner.role,)]
        assert rows(
            conn,
            "SELECT has_table_privilege(%s, %s, 'SELECT'), "
            "has_table_privilege(%s, %s, 'INSERT'), has_table_privilege(%s, %s, 'SELECT')",
            runtime.role,
            EVENTS_TABLE,
            runtime.role,
            EVENTS_TABLE,
            runtime.role,
            REGISTRY_TABLE,
        ) == [(True, False, True)]

    later = Services.open(runtime)
    try:
        assert later.app.relationships.get_relationship(rid).name == "Written by an earlier version"
        _, position = register(later, "Written by this version")
        result = verify(runtime)
        assert result.intact
        assert result.intact_up_to == position
    finally:
        later.close()


def fullchain(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interface.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_embedded_database_creates_both_roles_and_fixes_an_earlier_layout(
    tmp_path: Path,
) -> None:
    """`make run` on a `.data/pg` of an earlier version: `db init` hands the superuser's
    tables to the owner role, grants the runtime role, and the service runs as it."""
    admin = start_embedded_server(tmp_path / "pg")
    ensure_database(admin, EMBEDDED_DATABASE_NAME)  # as earlier versions: the superuser's
    superuser = Database(admin, embedded=True).with_dbname(EMBEDDED_DATABASE_NAME)
    apply_as_earlier_versions_did(superuser)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (DATABASE_URL_VARIABLE, OWNER_DATABASE_URL_VARIABLE)
    }
    env[DATA_DIR_VARIABLE] = str(tmp_path)
    for _ in range(2):  # idempotent
        done = fullchain(env, "db", "init")
        assert done.returncode == 0, done.stderr
        assert "schema up to date" in done.stdout
    unknown = fullchain(env, "staff", "add", "li.wei", "Li Wei", "--branch", "Suzhou")
    assert unknown.returncode == 1
    assert "no branch 'Suzhou' is registered" in unknown.stderr
    branch = fullchain(
        env,
        "branch",
        "add",
        "Suzhou",
        "--name-zh",
        "苏州分公司",
        "--name-en",
        "Suzhou Branch",
        "--region",
        "East China",
        "--time-zone",
        "Asia/Shanghai",
        "--currency",
        "CNY",
    )
    assert branch.returncode == 0, branch.stderr
    added = fullchain(env, "staff", "add", "li.wei", "Li Wei", "--branch", "Suzhou")
    assert added.returncode == 0, added.stderr
    checked = fullchain(env, "verify")
    assert checked.returncode == 0, checked.stderr
    assert "intact up to position 2" in checked.stdout
    with superuser.connect(autocommit=True) as conn:
        roles = dict(
            rows(
                conn,
                "SELECT rolname, rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles "
                "WHERE rolname IN (%s, %s)",
                EMBEDDED_OWNER_ROLE,
                EMBEDDED_RUNTIME_ROLE,
            )
        )
        assert roles == {EMBEDDED_OWNER_ROLE: False, EMBEDDED_RUNTIME_ROLE: False}
        assert rows(
            conn,
            "SELECT DISTINCT relowner::regrole::text FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace",
        ) == [(EMBEDDED_OWNER_ROLE,)]
        assert (
            rows(
                conn,
                "SELECT usename FROM pg_stat_activity WHERE datname = %s AND usename <> "
                "current_user AND backend_type = 'client backend'",
                EMBEDDED_DATABASE_NAME,
            )
            == []
        )  # (the CLI processes are gone)
        assert rows(
            conn,
            "SELECT has_table_privilege(%s, %s, 'INSERT')",
            EMBEDDED_RUNTIME_ROLE,
            EVENTS_TABLE,
        ) == [(False,)]
        assert rows(
            conn,
            "SELECT originator_version FROM fullchain_events WHERE topic LIKE 'Staff.%%'",
        ) == [(1,)]


def version_before(
    session_database: SessionDatabase,
    other_database: tuple[Database, Database],
    migration_id: str,
) -> tuple[Database, Database, list[Migration], int]:
    """The other database, owned by the owner role, at the version before ``migration_id``,
    with the responsibility audit and account status tracked at position 42: the owner,
    the runtime role, every migration and the index of ``migration_id`` among them."""
    superuser, owner = other_database
    runtime = session_database.runtime.with_dbname(owner.params["dbname"])
    with superuser.connect(autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(owner.params["dbname"]), sql.Identifier(owner.role)
            )
        )
    migrations = all_migrations()
    at = [m.migration_id for m in migrations].index(migration_id)
    init_schema(owner, migrations[:at], runtime_role=runtime.role)
    with owner.connect(autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {TRACKING_TABLE} (application_name, notification_id)"
            " VALUES ('responsibility_audit', 42), ('account_status', 42)"
        )
    return owner, runtime, migrations, at


def test_a_database_of_the_version_before_claim_deadlines_rebuilds_the_audit(
    session_database: SessionDatabase, other_database: tuple[Database, Database]
) -> None:
    """Migration 0018 gives claims both sets of deadlines: the one pair's columns become the
    recovery's, and the responsibility audit is emptied and its position forgotten, so its
    worker rebuilds it from the log; other read models keep theirs."""
    owner, runtime, migrations, deadlines = version_before(
        session_database, other_database, "0018_claim_deadlines"
    )
    with owner.connect(autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_claim (shipment_id, claim_id, incident_id, currency, amount,"
            " notified_at, notice_deadline, time_bar, recovery_waived) VALUES (%s, %s, %s,"
            " 'USD', 1, now(), now(), now(), false)",
            (uuid.uuid4(), uuid.uuid4(), uuid.uuid4()),
        )

    assert init_schema(owner, migrations[: deadlines + 1], runtime_role=runtime.role) == [
        "0018_claim_deadlines"
    ]
    with runtime.connect(autocommit=True) as conn:
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'audit_claim'"
            )
        }
        assert {
            "recovery_notice_deadline",
            "recovery_time_bar",
            "recovery_noticed_at",
            "customer_regime",
            "customer_notice_deadline",
            "customer_time_bar",
        } <= columns
        assert not {"notice_deadline", "time_bar"} & columns
        assert conn.execute("SELECT count(*) FROM audit_claim").fetchone() == (0,)
        tracked = {row[0] for row in conn.execute(f"SELECT application_name FROM {TRACKING_TABLE}")}
        assert "account_status" in tracked
        assert "responsibility_audit" not in tracked


def test_a_database_of_the_version_before_handover_exceptions_rebuilds_the_audit(
    session_database: SessionDatabase, other_database: tuple[Database, Database]
) -> None:
    """Migration 0019 adds the handover exceptions the damaged-handover finding reads, and
    empties the responsibility audit and forgets its position, so its worker rebuilds it
    (the new table with it) from the log; other read models keep theirs."""
    owner, runtime, migrations, exceptions = version_before(
        session_database, other_database, "0019_handover_exceptions"
    )
    with owner.connect(autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_link (shipment_id, sequence, function, party, regime, status,"
            " planned_end, received_condition) VALUES (%s, 4, 'import_customs',"
            " 'branch:Chicago', 'company_terms', 'completed', now(), 'damaged')",
            (uuid.uuid4(),),
        )

    assert init_schema(owner, migrations[: exceptions + 1], runtime_role=runtime.role) == [
        "0019_handover_exceptions"
    ]
    with runtime.connect(autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM audit_link").fetchone() == (0,)
        tracked = {row[0] for row in conn.execute(f"SELECT application_name FROM {TRACKING_TABLE}")}
        assert "account_status" in tracked
        assert "responsibility_audit" not in tracked
        # The service writes and reads the new table.
        conn.execute(
            "INSERT INTO audit_handover_exception VALUES"
            " (%s, 4, false, now(), 'damaged', NULL, 3, 'branch:Suzhou', NULL)",
            (uuid.uuid4(),),
        )
        assert conn.execute(
            "SELECT responsible_link_sequence FROM audit_handover_exception"
        ).fetchone() == (3,)
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'audit_incident'"
            )
        }
        assert {"proposed_party", "proposed_partner_id"} <= columns


def test_a_database_of_the_version_before_party_names_rebuilds_the_audit(
    session_database: SessionDatabase, other_database: tuple[Database, Database]
) -> None:
    """Migration 0022 adds the directory of names and each shipment's party references, and
    the names beside the parties' ids; it empties the responsibility audit and forgets its
    position, so its worker rebuilds it (names with it) from the log; other read models
    keep theirs."""
    owner, runtime, migrations, names = version_before(
        session_database, other_database, "0022_party_names"
    )
    with owner.connect(autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_incident (shipment_id, incident_id, link_sequence, kind,"
            " discovered_at, responsibility_status) VALUES (%s, %s, 4, 'damage', now(),"
            " 'unassigned')",
            (uuid.uuid4(), uuid.uuid4()),
        )

    assert init_schema(owner, migrations[: names + 1], runtime_role=runtime.role) == [
        "0022_party_names"
    ]
    with runtime.connect(autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM audit_incident").fetchone() == (0,)
        tracked = {row[0] for row in conn.execute(f"SELECT application_name FROM {TRACKING_TABLE}")}
        assert "account_status" in tracked
        assert "responsibility_audit" not in tracked
        # The service writes and reads the new tables and columns.
        shipment = uuid.uuid4()
        conn.execute(
            "INSERT INTO audit_party_name VALUES ('partner:x', 7, 'Old'), ('partner:x', 9, 'New')"
        )
        conn.execute(
            "INSERT INTO audit_party_ref VALUES (%s, 'link:3', 'partner:x', 8)", (shipment,)
        )
        assert conn.execute(
            "SELECT n.name FROM audit_party_ref r JOIN audit_party_name n ON n.party = r.party"
            " AND n.position < r.position"
        ).fetchall() == [("Old",)]
        columns = {
            (row[0], row[1])
            for row in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE column_name LIKE '%%_name'"
            )
        }
        assert {
            ("audit_link", "party_name"),
            ("audit_incident", "responsible_party_name"),
            ("audit_incident", "proposed_party_name"),
            ("audit_handover_exception", "responsible_party_name"),
            ("audit_claim", "responsible_party_name"),
            ("audit_claim", "recovery_from_name"),
        } <= columns


def test_a_database_of_the_version_before_cargo_conditions_rebuilds_the_audit(
    session_database: SessionDatabase, other_database: tuple[Database, Database]
) -> None:
    """Migration 0023 marks the links that hold goods (every link stored so far held them)
    and adds the breaches of the cargo's conditions the finding reads; it empties the
    responsibility audit and forgets its position, so its worker rebuilds it from the log;
    other read models keep theirs."""
    owner, runtime, migrations, conditions = version_before(
        session_database, other_database, "0023_cargo_conditions"
    )
    shipment = uuid.uuid4()
    with owner.connect(autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_link (shipment_id, sequence, function, party, regime, status,"
            " planned_end) VALUES (%s, 1, 'pickup', 'branch:Suzhou', 'company_terms',"
            " 'completed', now())",
            (shipment,),
        )

    assert init_schema(owner, migrations[: conditions + 1], runtime_role=runtime.role) == [
        "0023_cargo_conditions"
    ]
    with runtime.connect(autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM audit_link").fetchone() == (0,)
        tracked = {row[0] for row in conn.execute(f"SELECT application_name FROM {TRACKING_TABLE}")}
        assert "account_status" in tracked
        assert "responsibility_audit" not in tracked
        # The service writes and reads the new column and table.
        conn.execute(
            "INSERT INTO audit_link (shipment_id, sequence, function, party, regime, status,"
            " planned_end) VALUES (%s, 3, 'logistics_information', 'branch:Suzhou',"
            " 'company_terms', 'planned', now())",
            (shipment,),
        )
        assert conn.execute("SELECT takes_custody FROM audit_link").fetchone() == (True,)
        conn.execute(
            "INSERT INTO audit_condition_breach (shipment_id, link_sequence, to_consignee,"
            " kind, handed_over_at, detail, responsible_link_sequence, responsible_party)"
            " VALUES (%s, 6, false, 'temperature', now(), '12.6 °C highest logged', 5,"
            " 'branch:Suzhou')",
            (shipment,),
        )
        assert conn.execute(
            "SELECT kind, responsible_link_sequence FROM audit_condition_breach"
        ).fetchone() == ("temperature", 5)


def test_a_database_of_the_version_before_link_costs_keeps_the_audit_and_adds_costs(
    session_database: SessionDatabase, other_database: tuple[Database, Database]
) -> None:
    """Migration 0024 adds each link's planned and invoiced cost and the partners'
    charge-backs and bonuses. No event of either existed before, so the responsibility
    audit keeps its rows (their links without a cost) and its position."""
    owner, runtime, migrations, costs = version_before(
        session_database, other_database, "0024_link_costs"
    )
    shipment = uuid.uuid4()
    with owner.connect(autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_link (shipment_id, sequence, function, party, regime, status,"
            " planned_end) VALUES (%s, 3, 'main_carriage', 'partner:x', 'montreal',"
            " 'completed', now())",
            (shipment,),
        )

    assert init_schema(owner, migrations[: costs + 1], runtime_role=runtime.role) == [
        "0024_link_costs"
    ]
    with runtime.connect(autocommit=True) as conn:
        assert conn.execute(
            "SELECT sequence, planned_cost, actual_cost FROM audit_link WHERE shipment_id = %s",
            (shipment,),
        ).fetchall() == [(3, None, None)]
        tracked = {row[0] for row in conn.execute(f"SELECT application_name FROM {TRACKING_TABLE}")}
        assert {"account_status", "responsibility_audit"} <= tracked
        # The service writes and reads the new columns and table.
        conn.execute(
            "UPDATE audit_link SET planned_cost = 4680.00, planned_currency = 'USD'"
            " WHERE shipment_id = %s",
            (shipment,),
        )
        conn.execute(
            "INSERT INTO audit_partner_reward (partner_id, reward_id, kind, amount, currency,"
            " reason, decided_at, decided_by, position) VALUES (%s, %s, 'bonus', 500, 'USD',"
            " 'clean quarter', now(), 'chen.hq', 43)",
            (uuid.uuid4(), uuid.uuid4()),
        )
        assert conn.execute("SELECT sum(amount) FROM audit_partner_reward").fetchone() == (
            Decimal("500"),
        )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO audit_partner_reward (partner_id, reward_id, kind, amount, currency,"
                " reason, decided_at, decided_by, position) VALUES (%s, %s, 'gift', 1, 'USD',"
                " 'x', now(), 'chen.hq', 44)",
                (uuid.uuid4(), uuid.uuid4()),
            )
