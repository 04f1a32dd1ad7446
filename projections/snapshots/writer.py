"""Snapshots, taken off the command path: whenever an aggregate reaches a version that is
a multiple of the interval (``$FULLCHAIN_SNAPSHOT_INTERVAL``, default 100), this
projection stores the library snapshot of the aggregate at that version in
``fullchain_snapshots``, in its batch transaction. Time travel (``application.time_travel``)
then restores an aggregate from the nearest snapshot at or below the version asked for and
replays only the events after it.

Aggregates are advanced event by event from a cache kept between batches; one missing
from the cache is built only when it reaches a snapshot version: from its previous
snapshot (or, if that no longer fits the code, from its first event) and the events since.
A snapshot that exists already is left alone, so replaying a batch is harmless.
``fullchain rebuild snapshots`` takes every snapshot afresh (after a change of an
aggregate's state, say).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent

from application import settings
from application.store.schema import EVENTS_TABLE
from application.store.snapshots import (
    SNAPSHOTS_TABLE,
    AggregateShapes,
    AggregateSnapshot,
    SnapshotOutdated,
    read_snapshot,
)
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.erasure import is_erasure
from projections.snapshots.migration import MIGRATION

log = logging.getLogger(__name__)

INTERVAL_VARIABLE = "FULLCHAIN_SNAPSHOT_INTERVAL"
DEFAULT_INTERVAL = 100

#: How many aggregates the projection keeps between batches, to avoid replaying them.
CACHE_SIZE = 5_000


def snapshot_interval() -> int:
    return settings.load().snapshot_interval


class SnapshotProjection(BatchProjection):
    name = "snapshots"
    migration = MIGRATION
    tables = (SNAPSHOTS_TABLE,)

    def __init__(self, mapper: Mapper[Any], *, interval: int | None = None) -> None:
        self.mapper = mapper
        self.interval = interval or snapshot_interval()
        self.shapes = AggregateShapes()
        self._cache: OrderedDict[UUID, Aggregate] = OrderedDict()

    def handles(self, topic: str) -> bool:
        return True  # every entry of the log is an event of some aggregate

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        taken: list[tuple[UUID, int, str, bytes]] = []
        for item in events:
            event = item.event
            aggregate_id: UUID = event.originator_id
            version: int = event.originator_version
            if is_erasure(event):
                taken = [t for t in taken if t[0] != aggregate_id]
                taken += self._retake(conn, aggregate_id, version)
            due = version % self.interval == 0
            aggregate = self._cache.pop(aggregate_id, None)
            if aggregate is not None and aggregate.version != version - 1:
                aggregate = None  # the cache ran ahead of a batch that was rolled back
            if aggregate is None and version > 1:
                if not due:
                    continue
                aggregate = self._before(conn, aggregate_id, version)
            aggregate = event.mutate(aggregate)
            assert aggregate is not None
            if version == 1:
                self.shapes.learn(aggregate)
            self._cache[aggregate_id] = aggregate
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            if due:
                stored = self._take(aggregate)
                if stored is not None:
                    taken.append(
                        (aggregate_id, stored.originator_version, stored.topic, stored.state)
                    )
        if taken:
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {SNAPSHOTS_TABLE} "
                    "(originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (originator_id, originator_version) DO NOTHING",
                    taken,
                )

    def _retake(
        self, conn: Connection, aggregate_id: UUID, version: int
    ) -> list[tuple[UUID, int, str, bytes]]:
        """An erasure at ``version``: the aggregate's snapshots hold the erased fields in
        clear text (those the erasure dropped, and any taken since from memory), so they
        are dropped and taken again from the log, where those fields read erased — as a
        rebuild takes them. The aggregate is left in the cache just before ``version``."""
        conn.execute(f"DELETE FROM {SNAPSHOTS_TABLE} WHERE originator_id = %s", (aggregate_id,))
        self._cache.pop(aggregate_id, None)
        taken: list[tuple[UUID, int, str, bytes]] = []
        aggregate: Aggregate | None = None
        for event in self._events(conn, aggregate_id, 0, version - 1):
            aggregate = event.mutate(aggregate)
            assert aggregate is not None
            if aggregate.version == 1:
                self.shapes.learn(aggregate)
            if aggregate.version % self.interval == 0:
                stored = self._take(aggregate)
                if stored is not None:
                    taken.append((aggregate_id, aggregate.version, stored.topic, stored.state))
        if aggregate is not None:
            self._cache[aggregate_id] = aggregate
        return taken

    def _take(self, aggregate: Aggregate) -> StoredEvent | None:
        try:
            return self.mapper.to_stored_event(AggregateSnapshot.take(aggregate))
        except (TypeError, ValueError):
            # A state this code cannot store; time travel replays this aggregate instead.
            log.exception("no snapshot of %s v%d", aggregate.id, aggregate.version)
            return None

    def _before(self, conn: Connection, aggregate_id: UUID, version: int) -> Aggregate:
        """The aggregate just before ``version``: from its latest snapshot, then events."""
        aggregate: Aggregate | None = None
        row = conn.execute(
            f"SELECT originator_version, topic, state FROM {SNAPSHOTS_TABLE} "
            "WHERE originator_id = %s AND originator_version < %s "
            "ORDER BY originator_version DESC LIMIT 1",
            (aggregate_id, version),
        ).fetchone()
        if row is not None:
            try:
                snapshot = read_snapshot(
                    self.mapper, StoredEvent(aggregate_id, row[0], row[1], bytes(row[2]))
                )
                aggregate = self.shapes.restore(
                    snapshot, lambda: self._events(conn, aggregate_id, 0, 1)[0]
                )
            except SnapshotOutdated as error:
                log.warning("replaying %s instead of its snapshot: %s", aggregate_id, error)
                aggregate = None
        after = aggregate.version if aggregate is not None else 0
        for event in self._events(conn, aggregate_id, after, version - 1):
            aggregate = event.mutate(aggregate)
        assert aggregate is not None
        return aggregate

    def _events(self, conn: Connection, aggregate_id: UUID, after: int, upto: int) -> list[Any]:
        rows = conn.execute(
            f"SELECT originator_version, topic, state FROM {EVENTS_TABLE} "
            "WHERE originator_id = %s AND originator_version > %s AND originator_version <= %s "
            "ORDER BY originator_version",
            (aggregate_id, after, upto),
        ).fetchall()
        return [
            self.mapper.to_domain_event(StoredEvent(aggregate_id, v, topic, bytes(state)))
            for v, topic, state in rows
        ]
