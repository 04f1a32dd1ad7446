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

from application.database import Database
from application.schema import EVENTS_TABLE, TRACKING_TABLE, Migration

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


class TrackingConflictError(RuntimeError):
    pass


def advance_tracking(conn: Connection, projection_name: str, position: int) -> None:
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


class ProjectionWorker:
    def __init__(
        self,
        database: Database,
        projection: BatchProjection,
        mapper: Mapper[Any],
        *,
        batch_size: int = 1000,
        poll_interval: float = 2.0,
    ) -> None:
        self.database = database
        self.projection = projection
        self.mapper = mapper
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.stopping = threading.Event()
        self._select = (
            f"SELECT notification_id, originator_id, originator_version, topic, state, "
            f"recorded_at FROM {EVENTS_TABLE} WHERE notification_id > %s "
            f"ORDER BY notification_id LIMIT %s"
        )

    def connect(self) -> Connection:
        return self.database.connect(
            autocommit=True, application_name=f"fullchain-projection:{self.projection.name}"
        )

    # --- one batch ----------------------------------------------------------------------

    def process_batch(self, conn: Connection) -> int:
        """Apply the next batch in one transaction; return how many log entries it read."""
        with conn.transaction():
            position = tracking_position(conn, self.projection.name)
            rows = conn.execute(self._select, (position, self.batch_size)).fetchall()
            if not rows:
                return 0
            events = [
                ProjectedEvent(
                    position=notification_id,
                    recorded_at=recorded_at,
                    event=self.mapper.to_domain_event(
                        StoredEvent(
                            originator_id=originator_id,
                            originator_version=originator_version,
                            topic=topic,
                            state=bytes(state),
                        )
                    ),
                )
                for (
                    notification_id,
                    originator_id,
                    originator_version,
                    topic,
                    state,
                    recorded_at,
                ) in rows
                if self.projection.handles(topic)
            ]
            if events:
                self.projection.apply_batch(conn, events)
            advance_tracking(conn, self.projection.name, int(rows[-1][0]))
            return len(rows)

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
            except psycopg.OperationalError as error:
                if self.stopping.is_set():
                    break
                log.warning(
                    "%s: database connection lost (%s); reconnecting in %.1f s",
                    self.projection.name,
                    error,
                    backoff,
                )
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            else:
                backoff = 0.2

    def _run_connected(self) -> None:
        with self.connect() as conn:
            if not self._become_active(conn):
                return
            conn.execute(f"LISTEN {EVENTS_TABLE}")
            log.info("%s: following the log", self.projection.name)
            while not self.stopping.is_set():
                self.catch_up(conn)
                # Wake on the next append, or poll after poll_interval in case a
                # notification was missed.
                for _ in conn.notifies(timeout=self.poll_interval, stop_after=1):
                    pass

    def _become_active(self, conn: Connection) -> bool:
        """Hold the projection's advisory lock; a second worker waits as a standby."""
        key = advisory_key(self.projection.name)
        while not self.stopping.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row and row[0]:
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

    Holds the projection's advisory lock, so a running worker pauses meanwhile; readers
    see the old rows until the truncate commits, then the model fills up again.
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
