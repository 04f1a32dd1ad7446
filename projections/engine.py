"""Projection worker: catch up in batches, then follow the log live.

Each batch is one transaction that writes the read-model rows *and* the projection's
tracking position, so an event is applied exactly once: a crash before the commit leaves
neither, a crash after leaves both. The position only moves forward (the upsert refuses
to move it back or to apply the same position twice), so two workers that somehow ran at
once could not both apply a batch; in normal operation an advisory lock makes the second
worker wait as a standby.

New events are noticed through PostgreSQL LISTEN/NOTIFY (the library's insert statement
notifies the events table's channel); a poll every ``poll_interval`` seconds covers
missed notifications. A dropped connection is reopened with a growing back-off.

Event ordering: the library's append locks the events table, so notification ids commit
in order and a reader never skips an id that a slower transaction fills in later.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent

from application import metrics
from application.store.database import OUTAGES, Database
from application.store.schema import EVENTS_TABLE, TRACKING_TABLE, Migration
from projections import status
from projections.freshness import CHANNEL, announce

log = logging.getLogger(__name__)

Connection = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True)
class ProjectedEvent:
    position: int
    recorded_at: datetime
    event: Any


class BatchProjection(ABC):
    """A read model built from the log. Subclasses say which events they read and how."""

    name: str
    migration: Migration
    #: The read model's tables, emptied by a rebuild.
    tables: Sequence[str]
    #: Whether the read model reads events' personal fields. A worker whose read models
    #: all read none decodes the log without opening them (no key fetched, nothing
    #: decrypted): their values stay sealed in the events it hands them.
    reads_personal_data: bool = True

    @abstractmethod
    def handles(self, topic: str) -> bool:
        """Whether events stored under ``topic`` change this read model."""

    @abstractmethod
    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        """Apply the events, in order, inside the caller's transaction."""


def advisory_key(projection_name: str) -> int:
    return 7_302_000_000 + zlib.crc32(projection_name.encode())


def tracking_position(conn: Connection, projection_name: str) -> int:
    row = conn.execute(
        f"SELECT notification_id FROM {TRACKING_TABLE} WHERE application_name = %s",
        (projection_name,),
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def tracking_positions(conn: Connection, projection_names: Sequence[str]) -> dict[str, int]:
    """The positions of several read models (0 for one that has applied nothing)."""
    rows = conn.execute(
        f"SELECT application_name, notification_id FROM {TRACKING_TABLE} "
        "WHERE application_name = ANY(%s)",
        (list(projection_names),),
    ).fetchall()
    found = {str(name): int(position or 0) for name, position in rows}
    return {name: found.get(name, 0) for name in projection_names}


class TrackingConflictError(RuntimeError):
    pass


def swap_key(projection_name: str) -> int:
    """The lock a batch holds (shared) on each read model it applies, and an online rebuild
    holds (exclusive) for its final catch-up and swap (``projections.rebuild``)."""
    return 7_303_000_000 + zlib.crc32(projection_name.encode())


def advance_tracking(
    conn: Connection, projection_name: str, position: int, *, announcing: bool = True
) -> None:
    row = conn.execute(
        f"""
        INSERT INTO {TRACKING_TABLE} (application_name, notification_id) VALUES (%s, %s)
        ON CONFLICT (application_name) DO UPDATE SET notification_id = EXCLUDED.notification_id
        WHERE {TRACKING_TABLE}.notification_id < EXCLUDED.notification_id
        RETURNING notification_id
        """,
        (projection_name, position),
    ).fetchone()
    if row is None:
        msg = f"{projection_name}: position {position} was already applied"
        raise TrackingConflictError(msg)
    if announcing:
        announce(conn, projection_name, position)


def advance_trackings(
    conn: Connection, projection_names: Sequence[str], position: int, *, announcing: bool = True
) -> None:
    """``advance_tracking`` for several read models at once: one statement moves them all
    to ``position`` (and one announces them), however many there are."""
    if not projection_names:
        return
    names = list(projection_names)
    # The announcements are sent from the same statement, for the positions it moved;
    # they are delivered when the transaction commits, and dropped if it rolls back.
    announced = "pg_notify(%s, name || ' ' || %s)" if announcing else "NULL"
    moved = conn.execute(
        f"""
        WITH moved AS (
            INSERT INTO {TRACKING_TABLE} (application_name, notification_id)
            SELECT name, %s FROM unnest(%s::text[]) AS name
            ON CONFLICT (application_name) DO UPDATE
            SET notification_id = EXCLUDED.notification_id
            WHERE {TRACKING_TABLE}.notification_id < EXCLUDED.notification_id
            RETURNING application_name AS name
        )
        SELECT name, {announced} FROM moved
        """,
        (position, names, *((CHANNEL, str(position)) if announcing else ())),
    ).fetchall()
    if len(moved) < len(names):
        stale = sorted(set(names) - {str(row[0]) for row in moved})
        msg = f"{', '.join(stale)}: position {position} was already applied"
        raise TrackingConflictError(msg)


class ProjectionWorker:
    """Follows the log for one read model or several. Each batch of the log is read and
    decoded once and fed to every read model it runs, in one transaction that writes
    their rows and positions: one write transaction per batch, however many read models.
    A read model that fails a batch is set aside (its savepoint rolled back, its position
    kept) and retried later; the others go on."""

    def __init__(
        self,
        database: Database,
        projections: BatchProjection | Sequence[BatchProjection],
        mapper: Mapper[Any],
        *,
        batch_size: int = 1000,
        poll_interval: float = 2.0,
        retry_after: float = 30.0,
        announcing: bool = True,
    ) -> None:
        self.database = database
        self.projections = (
            [projections] if isinstance(projections, BatchProjection) else list(projections)
        )
        self.mapper = mapper
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.retry_after = retry_after
        #: Whether each batch announces its positions to readers (not for a shadow copy).
        self.announcing = announcing
        for projection in self.projections:  # shown as 0 until the first failure
            metrics.BATCH_ERRORS.labels(projection.name)
        self.stopping = threading.Event()
        #: The read models this worker holds (their advisory locks), when following live.
        self._held: set[str] | None = None
        #: Read models set aside after a failure, until the monotonic time given.
        self._set_aside: dict[str, float] = {}
        self._select = (
            f"SELECT notification_id, originator_id, originator_version, topic, state, "
            f"recorded_at FROM {EVENTS_TABLE} WHERE notification_id > %s "
            f"ORDER BY notification_id LIMIT %s"
        )

    @property
    def projection(self) -> BatchProjection:
        """The read model of a worker that runs one."""
        (only,) = self.projections
        return only

    @property
    def name(self) -> str:
        return "+".join(p.name for p in self.projections)

    def connect(self) -> Connection:
        purpose = self.projections[0].name if len(self.projections) == 1 else "all"
        return self.database.connect(autocommit=True, purpose=f"projection:{purpose}")

    # --- one batch ----------------------------------------------------------------------

    def _running(self) -> list[BatchProjection]:
        now = time.monotonic()
        return [
            p
            for p in self.projections
            if (self._held is None or p.name in self._held)
            and self._set_aside.get(p.name, 0.0) <= now
        ]

    def process_batch(self, conn: Connection) -> int:
        """Apply the next batch in one transaction; return how many log entries it read."""
        running = self._running()
        if not running:
            return 0
        with conn.transaction(), contextlib.ExitStack() as batch:
            # Shared: an online rebuild's swap waits for this batch, and the next batch
            # waits for the swap, then reads the swapped-in position.
            conn.execute(
                "SELECT pg_advisory_xact_lock_shared(k) FROM unnest(%s::bigint[]) AS k",
                ([swap_key(p.name) for p in running],),
            )
            positions = tracking_positions(conn, [p.name for p in running])
            rows = conn.execute(self._select, (min(positions.values()), self.batch_size)).fetchall()
            if not rows:
                return 0
            sealed = (
                None
                if any(p.reads_personal_data for p in running)
                else getattr(self.mapper, "to_sealed_domain_event", None)
            )
            decode = sealed or self.mapper.to_domain_event
            prefetched = getattr(self.mapper, "prefetched", None)
            if prefetched is not None and sealed is None:
                # the keys of the batch's sealed fields, at once
                batch.enter_context(prefetched(bytes(row[4]) for row in rows))
            decoded: dict[int, ProjectedEvent] = {}

            def projected(row: tuple[Any, ...]) -> ProjectedEvent:
                position = int(row[0])
                if position not in decoded:
                    decoded[position] = ProjectedEvent(
                        position=position,
                        recorded_at=row[5],
                        event=decode(
                            StoredEvent(
                                originator_id=row[1],
                                originator_version=row[2],
                                topic=row[3],
                                state=bytes(row[4]),
                            )
                        ),
                    )
                return decoded[position]

            last = int(rows[-1][0])
            # Every read model that takes the batch moves to ``last`` in one statement at
            # the end; one with no event of the batch only moves, so it needs no savepoint.
            advanced: list[str] = []
            for projection in running:
                after = positions[projection.name]
                if after >= last:
                    continue
                events = [
                    projected(row) for row in rows if row[0] > after and projection.handles(row[3])
                ]
                started = time.perf_counter()
                if not events:
                    advanced.append(projection.name)
                    self._measured(projection.name, last - after, started)
                    continue
                if len(self.projections) == 1:
                    try:
                        projection.apply_batch(conn, events)
                    except Exception:
                        metrics.BATCH_ERRORS.labels(projection.name).inc()
                        raise
                    advanced.append(projection.name)
                    self._measured(projection.name, last - after, started)
                    continue
                # A savepoint, so that a failure is this model's own. It is never released:
                # the batch's commit ends it, and the release would cost a round trip.
                conn.execute("SAVEPOINT read_model")
                try:
                    projection.apply_batch(conn, events)
                except OUTAGES:
                    raise  # the database is gone: nothing of the batch commits
                except Exception as error:
                    conn.execute("ROLLBACK TO SAVEPOINT read_model")
                    metrics.BATCH_ERRORS.labels(projection.name).inc()
                    status.record_error(conn, projection.name, after, last, error)
                    log.exception(
                        "%s: failed at positions %d..%d; set aside for %.0f s",
                        projection.name,
                        after + 1,
                        last,
                        self.retry_after,
                    )
                    self._set_aside[projection.name] = time.monotonic() + self.retry_after
                else:
                    advanced.append(projection.name)
                    self._measured(projection.name, last - after, started)
            advance_trackings(conn, advanced, last, announcing=self.announcing)
            return len(rows)

    @staticmethod
    def _measured(read_model: str, entries: int, started: float) -> None:
        metrics.BATCH_SIZE.labels(read_model).observe(entries)
        metrics.BATCH_LATENCY.labels(read_model).observe(time.perf_counter() - started)

    def catch_up(self, conn: Connection | None = None) -> int:
        """Process batches until the log is exhausted; return how many entries were read."""
        if conn is None:
            with self.connect() as own:
                return self.catch_up(own)
        total = 0
        while not self.stopping.is_set():
            n = self.process_batch(conn)
            total += n
            if n < self.batch_size:
                break
        return total

    # --- following the log live ---------------------------------------------------------

    def run_forever(self) -> None:
        backoff = 0.2
        while not self.stopping.is_set():
            try:
                self._run_connected()
            except OUTAGES as error:
                if self.stopping.is_set():
                    break
                log.warning(
                    "%s: database connection lost (%s); reconnecting in %.1f s",
                    self.name,
                    error,
                    backoff,
                )
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:  # a defect: logged and tried again, never the thread's end
                if self.stopping.is_set():
                    break
                log.exception("%s: failed; starting again in %.1f s", self.name, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            else:
                backoff = 0.2

    def _run_connected(self) -> None:
        with self.connect() as conn:
            self._held = set()
            try:
                if not self._become_active(conn):
                    return
                conn.execute(f"LISTEN {EVENTS_TABLE}")
                log.info("%s: following the log", ", ".join(sorted(self._held)))
                while not self.stopping.is_set():
                    self.catch_up(conn)
                    # Wake on the next append, or poll after poll_interval in case a
                    # notification was missed; appends that came meanwhile are read by
                    # the one catch-up that follows (their notifications coalesce).
                    for _ in conn.notifies(timeout=self.poll_interval, stop_after=1):
                        pass
                    if len(self._held) < len(self.projections):
                        self._take_locks(conn)
            finally:
                self._held = None

    def _take_locks(self, conn: Connection) -> None:
        """Hold the advisory lock of every read model no other worker holds."""
        if self._held is None:
            self._held = set()
        for projection in self.projections:
            if projection.name in self._held:
                continue
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s)", (advisory_key(projection.name),)
            ).fetchone()
            if row and row[0]:
                self._held.add(projection.name)

    def _become_active(self, conn: Connection) -> bool:
        """Hold the read models' advisory locks; while another worker holds them all,
        wait as a standby."""
        while not self.stopping.is_set():
            self._take_locks(conn)
            if self._held:
                return True
            self.stopping.wait(self.poll_interval)
        return False

    def stop(self) -> None:
        self.stopping.set()
        # Wake a worker waiting for notifications, so it stops now, not after a poll.
        with contextlib.suppress(psycopg.Error), self.database.connect(autocommit=True) as conn:
            conn.execute(f"NOTIFY {EVENTS_TABLE}")


def rebuild(worker: ProjectionWorker) -> int:
    """Empty the read model and apply the whole log again; return entries read.

    Waits for the projection's advisory lock, which a running worker holds as long as it
    runs: for a stopped service (tests, upgrades). Readers see the old rows until the
    truncate commits, then the model fills up again. Beside a live service use
    ``projections.rebuild.rebuild_online``.
    """
    projection = worker.projection
    with worker.connect() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (advisory_key(projection.name),))
        try:
            with conn.transaction():
                conn.execute(f"TRUNCATE {', '.join(projection.tables)}")
                conn.execute(
                    f"DELETE FROM {TRACKING_TABLE} WHERE application_name = %s",
                    (projection.name,),
                )
            started = time.perf_counter()
            total = worker.catch_up(conn)
            log.info(
                "%s: rebuilt from %d log entries in %.1f s",
                projection.name,
                total,
                time.perf_counter() - started,
            )
            return total
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (advisory_key(projection.name),))
