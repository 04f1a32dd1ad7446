"""The log's Merkle tree in PostgreSQL, built alongside the hash chain, off the append path.

Leaf i is the i-th entry of the log in position order (positions may skip numbers: an
append that rolled back used its number); its leaf hash is ``SHA-256(0x00 ‖ entry)``
where the entry's bytes are those the chain hashes, without the previous hash::

    position (int8) ‖ aggregate id (16 bytes) ‖ version (int8) ‖ len(topic) (int4) ‖
    topic (UTF-8) ‖ len(state) (int4) ‖ state ‖ recorded_at (int8, µs since 1970)

so an auditor recomputes it from the stored entry the audit package carries.

Stored: every leaf (``fullchain_tree_leaf``: index, position, hash) and every *complete*
interior node (``fullchain_tree_node``: level ≥ 1, index), each written once when its last
leaf arrives and never changed. The hash of any tree size, and every proof, is read from
O(log n) of them (``application.proofs.merkle``).

The customers' chains are not computed here: each entry of a customer got its sequence
number and chain hash when it was appended (``application.store.customer_chains``). The
builder records them by leaf index (``fullchain_customer_entry``), so the map of the
customers' heads at any tree size, and a customer's entries in it, are read in one query.
``fullchain_tree_owner``, where the builder once recorded the owners it read from first
events, is no longer written (``fullchain_owner`` holds them since they are recorded at
the append).

``LogTree.extend`` brings the tree up to the log, in batches, each a transaction under an
advisory lock (one builder at a time, whichever process). Appends commit in position
order (the append locks the log), so the entries past the tree's last position are
always a prefix of what is still to come: the tree never skips an entry. Checkpoints and
proofs extend the tree first; nothing on the command path waits for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper

from application.progress import Progress
from application.proofs.customer_map import MapItem, head_value, key_of
from application.proofs.entries import entry_bytes
from application.proofs.merkle import (
    ProofError,
    SubtreeHashes,
    consistency_proof,
    inclusion_proof,
    inclusion_proofs,
    leaf_hash,
    node_hash,
    tree_root,
)
from application.store.database import OUTAGES, Database
from application.store.schema import EVENTS_TABLE, Migration
from domain.ownership import OWNERS, aggregate_type_of

log = logging.getLogger(__name__)

#: The advisory lock the builder holds while it extends the tree.
TREE_LOCK = 0x66636D74  # "fcmt"

MIGRATION = Migration(
    "0025_merkle_tree",
    "the log's Merkle tree: leaves, complete interior nodes and customers' chains, built "
    "alongside the hash chain",
    [
        """
        CREATE TABLE fullchain_tree_leaf (
            idx bigint PRIMARY KEY,
            position bigint NOT NULL UNIQUE,
            hash bytea NOT NULL
        )
        """,
        """
        CREATE TABLE fullchain_tree_node (
            level smallint NOT NULL CHECK (level >= 1),
            idx bigint NOT NULL,
            hash bytea NOT NULL,
            PRIMARY KEY (level, idx)
        )
        """,
        """
        CREATE TABLE fullchain_tree_owner (
            aggregate_id uuid PRIMARY KEY,
            customer_id uuid NOT NULL
        )
        """,
        """
        CREATE TABLE fullchain_customer_entry (
            customer_id uuid NOT NULL,
            seq bigint NOT NULL CHECK (seq >= 1),
            leaf_index bigint NOT NULL UNIQUE,
            chain bytea NOT NULL,
            PRIMARY KEY (customer_id, seq)
        )
        """,
        f"""
        CREATE FUNCTION fullchain_leaf_hash(e {EVENTS_TABLE}) RETURNS bytea
        LANGUAGE sql IMMUTABLE AS $$
            SELECT sha256(
                '\\x00'::bytea
                || int8send(e.notification_id)
                || uuid_send(e.originator_id)
                || int8send(e.originator_version)
                || int4send(octet_length(convert_to(e.topic, 'UTF8')))
                || convert_to(e.topic, 'UTF8')
                || int4send(octet_length(e.state))
                || e.state
                || int8send((extract(epoch FROM e.recorded_at) * 1000000)::bigint)
            )
        $$
        """,
    ],
)


def entry_leaf_hash(**entry: Any) -> bytes:
    return leaf_hash(entry_bytes(**entry))


@dataclass(frozen=True)
class Inclusion:
    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    root: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class Consistency:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class CustomerEntry:
    seq: int
    leaf_index: int
    position: int
    chain: bytes


class TreeTooSmall(ProofError):
    """A proof asked of a tree larger than the log."""


class NotInLog(LookupError):
    """No entry of the log at that position."""


#: The most indexes not asked for that a run of nodes read at once goes on over.
_RUN_GAP = 4


#: Each customer's last entry in the tree of %s leaves, found customer by customer from the
#: primary key (customer, seq): a skip from one customer to the next, then a look back
#: from its last entry; two index probes a customer however long the log, where reading
#: every entry (``DISTINCT ON``) grows with the log.
_CUSTOMER_HEADS = """
    WITH RECURSIVE customers AS (
        (SELECT customer_id FROM fullchain_customer_entry ORDER BY customer_id LIMIT 1)
        UNION ALL
        SELECT (
            SELECT e.customer_id FROM fullchain_customer_entry e
            WHERE e.customer_id > c.customer_id ORDER BY e.customer_id LIMIT 1
        )
        FROM customers c WHERE c.customer_id IS NOT NULL
    )
    SELECT head.customer_id, head.seq, head.chain
    FROM customers c CROSS JOIN LATERAL (
        SELECT e.customer_id, e.seq, e.chain FROM fullchain_customer_entry e
        WHERE e.customer_id = c.customer_id AND e.leaf_index < %s
        ORDER BY e.seq DESC LIMIT 1
    ) head
"""


def head_items(rows: Iterable[tuple[Any, ...]]) -> list[MapItem]:
    """Customers' heads as the map holds them, from rows of (customer id, seq, chain)."""
    return [(key_of(c), head_value(int(seq), bytes(chain))) for c, seq, chain in rows]


def _read_by(walk: Callable[[SubtreeHashes], object]) -> set[tuple[int, int]]:
    """The nodes ``walk`` reads (a walk of the tree's nodes): it is run over empty hashes,
    which tells which nodes it reads, not what it makes of them."""
    wanted: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return b""

    walk(record)
    return wanted


class _Nodes:
    """Perfect-subtree hashes read from the tables, each at most once per use."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.seen: dict[tuple[int, int], bytes] = {}

    @classmethod
    def prefetched(cls, conn: psycopg.Connection[Any], keys: set[tuple[int, int]]) -> _Nodes:
        """The nodes ``keys`` read in two queries, whatever their number: by runs of
        indexes at each level (a run goes on over a few indexes not asked for, read too),
        each an index range scan rather than a look-up per node (a lateral join: the
        planner does not know how few runs there are, and joined plainly it scanned the
        whole table of a large tree for a proof's twenty nodes)."""
        nodes = cls(conn)
        runs: dict[int, list[list[int]]] = {}
        for level, index in sorted(keys):
            at = runs.setdefault(level, [])
            if at and index - at[-1][1] <= _RUN_GAP:
                at[-1][1] = index
            else:
                at.append([index, index])
        leaves = runs.pop(0, [])
        if leaves:
            for index, hashed in conn.execute(
                "SELECT l.idx, l.hash FROM unnest(%s::bigint[], %s::bigint[]) AS r(lo, hi) "
                "CROSS JOIN LATERAL (SELECT idx, hash FROM fullchain_tree_leaf "
                "WHERE idx BETWEEN r.lo AND r.hi OFFSET 0) l",
                ([lo for lo, _ in leaves], [hi for _, hi in leaves]),
                binary=True,
            ).fetchall():  # at once: a row at a time costs more than the row
                nodes.seen[0, index] = hashed
        inner = [(level, lo, hi) for level, at in runs.items() for lo, hi in at]
        if inner:
            for level, index, hashed in conn.execute(
                "SELECT r.level, n.idx, n.hash "
                "FROM unnest(%s::smallint[], %s::bigint[], %s::bigint[]) AS r(level, lo, hi) "
                "CROSS JOIN LATERAL (SELECT idx, hash FROM fullchain_tree_node "
                "WHERE level = r.level AND idx BETWEEN r.lo AND r.hi OFFSET 0) n",
                ([r[0] for r in inner], [r[1] for r in inner], [r[2] for r in inner]),
                binary=True,
            ).fetchall():
                nodes.seen[level, index] = hashed
        return nodes

    @classmethod
    def for_walk(
        cls, conn: psycopg.Connection[Any], walk: Callable[[SubtreeHashes], object]
    ) -> _Nodes:
        """The nodes ``walk`` reads (a walk of the tree's nodes, its result made of them
        alone), read at once (``prefetched``)."""
        return cls.prefetched(conn, _read_by(walk))

    def __call__(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self.seen:
            if level == 0:
                row = self.conn.execute(
                    "SELECT hash FROM fullchain_tree_leaf WHERE idx = %s", (index,)
                ).fetchone()
            else:
                row = self.conn.execute(
                    "SELECT hash FROM fullchain_tree_node WHERE level = %s AND idx = %s",
                    (level, index),
                ).fetchone()
            if row is None:
                raise ProofError(f"the tree holds no node ({level}, {index}) yet")
            self.seen[key] = bytes(row[0])
        return self.seen[key]


def _size(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """The tree's size and the position of its last leaf (0, 0 when empty)."""
    row = conn.execute(
        "SELECT idx, position FROM fullchain_tree_leaf ORDER BY idx DESC LIMIT 1"
    ).fetchone()
    return (int(row[0]) + 1, int(row[1])) if row else (0, 0)


def _pending(conn: psycopg.Connection[Any], size: int) -> dict[int, bytes]:
    """The right edge of the tree of ``size`` leaves: per level, the complete node still
    waiting for its right sibling (one per bit of ``size``)."""
    wanted = {
        (level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1
    }
    nodes = _Nodes.prefetched(conn, wanted)  # in two queries, not one per level
    return {level: nodes(level, index) for level, index in wanted}


class _Chains:
    """The customers' entries of one batch of the log's entries, with the sequence number
    and chain hash their appends gave them (``application.store.customer_chains``)."""

    def __init__(self) -> None:
        self.entries: list[tuple[UUID, int, int, bytes]] = []

    def add(
        self,
        index: int,
        position: int,
        topic: str,
        customer: UUID | None,
        seq: int | None,
        chain: bytes | None,
    ) -> None:
        if customer is None or seq is None or chain is None:
            if aggregate_type_of(topic) in OWNERS:
                raise RuntimeError(f"the entry at position {position} has no customer's chain")
            return  # an aggregate of no customer (a service offering, a staff member)
        self.entries.append((customer, seq, index, chain))

    def save(self, cursor: psycopg.Cursor[Any]) -> None:
        with cursor.copy(
            "COPY fullchain_customer_entry (customer_id, seq, leaf_index, chain) FROM STDIN"
        ) as c:
            for entry in self.entries:
                c.write_row(entry)


#: What ``LogTree.extend`` tells its ``progress`` it walks.
TREE_STAGE = "tree"


class LogTree:
    """The Merkle tree of a database's log."""

    def __init__(self, database: Database, mapper: Mapper[Any], *, batch: int = 5000) -> None:
        """``mapper``: the application's, which reads the entries' events (the tree itself
        reads none: the customers' chains were fixed when the entries were appended)."""
        self.database = database
        self.mapper = mapper
        self.batch = batch

    def extend(
        self,
        *,
        up_to: int | None = None,
        progress: Progress | None = None,
        conn: psycopg.Connection[Any] | None = None,
    ) -> int:
        """Add the log's entries the tree does not hold yet (those up to position
        ``up_to``, when given); return the tree's size. ``progress`` is told the tree's
        size after each batch, of the size to reach (counted when the extension starts).
        ``conn``: a connection held open to extend on, each batch a transaction of its
        own (a keeper's: not a new connection, and a new server process, each time)."""
        if conn is None:
            with self.database.connect(purpose="tree") as own:
                return self._extend(own, up_to, progress)
        return self._extend(conn, up_to, progress)

    def _extend(
        self, conn: psycopg.Connection[Any], up_to: int | None, progress: Progress | None
    ) -> int:
        total: int | None = None
        while True:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (TREE_LOCK,))
                size, last = _size(conn)
                limit = "AND e.notification_id <= %(up_to)s" if up_to is not None else ""
                if progress is not None and total is None:
                    row = conn.execute(
                        f"SELECT count(*) FROM {EVENTS_TABLE} e "
                        f"WHERE e.notification_id > %(last)s {limit}",
                        {"last": last, "up_to": up_to},
                    ).fetchone()
                    total = size + (int(row[0]) if row else 0)
                    progress(TREE_STAGE, size, total)
                rows = conn.execute(
                    "SELECT e.notification_id, fullchain_leaf_hash(e), e.topic, "
                    "c.customer_id, c.seq, c.chain "
                    f"FROM {EVENTS_TABLE} e LEFT JOIN fullchain_customer_seq c "
                    "ON c.position = e.notification_id "
                    f"WHERE e.notification_id > %(last)s {limit} "
                    "ORDER BY e.notification_id LIMIT %(batch)s",
                    {"last": last, "up_to": up_to, "batch": self.batch},
                ).fetchall()
                if not rows:
                    if progress is not None:
                        progress(TREE_STAGE, size, max(size, total or 0))
                    return size
                pending = _pending(conn, size)
                chains = _Chains()
                leaves: list[tuple[int, int, bytes]] = []
                nodes: list[tuple[int, int, bytes]] = []
                for position, hashed, topic, customer, seq, chain in rows:
                    index = size + len(leaves)
                    current = bytes(hashed)
                    leaves.append((index, int(position), current))
                    chains.add(
                        index,
                        int(position),
                        topic,
                        customer,
                        None if seq is None else int(seq),
                        None if chain is None else bytes(chain),
                    )
                    level = 0
                    while index & 1:
                        current = node_hash(pending.pop(level), current)
                        level += 1
                        index >>= 1
                        nodes.append((level, index, current))
                    pending[level] = current
                with conn.cursor() as cursor:
                    with cursor.copy(
                        "COPY fullchain_tree_leaf (idx, position, hash) FROM STDIN"
                    ) as copy:
                        for leaf in leaves:
                            copy.write_row(leaf)
                    with cursor.copy(
                        "COPY fullchain_tree_node (level, idx, hash) FROM STDIN"
                    ) as copy:
                        for node in nodes:
                            copy.write_row(node)
                    chains.save(cursor)
                if progress is not None:
                    progress(TREE_STAGE, size + len(leaves), max(size + len(leaves), total or 0))
                if len(rows) < self.batch:
                    return size + len(leaves)

    @staticmethod
    def nodes(conn: psycopg.Connection[Any]) -> SubtreeHashes:
        """The tree's perfect-subtree hashes, read on ``conn`` (each once)."""
        return _Nodes(conn)

    @staticmethod
    def root_and_path(
        conn: psycopg.Connection[Any], index: int, size: int
    ) -> tuple[bytes, list[bytes]]:
        """The root of the tree of ``size`` leaves and the audit path of leaf ``index`` in
        it, on ``conn``, from the nodes both need read at once: two queries whatever the
        tree's size (a node at a time, the proof's reads grew with its length)."""
        nodes = _Nodes.for_walk(
            conn, lambda perfect: (tree_root(perfect, size), inclusion_proof(perfect, index, size))
        )
        return tree_root(nodes, size), inclusion_proof(nodes, index, size)

    def size(self) -> int:
        with self.database.connect(purpose="tree") as conn:
            return _size(conn)[0]

    def root(self, size: int, conn: psycopg.Connection[Any] | None = None) -> bytes:
        """The root of the tree of ``size`` leaves (on ``conn``, or a connection of its own)."""
        with self.database.connected(conn, purpose="tree") as on:
            self._holds(on, size)
            return tree_root(_Nodes.for_walk(on, lambda perfect: tree_root(perfect, size)), size)

    def inclusion(self, position: int, tree_size: int | None = None) -> Inclusion:
        """The proof that the entry at ``position`` is in the tree of ``tree_size`` leaves
        (the whole log's tree when None)."""
        size = self.extend()
        tree_size = size if tree_size is None else tree_size
        with self.database.connect(purpose="tree") as conn:
            self._holds(conn, tree_size)
            row = conn.execute(
                "SELECT idx, hash FROM fullchain_tree_leaf WHERE position = %s", (position,)
            ).fetchone()
            if row is None:
                raise NotInLog(f"no entry at position {position}")
            index = int(row[0])
            if index >= tree_size:
                raise ProofError(
                    f"the entry at position {position} is leaf {index}, after the tree of "
                    f"{tree_size} leaves"
                )
            root, path = self.root_and_path(conn, index, tree_size)
            return Inclusion(position, index, tree_size, bytes(row[1]), root, path)

    def inclusion_proofs(
        self,
        leaf_indexes: list[int],
        size: int,
        conn: psycopg.Connection[Any] | None = None,
        *,
        leaves: Mapping[int, bytes] | None = None,
        known: dict[tuple[int, int], bytes] | None = None,
    ) -> list[list[bytes]]:
        """The audit paths of many leaves in the tree of ``size`` leaves, on one connection
        (``conn``, or one of its own): the nodes they read are read at once (by runs of
        indexes: the database finds them, on its own core, faster than this process hashes
        them from the leaves). ``leaves``: leaf hashes already at hand (by leaf index), not
        read again. ``known``: nodes kept by the caller from earlier calls for the same
        ``size`` (the paths of a customer's later entries share most of their upper
        nodes), not read again; this call adds the nodes it reads that span at least as
        many leaves as it was given (a node never changes once written; the narrower ones
        would grow with the customer's history, and a later call needs few of them: it
        reads those)."""
        wanted = _read_by(  # which nodes the proofs read, without reading them
            lambda perfect: inclusion_proofs(perfect, leaf_indexes, size, paths=False)
        )
        given = {(0, i): h for i, h in leaves.items() if 0 <= i < size} if leaves else {}
        before = known if known is not None else {}
        unread = {key for key in wanted if key not in given and key not in before}
        if conn is None:
            with self.database.connect(purpose="tree") as own:
                self._holds(own, size)
                found = _Nodes.prefetched(own, unread)
        else:
            if not before:  # else held already when ``known`` was first filled
                self._holds(conn, size)
            found = _Nodes.prefetched(conn, unread) if unread else _Nodes(conn)
        if known is not None:
            wide = max(len(leaf_indexes).bit_length() - 1, 1)
            known.update((key, hashed) for key, hashed in found.seen.items() if key[0] >= wide)
        found.seen.update((key, given[key]) for key in wanted if key in given)
        found.seen.update((key, before[key]) for key in wanted if key in before)
        return inclusion_proofs(found, leaf_indexes, size)

    def consistency(self, first: int, second: int | None = None) -> Consistency:
        """The proof that the tree of ``first`` leaves is a prefix of the tree of
        ``second`` leaves (the whole log's tree when None)."""
        size = self.extend()
        second = size if second is None else second
        with self.database.connect(purpose="tree") as conn:
            self._holds(conn, max(first, second))
            nodes = _Nodes.for_walk(
                conn,
                lambda perfect: (
                    tree_root(perfect, first),
                    tree_root(perfect, second),
                    consistency_proof(perfect, first, second),
                ),
            )
            return Consistency(
                first,
                second,
                tree_root(nodes, first),
                tree_root(nodes, second),
                consistency_proof(nodes, first, second),
            )

    def customer_heads(
        self, size: int, conn: psycopg.Connection[Any] | None = None
    ) -> list[MapItem]:
        """Every customer's head in the tree of ``size`` leaves, as the map holds it (on
        ``conn``, or a connection of its own)."""
        with self.database.connected(conn, purpose="tree") as on:
            self._holds(on, size)
            rows = on.execute(_CUSTOMER_HEADS, (size,)).fetchall()
        return head_items(rows)

    def customer_entries(self, customer_id: UUID, size: int) -> list[CustomerEntry]:
        """The customer's entries in the tree of ``size`` leaves, first to last."""
        with self.database.connect(purpose="tree") as conn:
            self._holds(conn, size)
            rows = conn.execute(
                "SELECT c.seq, c.leaf_index, l.position, c.chain "
                "FROM fullchain_customer_entry c JOIN fullchain_tree_leaf l "
                "ON l.idx = c.leaf_index "
                "WHERE c.customer_id = %s AND c.leaf_index < %s ORDER BY c.seq",
                (customer_id, size),
            ).fetchall()
        return [CustomerEntry(int(s), int(i), int(p), bytes(c)) for s, i, p, c in rows]

    def customer_entry_count(
        self, customer_id: UUID, size: int, conn: psycopg.Connection[Any]
    ) -> int:
        """How many of the customer's entries the tree of ``size`` leaves holds."""
        self._holds(conn, size)
        row = conn.execute(
            "SELECT count(*) FROM fullchain_customer_entry "
            "WHERE customer_id = %s AND leaf_index < %s",
            (customer_id, size),
        ).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _holds(conn: psycopg.Connection[Any], size: int) -> None:
        built, _ = _size(conn)
        if size > built:
            raise TreeTooSmall(f"the log holds {built} entries, not {size}")

    def leaves(self) -> Iterator[tuple[int, int, bytes]]:
        """Every leaf: index, position, hash, in order."""
        with self.database.connect(purpose="tree") as conn:
            yield from (
                (int(i), int(p), bytes(h))
                for i, p, h in conn.execute(
                    "SELECT idx, position, hash FROM fullchain_tree_leaf ORDER BY idx"
                )
            )


class TreeKeeper:
    """Extends the tree as the log grows, in a thread of the projection process: woken by
    the log's notifications (or after ``poll_interval``), so that checkpoints, proofs and
    packages find the tree up to date and never build much of it themselves.

    Under load it extends at most once per ``min_interval``: the appends that arrive in
    between are taken by the next extension, in one transaction, instead of one small
    transaction per wake-up (a checkpoint or proof that needs the tree further extends it
    itself, so none waits for the keeper)."""

    name = "merkle tree"

    def __init__(
        self,
        tree: LogTree,
        *,
        poll_interval: float = 1.0,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        """``clock`` and ``wait`` (the stop event's wait when None): how the keeper tells
        the time since an extension and waits out the rest of ``min_interval``."""
        self.tree = tree
        self.poll_interval = poll_interval
        self.min_interval = min_interval
        self.clock = clock
        self.stopping = threading.Event()
        self.wait = self.stopping.wait if wait is None else wait

    def pace(self, started: float) -> None:
        """Wait out what is left of ``min_interval`` since the extension ``started``."""
        rest = self.min_interval - (self.clock() - started)
        if rest > 0 and not self.stopping.is_set():
            self.wait(rest)

    def stop(self) -> None:
        self.stopping.set()

    def run_forever(self) -> None:
        backoff = 0.2
        while not self.stopping.is_set():
            try:
                with self.tree.database.connect(purpose="tree", autocommit=True) as conn:
                    conn.execute(f"LISTEN {EVENTS_TABLE}")
                    backoff = 0.2
                    while not self.stopping.is_set():
                        started = self.clock()
                        self.tree.extend(conn=conn)
                        for _ in conn.notifies(timeout=self.poll_interval, stop_after=1):
                            self.pace(started)
                        for _ in conn.notifies(timeout=0):  # taken by the next extension
                            pass
            except OUTAGES as error:
                if self.stopping.is_set():
                    break
                log.warning("merkle tree: database connection lost (%s); retrying", error)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:  # a defect: logged and tried again, never the thread's end
                if self.stopping.is_set():
                    break
                log.exception("merkle tree: extending failed; trying again in %.1f s", backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
