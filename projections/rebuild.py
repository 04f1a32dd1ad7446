"""Rebuilding a read model online: beside the live one, then an atomic swap.

1. Under a session advisory lock of its own (a second rebuild of the same read model is
   refused at once), the rebuild creates a schema ``rebuild_<name>`` holding empty copies
   of the read model's tables (``CREATE TABLE ... (LIKE ... INCLUDING ALL)``: the live
   tables' current shape, whatever migrations made it) and a tracking table of its own.
2. Its connection's ``search_path`` puts that schema first, so the read model's writer,
   unchanged, writes the shadow tables and the shadow tracking row while reading the log
   from the live schema. It catches up to the head of the log; the live worker meanwhile
   keeps serving and updating the live tables, and readers read them. The shadow's
   positions are not announced to readers.
3. The final catch-up and the swap happen in one transaction holding the read model's
   *swap lock* exclusively. Every worker batch holds that lock shared for its transaction
   (``projections.engine.ProjectionWorker.process_batch``), so the rebuild waits only for
   the batch in flight, and the next batch waits for the swap. With ``lock_timeout``, the
   rebuild gives up after ``lock_timeout`` seconds, naming the sessions that hold the
   lock. Under the lock it applies what the log gained meanwhile, locks the live tables
   (``ACCESS EXCLUSIVE``, readers queue for the few statements of the swap), moves them
   aside, moves the shadow tables into the live schema (renaming their indexes to the
   live ones' names), sets the live tracking row to the shadow's position (never lower
   than the live one: the shadow caught up under the lock, past everything the live
   worker had applied), grants the runtime role its privileges and drops the old tables.
4. After the commit, readers resolve the tables' names to the new tables, and the live
   worker's next batch reads the swapped-in position and continues from it.

The rebuild runs as the schema owner (it creates and moves tables).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.persistence import Mapper
from psycopg import sql

from application.progress import Progress
from application.store.database import Database
from application.store.schema import EVENTS_TABLE, TRACKING_TABLE, bring_privileges, log_schema
from projections.engine import (
    BatchProjection,
    Connection,
    ProjectionWorker,
    swap_key,
    tracking_position,
)
from projections.freshness import announce


def rebuild_key(projection_name: str) -> int:
    """The session lock one online rebuild of a read model holds from start to end."""
    return 7_304_000_000 + zlib.crc32(projection_name.encode())


def shadow_schema(projection_name: str) -> str:
    return f"rebuild_{projection_name}"


class RebuildRefusedError(RuntimeError):
    """Another rebuild of the same read model is running."""


class LockTimeoutError(RuntimeError):
    """The swap could not take its locks within the timeout."""


@dataclass(frozen=True)
class RebuildResult:
    entries: int
    position: int
    previous_position: int


@dataclass(frozen=True)
class Holder:
    pid: int
    application_name: str
    role: str
    state: str
    since: Any

    def __str__(self) -> str:
        name = self.application_name or "no application name"
        return f"pid {self.pid} ({name}, role {self.role}, {self.state}, since {self.since})"


_HOLDER_COLUMNS = (
    "SELECT DISTINCT a.pid, coalesce(a.application_name, ''), coalesce(a.usename, ''), "
    "coalesce(a.state, ''), coalesce(a.xact_start, a.backend_start) "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
)


def advisory_holders(conn: Connection, key: int) -> list[Holder]:
    """The sessions (other than this one) holding the advisory lock ``key``."""
    rows = conn.execute(
        _HOLDER_COLUMNS + "WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1 "
        "AND l.pid <> pg_backend_pid() ORDER BY a.pid",
        (key >> 32, key & 0xFFFFFFFF),
    ).fetchall()
    return [Holder(*row) for row in rows]


def table_holders(conn: Connection, tables: Sequence[str]) -> list[Holder]:
    """The sessions (other than this one) holding a lock on one of ``tables``."""
    rows = conn.execute(
        _HOLDER_COLUMNS + "WHERE l.locktype = 'relation' AND l.granted "
        "AND l.relation = ANY(ARRAY(SELECT to_regclass(t) FROM unnest(%s::text[]) AS t)) "
        "AND l.pid <> pg_backend_pid() ORDER BY a.pid",
        (list(tables),),
    ).fetchall()
    return [Holder(*row) for row in rows]


def _described(holders: Sequence[Holder]) -> str:
    return "; ".join(str(h) for h in holders) if holders else "nobody any more (try again)"


def _head(conn: Connection) -> int:
    row = conn.execute(f"SELECT max(notification_id) FROM {EVENTS_TABLE}").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _catch_up(
    worker: ProjectionWorker, conn: Connection, progress: Progress | None, name: str
) -> int:
    """Apply the log's entries in batches; ``progress`` is told the shadow's position
    against the head of the log (which moves on meanwhile) after each."""
    total = 0
    while True:
        n = worker.process_batch(conn)
        total += n
        if progress is not None:
            progress(name, tracking_position(conn, name), _head(conn))
        if n < worker.batch_size:
            return total


def _index_shape(definition: str) -> str:
    """An index definition without its name and table's schema: what makes two alike."""
    return re.sub(r" INDEX \S+ ON (ONLY )?\S+?\.", " INDEX ON ", definition, count=1)


def _rename_indexes(conn: Connection, live: str, retired: str, tables: Sequence[str]) -> None:
    """Give the moved-in tables' indexes the names the retired tables' indexes had."""
    query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s"
    renames: list[tuple[str, str]] = []
    for table in tables:
        old = {_index_shape(str(d)): str(n) for n, d in conn.execute(query, (retired, table))}
        for name, definition in conn.execute(query, (live, table)).fetchall():
            wanted = old.get(_index_shape(str(definition)))
            if wanted and wanted != name:
                renames.append((str(name), wanted))
    for i, (name, _) in enumerate(renames):  # two steps: a wanted name may be taken
        conn.execute(
            sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                sql.Identifier(live, name), sql.Identifier(f"fullchain_rebuild_{i}")
            )
        )
    for i, (_, wanted) in enumerate(renames):
        conn.execute(
            sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                sql.Identifier(live, f"fullchain_rebuild_{i}"), sql.Identifier(wanted)
            )
        )


def rebuild_online(
    owner: Database,
    projection: BatchProjection,
    mapper: Mapper[Any],
    *,
    runtime_role: str | None = None,
    batch_size: int = 1000,
    lock_timeout: float = 10.0,
    progress: Progress | None = None,
    before_swap: Callable[[], None] | None = None,
) -> RebuildResult:
    """Rebuild ``projection`` beside the live one and swap it in (see the module's text);
    ``owner`` connects as the schema owner, ``runtime_role`` is the service's role (None:
    the owner's). Raises ``RebuildRefusedError`` when another rebuild of it runs and
    ``LockTimeoutError`` when the swap cannot take its locks within ``lock_timeout``
    seconds; the live read model is then untouched. ``progress`` is told the shadow's
    position against the head of the log, under the read model's name, after each batch
    of the catch-up. ``before_swap`` is called once the shadow has caught up, before the
    swap's locks are asked for (tests hold the rebuild there while the service goes on)."""
    name = projection.name
    shadow = shadow_schema(name)
    with owner.connect(autocommit=True, purpose=f"rebuild:{name}") as conn:
        taken = conn.execute("SELECT pg_try_advisory_lock(%s)", (rebuild_key(name),)).fetchone()
        if not (taken and taken[0]):
            holders = advisory_holders(conn, rebuild_key(name))
            msg = f"a rebuild of {name} is already running: {_described(holders)}"
            raise RebuildRefusedError(msg)
        swapped = False
        try:
            live = log_schema(conn)
            owner_role = str(conn.execute("SELECT current_user").fetchone()[0])  # type: ignore[index]
            # A schema left by a rebuild that died: nobody else uses it (we hold the lock).
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(shadow)))
            with conn.transaction():
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(shadow)))
                for table in [*projection.tables, TRACKING_TABLE]:
                    conn.execute(
                        sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                            sql.Identifier(shadow, table), sql.Identifier(live, table)
                        )
                    )
            conn.execute(
                sql.SQL("SET search_path = {}, {}").format(
                    sql.Identifier(shadow), sql.Identifier(live)
                )
            )
            worker = ProjectionWorker(
                owner, projection, mapper, batch_size=batch_size, announcing=False
            )
            if progress is not None:
                progress(name, tracking_position(conn, name), _head(conn))
            entries = _catch_up(worker, conn, progress, name)
            if before_swap is not None:
                before_swap()
            waiting_for = "swap"
            try:
                with conn.transaction():
                    conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout * 1000)}ms'")
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (swap_key(name),))
                    entries += _catch_up(worker, conn, progress, name)
                    waiting_for = "tables"
                    conn.execute(
                        sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                            sql.SQL(", ").join(sql.Identifier(live, t) for t in projection.tables)
                        )
                    )
                    result = _swap(conn, projection, live, shadow, owner_role, runtime_role)
            except psycopg.errors.LockNotAvailable:
                if waiting_for == "swap":
                    holders = advisory_holders(conn, swap_key(name))
                    what = f"the swap lock of {name} (held by a projection worker's batch)"
                else:
                    holders = table_holders(conn, [f"{live}.{t}" for t in projection.tables])
                    what = f"the tables of {name} ({', '.join(projection.tables)})"
                msg = (
                    f"could not take {what} within {lock_timeout:g} s; held by "
                    f"{_described(holders)}. The live read model is unchanged."
                )
                raise LockTimeoutError(msg) from None
            swapped = True
            return RebuildResult(entries, result[0], result[1])
        finally:
            if not swapped and not conn.closed:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(shadow))
                )
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (rebuild_key(name),))


def _swap(
    conn: Connection,
    projection: BatchProjection,
    live: str,
    shadow: str,
    owner_role: str,
    runtime_role: str | None,
) -> tuple[int, int]:
    """Inside the caller's transaction, holding the locks: move the shadow in; return the
    new position and the one it replaced."""
    name = projection.name
    new = tracking_position(conn, name)  # the shadow's (first on the search_path)
    row = conn.execute(
        sql.SQL("SELECT notification_id FROM {} WHERE application_name = %s").format(
            sql.Identifier(live, TRACKING_TABLE)
        ),
        (name,),
    ).fetchone()
    old = int(row[0]) if row and row[0] is not None else 0
    if new < old:  # cannot happen: the shadow caught up under the swap lock
        msg = f"{name}: the rebuilt position {new} is behind the live one {old}"
        raise RuntimeError(msg)
    retired = f"{shadow}_retired"
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(retired)))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(retired)))
    for table in projection.tables:
        conn.execute(
            sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                sql.Identifier(live, table), sql.Identifier(retired)
            )
        )
        conn.execute(
            sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                sql.Identifier(shadow, table), sql.Identifier(live)
            )
        )
    _rename_indexes(conn, live, retired, projection.tables)
    conn.execute(
        sql.SQL(
            "INSERT INTO {t} (application_name, notification_id) VALUES (%s, %s) "
            "ON CONFLICT (application_name) DO UPDATE SET notification_id = "
            "GREATEST({t}.notification_id, EXCLUDED.notification_id)"
        ).format(t=sql.Identifier(live, TRACKING_TABLE)),
        (name, new),
    )
    if new > old:
        announce(conn, name, new)
    bring_privileges(conn, owner_role, runtime_role or owner_role)
    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(retired)))
    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(shadow)))
    return new, old
