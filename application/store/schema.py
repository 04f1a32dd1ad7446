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

Privileges: ``init_schema`` runs as the *schema owner* and, in the same transaction as the
migrations, brings every object of the log's schema to one state, read from the catalogs
(so an object added by a later migration is covered without naming it here):

* the owner owns every table, sequence, type and function;
* the *runtime role* (the service's) may only SELECT the event log, the migration
  registry and the customers' numbers and chains the log's trigger writes; it may SELECT,
  INSERT, UPDATE, DELETE and TRUNCATE every other table, use every other sequence and
  execute every function;
* every function whose name starts with ``fullchain_append`` is ``SECURITY DEFINER``
  with a fixed ``search_path``, executable by the runtime role and nobody else: the one
  way into the log. A migration that creates or replaces such a function gets these
  properties in its own transaction, whatever its statements say.

The runtime role owns nothing, so it can neither alter, disable nor drop the log's
triggers, nor replace its functions, nor write the log except through the append.
On a database already in that state the check is a few SELECTs and no DDL.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import tuple_row

from application import settings
from application.store.database import (
    EMBEDDED_OWNER_ROLE,
    Database,
    embedded_databases,
)

log = logging.getLogger(__name__)

EVENTS_TABLE = "fullchain_events"
TRACKING_TABLE = "projection_tracking"
REGISTRY_TABLE = "fullchain_schema"
SCHEMA_ADVISORY_LOCK = 7_301_001

#: Functions named so are the way into the log: SECURITY DEFINER, runtime role only.
APPEND_FUNCTION_PREFIX = "fullchain_append"
#: The customers' numbers and chains, written by the log's trigger only
#: (``application.store.customer_chains``).
CUSTOMER_CHAIN_TABLES = ("fullchain_owner", "fullchain_customer_head", "fullchain_customer_seq")
#: Tables the runtime role may only read.
READ_ONLY_TABLES = (EVENTS_TABLE, REGISTRY_TABLE, *CUSTOMER_CHAIN_TABLES)
#: What the runtime role may do with every other table, and with every other sequence.
RUNTIME_TABLE_PRIVILEGES = ("DELETE", "INSERT", "SELECT", "TRUNCATE", "UPDATE")
RUNTIME_SEQUENCE_PRIVILEGES = ("SELECT", "UPDATE", "USAGE")


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
        try:
            applied = applied_migrations(conn)
        except psycopg.errors.InsufficientPrivilege as error:
            raise SchemaNotReady(
                reason=f"the role {database.role} may not read the schema ({error}); "
                "run `fullchain db init`"
            ) from None
    return [m.migration_id for m in migrations if m.migration_id not in applied]


def init_schema(
    database: Database,
    migrations: Sequence[Migration],
    *,
    runtime_role: str | None = None,
    lock_timeout_s: int = 10,
) -> list[str]:
    """Apply the migrations not yet applied and bring ownership and privileges to the
    state described above; return the ids of the migrations applied (empty when up to
    date). ``database`` connects as the schema owner; ``runtime_role`` is the role the
    service connects as (None: the owner's own role, which then is both)."""
    with database.connect(autocommit=True) as conn:
        owner = _current_user(conn)
        runtime = runtime_role or owner
        applied = applied_migrations(conn)
        todo = [m for m in migrations if m.migration_id not in applied]
        if not todo and not privilege_statements(conn, owner, runtime):
            return []
        done: list[str] = []
        changes: list[str] = []
        try:
            _ensure_registry(conn)
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
                # In the migrations' transaction: a new append function is never visible
                # without its security properties.
                changes = bring_privileges(conn, owner, runtime)
        except psycopg.errors.InsufficientPrivilege as error:
            raise SchemaNotReady(
                reason=f"the role {owner} may not bring the schema up to date ({error}). "
                "Run `fullchain db init` as the schema owner (FULLCHAIN_OWNER_DATABASE_URL); "
                "objects another role owns are handed over by a superuser or that role: "
                f"REASSIGN OWNED BY <role> TO {owner}"
            ) from None
        if changes:
            log.info("schema privileges: %d changes for %s and %s", len(changes), owner, runtime)
            log.debug("schema privileges: %s", "; ".join(changes))
        return done


def _current_user(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_user").fetchone()
    assert row is not None
    return str(row[0])


def log_schema(conn: psycopg.Connection[Any]) -> str:
    """The schema the event log lives in (the current one before it exists)."""
    row = conn.execute(
        "SELECT COALESCE((SELECT n.nspname FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)), current_schema())",
        (EVENTS_TABLE,),
    ).fetchone()
    assert row is not None
    return str(row[0])


# --- ownership and privileges ------------------------------------------------------------

#: Objects of an extension belong to the extension, not to the schema.
_NOT_IN_AN_EXTENSION = """
    NOT EXISTS (SELECT 1 FROM pg_depend x
                WHERE x.classid = '{catalog}'::regclass AND x.objid = {oid} AND x.deptype = 'e')
"""
#: A sequence that belongs to a column (serial, identity) follows its table.
_COLUMN_SEQUENCE_OF = """
    (SELECT t.relname FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1)
"""

_ROUTINE_KINDS = {"f": "FUNCTION", "w": "FUNCTION", "a": "AGGREGATE", "p": "PROCEDURE"}
_RELATION_KINDS = {
    "r": "TABLE",
    "p": "TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "f": "FOREIGN TABLE",
    "S": "SEQUENCE",
}


def _oids(conn: psycopg.Connection[Any], schema: str, *roles: str) -> dict[str, int]:
    """The oids of the schema (key ``schema``) and of the roles (by name)."""
    row = conn.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    oids = {"schema": int(row[0]) if row else 0}
    for role in roles:
        found = conn.execute("SELECT oid FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if found is None:
            raise SchemaNotReady(reason=f"the role {role} does not exist")
        oids[role] = int(found[0])
    return oids


def ownership_statements(
    conn: psycopg.Connection[Any], schema: str, owner: str
) -> list[sql.Composed]:
    """``ALTER … OWNER TO owner`` for every object of ``schema`` someone else owns.
    Indexes, sequences of identity or serial columns and array types follow their owner."""
    oids = _oids(conn, schema, owner)
    params = {"schema": oids["schema"], "owner": oids[owner]}
    to = sql.Identifier(owner)
    statements: list[sql.Composed] = []
    relations = conn.execute(
        f"""
        SELECT c.relname, c.relkind FROM pg_class c
        WHERE c.relnamespace = %(schema)s AND c.relowner <> %(owner)s
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND {_COLUMN_SEQUENCE_OF} IS NULL
          AND {_NOT_IN_AN_EXTENSION.format(catalog="pg_class", oid="c.oid")}
        ORDER BY c.relname
        """,  # type: ignore[call-overload]
        params,
    ).fetchall()
    for name, kind in relations:
        statements.append(
            sql.SQL("ALTER {} {} OWNER TO {}").format(
                sql.SQL(_RELATION_KINDS[kind]), sql.Identifier(schema, name), to
            )
        )
    types = conn.execute(
        f"""
        SELECT t.typname FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
        WHERE t.typnamespace = %(schema)s AND t.typowner <> %(owner)s
          AND (t.typrelid = 0 OR c.relkind = 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
          AND NOT EXISTS (SELECT 1 FROM pg_range r WHERE r.rngmultitypid = t.oid)
          AND {_NOT_IN_AN_EXTENSION.format(catalog="pg_type", oid="t.oid")}
        ORDER BY t.typname
        """,  # type: ignore[call-overload]
        params,
    ).fetchall()
    for (name,) in types:
        statements.append(
            sql.SQL("ALTER TYPE {} OWNER TO {}").format(sql.Identifier(schema, name), to)
        )
    routines = conn.execute(
        f"""
        SELECT p.oid::regprocedure::text, p.prokind FROM pg_proc p
        WHERE p.pronamespace = %(schema)s AND p.proowner <> %(owner)s
          AND {_NOT_IN_AN_EXTENSION.format(catalog="pg_proc", oid="p.oid")}
        ORDER BY 1
        """,  # type: ignore[call-overload]
        params,
    ).fetchall()
    for signature, kind in routines:
        statements.append(
            sql.SQL("ALTER {} {} OWNER TO {}").format(
                sql.SQL(_ROUTINE_KINDS[kind]), sql.SQL(signature), to
            )
        )
    return statements


def grant_statements(
    conn: psycopg.Connection[Any], schema: str, owner: str, runtime: str
) -> list[sql.Composed]:
    """GRANTs and REVOKEs that give ``runtime`` exactly its privileges (see the module
    documentation), and the append functions their security properties."""
    oids = _oids(conn, schema, owner, runtime)
    params = {"schema": oids["schema"], "owner": oids[owner], "runtime": oids[runtime]}
    statements: list[sql.Composed] = []
    to = sql.Identifier(runtime)
    two_roles = runtime != owner
    if two_roles:
        statements += _relation_grants(conn, schema, params, to)
    pinned = sql.SQL("pg_catalog, {}, pg_temp").format(sql.Identifier(schema))
    routines = conn.execute(
        f"""
        SELECT p.oid::regprocedure::text, p.prokind,
               starts_with(p.proname, %(prefix)s) AS appends,
               p.proowner = %(owner)s AS owned, p.prosecdef,
               -- as the server keeps it: identifiers quoted only where needed
               'search_path=pg_catalog, ' || quote_ident(%(schema_name)s) || ', pg_temp'
                   = ANY(COALESCE(p.proconfig, '{{}}')) AS pinned,
               has_function_privilege(%(runtime)s::oid, p.oid, 'EXECUTE') AS runtime_may,
               ARRAY(SELECT a.grantee FROM aclexplode(acl) a) AS grantees
        FROM (SELECT *, COALESCE(proacl, acldefault('f'::"char", proowner)) AS acl FROM pg_proc) p
        WHERE p.pronamespace = %(schema)s
          AND {_NOT_IN_AN_EXTENSION.format(catalog="pg_proc", oid="p.oid")}
        ORDER BY 1
        """,  # type: ignore[call-overload]
        {**params, "prefix": APPEND_FUNCTION_PREFIX, "schema_name": schema},
    ).fetchall()
    for signature, kind, appends, owned, definer, is_pinned, runtime_may, grantees in routines:
        routine = sql.SQL("{} {}").format(sql.SQL(_ROUTINE_KINDS[kind]), sql.SQL(signature))
        if appends and owned:
            if not (definer and is_pinned):
                statements.append(
                    sql.SQL("ALTER {} SECURITY DEFINER SET search_path = {}").format(
                        routine, pinned
                    )
                )
            if 0 in grantees:  # PUBLIC: every role of the server could append
                statements.append(sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(routine))
            if two_roles and oids[runtime] not in grantees:
                statements.append(sql.SQL("GRANT EXECUTE ON {} TO {}").format(routine, to))
        elif two_roles and not runtime_may:
            statements.append(sql.SQL("GRANT EXECUTE ON {} TO {}").format(routine, to))
    return statements


def _relation_grants(
    conn: psycopg.Connection[Any], schema: str, params: dict[str, int], to: sql.Identifier
) -> list[sql.Composed]:
    statements: list[sql.Composed] = []
    usage = conn.execute(
        "SELECT has_schema_privilege(%(runtime)s::oid, %(schema)s::oid, 'USAGE')", params
    ).fetchone()
    if not (usage and usage[0]):
        statements.append(
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), to)
        )
    relations = conn.execute(
        f"""
        SELECT c.relname, c.relkind,
               ARRAY(SELECT a.privilege_type FROM aclexplode(c.acl) a
                     WHERE a.grantee = %(runtime)s ORDER BY 1) AS runtime,
               ARRAY(SELECT a.privilege_type FROM aclexplode(c.acl) a
                     WHERE a.grantee = 0 ORDER BY 1) AS public,
               {_COLUMN_SEQUENCE_OF} AS column_of
        FROM (SELECT *, COALESCE(relacl, acldefault(
                  CASE relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", relowner)) AS acl
              FROM pg_class) c
        WHERE c.relnamespace = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND {_NOT_IN_AN_EXTENSION.format(catalog="pg_class", oid="c.oid")}
        ORDER BY c.relname
        """,  # type: ignore[call-overload]
        params,
    ).fetchall()
    for name, kind, has, public, column_of in relations:
        target = sql.Identifier(schema, name)
        keyword = sql.SQL("SEQUENCE" if kind == "S" else "TABLE")
        if (column_of or name) in READ_ONLY_TABLES:
            # The log and the registry: SELECT, nothing more (their sequences: nothing).
            wanted: tuple[str, ...] = () if kind == "S" else ("SELECT",)
            if list(has) != list(wanted) or list(public):
                statements.append(
                    sql.SQL("REVOKE ALL ON {} {} FROM PUBLIC, {}").format(keyword, target, to)
                )
                if wanted:
                    statements.append(sql.SQL("GRANT SELECT ON TABLE {} TO {}").format(target, to))
            continue
        wanted = RUNTIME_SEQUENCE_PRIVILEGES if kind == "S" else RUNTIME_TABLE_PRIVILEGES
        for verb, privileges, direction in (
            ("REVOKE", sorted(set(has) - set(wanted)), "FROM"),  # e.g. TRIGGER, REFERENCES
            ("GRANT", sorted(set(wanted) - set(has)), "TO"),
        ):
            if privileges:
                statements.append(
                    sql.SQL("{} {} ON {} {} {} {}").format(
                        sql.SQL(verb),
                        sql.SQL(", ").join(sql.SQL(p) for p in privileges),
                        keyword,
                        target,
                        sql.SQL(direction),
                        to,
                    )
                )
    return statements


def privilege_statements(
    conn: psycopg.Connection[Any], owner: str, runtime: str
) -> list[sql.Composed]:
    """Whether (and roughly what) stands between the schema and the state described
    above. Owner and runtime the same role: only the append functions' own properties."""
    schema = log_schema(conn)
    handed_over = ownership_statements(conn, schema, owner) if runtime != owner else []
    return handed_over + grant_statements(conn, schema, owner, runtime)


def bring_privileges(conn: psycopg.Connection[Any], owner: str, runtime: str) -> list[str]:
    """Hand every object to the owner, then grant and revoke (inside the caller's
    transaction); return the statements run."""
    schema = log_schema(conn)
    done: list[str] = []
    if runtime != owner:
        for statement in ownership_statements(conn, schema, owner):
            conn.execute(statement)
            done.append(statement.as_string(conn))
    # Read after the hand-over, which rewrites the objects' privileges.
    for statement in grant_statements(conn, schema, owner, runtime):
        conn.execute(statement)
        done.append(statement.as_string(conn))
    return done


def runtime_role_powers(conn: psycopg.Connection[Any]) -> list[str]:
    """How the connected role could change the event log other than by appending through
    ``fullchain_append`` (nothing, for a runtime role set up by ``init_schema``)."""
    cursor = conn.cursor(row_factory=tuple_row)
    row = cursor.execute(
        """
        SELECT r.rolsuper, pg_get_userbyid(c.relowner) AS owner,
               pg_has_role(current_user, c.relowner, 'USAGE') AS owns,
               ARRAY(SELECT p FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',
                                                'TRIGGER', 'REFERENCES']) AS p
                     WHERE has_table_privilege(c.oid, p)) AS privileges
        FROM pg_class c JOIN pg_roles r ON r.rolname = current_user
        WHERE c.oid = to_regclass(%s)
        """,
        (EVENTS_TABLE,),
    ).fetchone()
    if row is None:
        return []
    superuser, owner, owns, privileges = row
    if superuser:
        return ["it is a superuser"]
    if owns:
        return [f"it owns {EVENTS_TABLE} or acts as its owner {owner}"]
    if privileges:
        return [f"it holds {', '.join(privileges)} on {EVENTS_TABLE}"]
    return []


class SchemaNotReady(RuntimeError):
    def __init__(self, missing: Sequence[str] = (), *, reason: str | None = None) -> None:
        super().__init__(
            reason
            or "the database schema is not up to date (missing "
            + ", ".join(missing)
            + "); run `fullchain db init`"
        )


# --- the schema owner ----------------------------------------------------------------------


def adopt_schema_objects(admin: Database, owner: str) -> list[str]:
    """As a superuser, give ``owner`` every object of the database's ``public`` schema that
    someone else owns (the layout of earlier versions, where the embedded server's superuser
    owned everything); return what changed. Idempotent."""
    with admin.connect(autocommit=True) as conn, conn.transaction():
        statements = ownership_statements(conn, "public", owner)
        for statement in statements:
            conn.execute(statement)
    return [s.as_string(None) for s in statements]


def configured_owner_database() -> Database:
    """The database as the schema owner sees it (for ``db init``): the owner's URL, else
    the runtime URL (one role for both), else the embedded server's owner role, to which
    objects left by earlier versions are handed first."""
    current = settings.load()
    url = current.database_url
    if url:
        return Database(make_conninfo(current.owner_database_url or url), False)
    embedded = embedded_databases()
    changed = adopt_schema_objects(embedded.superuser, EMBEDDED_OWNER_ROLE)
    if changed:
        log.info("embedded database: %d objects handed to %s", len(changed), EMBEDDED_OWNER_ROLE)
    return embedded.owner
