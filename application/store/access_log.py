"""Who looked: every read of a customer's history, of an aggregate's state or diff, of an
audit package or an EPCIS export, recorded with who read what and when.

The access log is a table of its own, not the business log: reading is not a business
fact, and the business log's proofs must not change because someone looked. It is
append-only as the business log is (triggers refuse UPDATE, DELETE and TRUNCATE) and
hash-chained: each entry's hash is ``SHA-256(prev ‖ seq ‖ read_at (µs) ‖ staff id ‖ what ‖
aggregate type ‖ aggregate id ‖ customer ‖ detail)`` (texts with an int4 length first, the
customer as 16 zero bytes when none). The chaining trigger takes an advisory lock and only
then numbers the entry, so entries are numbered and chained in the order they commit.
Checkpoints commit to its head (``access <seq> <base64 hash>``), so an entry removed or
changed afterwards breaks either the chain or the signed head.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from application.progress import PROGRESS_EVERY, Progress
from application.store.database import Database
from application.store.schema import Migration

GENESIS = bytes(32)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LOCK = 0x66636163  # "fcac"

MIGRATION = Migration(
    "0026_access_log",
    "who read which customer's history, state, diff, audit package or export, hash-chained",
    [
        """
        CREATE TABLE fullchain_access_log (
            seq bigserial PRIMARY KEY,
            read_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            staff_id text NOT NULL,
            what text NOT NULL,
            aggregate_type text NOT NULL,
            aggregate_id uuid NOT NULL,
            relationship_id uuid,
            detail text NOT NULL DEFAULT '',
            prev_hash bytea NOT NULL,
            entry_hash bytea NOT NULL
        )
        """,
        "CREATE INDEX fullchain_access_customer_idx ON fullchain_access_log (relationship_id, seq)",
        "CREATE INDEX fullchain_access_staff_idx ON fullchain_access_log (staff_id, seq)",
        f"""
        CREATE FUNCTION fullchain_access_chain() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            prev bytea;
        BEGIN
            PERFORM pg_advisory_xact_lock({_LOCK});
            NEW.seq := nextval(pg_get_serial_sequence('fullchain_access_log', 'seq'));
            NEW.read_at := clock_timestamp();
            SELECT entry_hash INTO prev FROM fullchain_access_log ORDER BY seq DESC LIMIT 1;
            NEW.prev_hash := COALESCE(prev, '\\x{GENESIS.hex()}'::bytea);
            NEW.entry_hash := sha256(
                NEW.prev_hash
                || int8send(NEW.seq)
                || int8send((extract(epoch FROM NEW.read_at) * 1000000)::bigint)
                || int4send(octet_length(convert_to(NEW.staff_id, 'UTF8')))
                || convert_to(NEW.staff_id, 'UTF8')
                || int4send(octet_length(convert_to(NEW.what, 'UTF8')))
                || convert_to(NEW.what, 'UTF8')
                || int4send(octet_length(convert_to(NEW.aggregate_type, 'UTF8')))
                || convert_to(NEW.aggregate_type, 'UTF8')
                || uuid_send(NEW.aggregate_id)
                || COALESCE(uuid_send(NEW.relationship_id), '\\x{bytes(16).hex()}'::bytea)
                || int4send(octet_length(convert_to(NEW.detail, 'UTF8')))
                || convert_to(NEW.detail, 'UTF8')
            );
            RETURN NEW;
        END
        $$
        """,
        """
        CREATE TRIGGER fullchain_access_chained BEFORE INSERT ON fullchain_access_log
        FOR EACH ROW EXECUTE FUNCTION fullchain_access_chain()
        """,
        """
        CREATE TRIGGER fullchain_access_append_only BEFORE UPDATE OR DELETE
        ON fullchain_access_log FOR EACH ROW EXECUTE FUNCTION fullchain_refuse_rewrite()
        """,
        """
        CREATE TRIGGER fullchain_access_no_truncate BEFORE TRUNCATE ON fullchain_access_log
        FOR EACH STATEMENT EXECUTE FUNCTION fullchain_refuse_rewrite()
        """,
    ],
)


def record_access(
    database: Database | psycopg.Connection[Any],
    *,
    staff_id: str,
    what: str,
    aggregate_type: str,
    aggregate_id: UUID,
    detail: str = "",
) -> None:
    """Record that ``staff_id`` read ``what`` of the aggregate; the customer it belongs to
    is found from the history's map of owners (a relationship is its own). Given the
    database, on a connection of its own. Given a connection to the primary in autocommit
    with no transaction open (a read's pooled one), on it, together with the accesses other
    reads of the process record meanwhile (``_GroupCommit``); it returns once the entry is
    committed."""
    entry = {
        "staff": staff_id,
        "what": what,
        "type": aggregate_type,
        "id": aggregate_id,
        "detail": detail[:500],
    }
    if isinstance(database, Database):
        with database.connect(purpose="access") as conn:
            _insert(conn, [entry])
            conn.commit()
        return
    if not database.autocommit or database.info.transaction_status != TransactionStatus.IDLE:
        raise ValueError("an access is recorded on an idle connection in autocommit")
    _group_of(database).record(database, entry)


#: The entries in the order given, in one statement: in autocommit one round trip, with no
#: BEGIN and COMMIT of its own, and atomic (all the entries or none). The chaining trigger
#: runs for each row in that order, and sees the rows the statement inserted before it.
_INSERT = (
    "INSERT INTO fullchain_access_log (staff_id, what, aggregate_type, aggregate_id, "
    "relationship_id, detail, prev_hash, entry_hash) "
    "SELECT e.staff, e.what, e.type, e.id, "
    "CASE WHEN e.type = 'Relationship' THEN e.id ELSE o.relationship_id END, e.detail, '', '' "
    "FROM unnest(%s::text[], %s::text[], %s::text[], %s::uuid[], %s::text[]) "
    "WITH ORDINALITY AS e (staff, what, type, id, detail, n) "
    "LEFT JOIN aggregate_owner o ON o.aggregate_id = e.id ORDER BY e.n"
)


def _insert(conn: psycopg.Connection[Any], entries: list[dict[str, Any]]) -> None:
    conn.execute(
        _INSERT,
        [[e[key] for e in entries] for key in ("staff", "what", "type", "id", "detail")],
    )


@dataclass
class _Waiting:
    entry: dict[str, Any]
    answered: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    alone: bool = False


class _GroupCommit:
    """The accesses a process records on its reads' connections, committed together.

    The chain's lock is held from an entry's insert until its commit (the entries are
    chained in commit order), so one entry a transaction would commit them one at a time,
    each waiting for the one before to reach the disk. Instead the first read to record
    leads: it inserts, on its own connection and in one statement (one transaction, one
    round trip), every entry waiting then; the reads that record meanwhile wait, and the
    first of them leads the next statement with every entry that came in the meantime.
    Each read returns once the statement with its entry has committed. If it fails, each
    of its reads records its entry alone on its own connection, and fails or not as it
    would have alone (a database gone: each its own error). No other connection is used: a
    read waits for a transaction, never for a connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []
        self._writing = False

    def record(self, conn: psycopg.Connection[Any], entry: dict[str, Any]) -> None:
        mine = _Waiting(entry)
        with self._lock:
            self._waiting.append(mine)
            leads = not self._writing
            self._writing = True
        if not leads:
            mine.answered.wait()
            if not mine.leads and not mine.alone:
                return
        if not mine.alone:
            self._commit(conn, mine)
        if mine.alone:
            _insert(conn, [entry])  # autocommit: committed as it ends

    def _commit(self, conn: psycopg.Connection[Any], mine: _Waiting) -> None:
        with self._lock:
            batch, self._waiting = self._waiting, []
        try:
            _insert(conn, [w.entry for w in batch])  # autocommit: one statement, one commit
        except Exception:
            self._alone(batch, mine)
        except BaseException:
            self._alone(batch, mine)
            raise
        else:
            for w in batch:
                w.answered.set()
        finally:
            with self._lock:
                if self._waiting:
                    following = self._waiting[0]
                    following.leads = True
                    following.answered.set()
                else:
                    self._writing = False

    @staticmethod
    def _alone(batch: list[_Waiting], mine: _Waiting) -> None:
        """The transaction failed: each of its reads records its entry alone."""
        for w in batch:
            w.alone = True
            if w is not mine:
                w.answered.set()


_groups: dict[tuple[str, int, str], _GroupCommit] = {}
_groups_lock = threading.Lock()


def _group_of(conn: psycopg.Connection[Any]) -> _GroupCommit:
    """The group of the connection's database (a process may serve several)."""
    info = conn.info
    key = (info.host, info.port, info.dbname)
    with _groups_lock:
        return _groups.setdefault(key, _GroupCommit())


@dataclass(frozen=True)
class AccessVerification:
    intact: bool
    entries: int
    head_seq: int
    head_hash: bytes
    broken_at: int | None = None


def entry_hash(prev: bytes, row: dict[str, Any]) -> bytes:
    def text(value: str) -> bytes:
        encoded = value.encode()
        return struct.pack(">i", len(encoded)) + encoded

    read_at: datetime = row["read_at"]
    micros = (read_at - _EPOCH) // timedelta(microseconds=1)
    customer: UUID | None = row["relationship_id"]
    return hashlib.sha256(
        prev
        + struct.pack(">q", row["seq"])
        + struct.pack(">q", micros)
        + text(row["staff_id"])
        + text(row["what"])
        + text(row["aggregate_type"])
        + row["aggregate_id"].bytes
        + (customer.bytes if customer else bytes(16))
        + text(row["detail"])
    ).digest()


def verify_access_log(
    database: Database, *, progress: Progress | None = None
) -> AccessVerification:
    """Recompute the access log's chain; the first entry where it breaks, if any.
    ``progress`` is told the entry reached of the last one when the walk starts."""
    prev = GENESIS
    entries = 0
    seq = 0
    with database.connect(purpose="access") as conn, conn.transaction():
        total = None
        if progress is not None:
            last = conn.execute("SELECT max(seq) FROM fullchain_access_log").fetchone()
            total = int(last[0]) if last and last[0] is not None else 0
            progress(ACCESS_STAGE, 0, total)
        cursor = conn.cursor(name="fullchain_access_verify", row_factory=dict_row)
        cursor.execute("SELECT * FROM fullchain_access_log ORDER BY seq")
        for row in cursor:
            if bytes(row["prev_hash"]) != prev or entry_hash(prev, row) != bytes(row["entry_hash"]):
                return AccessVerification(False, entries, seq, prev, int(row["seq"]))
            prev, seq = bytes(row["entry_hash"]), int(row["seq"])
            entries += 1
            if progress is not None and entries % PROGRESS_EVERY == 0:
                progress(ACCESS_STAGE, seq, total)
    if progress is not None:
        progress(ACCESS_STAGE, seq, total)
    return AccessVerification(True, entries, seq, prev)


#: What ``verify_access_log`` tells its ``progress`` it walks.
ACCESS_STAGE = "access log"


def access_head(
    database: Database, conn: psycopg.Connection[Any] | None = None
) -> tuple[int, bytes]:
    """The last entry's number and hash (0 and 32 zero bytes before the first); on
    ``conn``, or a connection of its own."""
    with database.connected(conn, purpose="access") as on:
        row = on.execute(
            "SELECT seq, entry_hash FROM fullchain_access_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    return (int(row[0]), bytes(row[1])) if row else (0, GENESIS)


def access_entries(
    conn: Any,
    *,
    relationship_id: UUID | None,
    staff_id: str | None,
    after: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Entries after ``after``, oldest first, of a customer and/or a staff member."""
    clauses = ["seq > %(after)s"]
    params: dict[str, Any] = {"after": after, "limit": limit}
    if relationship_id is not None:
        clauses.append("relationship_id = %(customer)s")
        params["customer"] = relationship_id
    if staff_id is not None:
        clauses.append("staff_id = %(staff)s")
        params["staff"] = staff_id
    rows: list[dict[str, Any]] = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT seq, read_at, staff_id, what, aggregate_type, aggregate_id, relationship_id,"
            " detail, entry_hash FROM fullchain_access_log WHERE "
            + " AND ".join(clauses)
            + " ORDER BY seq LIMIT %(limit)s",
            params,
        )
        .fetchall()
    )
    return rows
