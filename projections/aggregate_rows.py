"""Read models whose rows are what an aggregate itself says — an opportunity's stage and
weighted value, a service case's SLA clocks — rather than a second derivation of its rules.

``AggregatesOfBatch`` brings each aggregate a batch touches up to the batch's events: it is
taken as it was just before the batch — from a cache kept between batches when it is at that
version, else replayed from the log — and the events are applied to it. The cache may run
ahead of what was committed (a batch that rolled back); the version check finds that, and
the aggregate is replayed instead. ``write_rows`` inserts the rows of the aggregates created
in the batch and updates the others'.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent

from application.store.schema import EVENTS_TABLE
from projections.engine import Connection, ProjectedEvent

A = TypeVar("A", bound=Aggregate)


class AggregatesOfBatch(Generic[A]):
    def __init__(self, mapper: Mapper[Any], cls: type[A], *, cache_size: int = 5_000) -> None:
        self.mapper = mapper
        self.cls = cls
        self.cache_size = cache_size
        self._cache: OrderedDict[UUID, A] = OrderedDict()

    def apply(self, conn: Connection, events: Sequence[ProjectedEvent]) -> dict[UUID, A]:
        """The aggregates the events belong to, each after the last of its events."""
        touched: dict[UUID, A] = {}
        for item in events:
            event = item.event
            before = touched.get(event.originator_id)
            if before is None and event.originator_version > 1:
                before = self._before(conn, event.originator_id, event.originator_version)
                if before is None:
                    continue  # only possible for a log that does not start at the creation
            after = event.mutate(before)
            assert isinstance(after, self.cls)
            touched[event.originator_id] = after
        for aggregate_id, aggregate in touched.items():
            self._cache[aggregate_id] = aggregate
            self._cache.move_to_end(aggregate_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return touched

    def forget(self) -> None:
        """Keep no aggregate between batches (every batch replays what it touches)."""
        self._cache.clear()

    def _before(self, conn: Connection, aggregate_id: UUID, version: int) -> A | None:
        cached = self._cache.pop(aggregate_id, None)
        if cached is not None and cached.version == version - 1:
            return cached
        rows = conn.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "
            "WHERE originator_id = %s AND originator_version < %s ORDER BY originator_version",
            (aggregate_id, version),
        ).fetchall()
        aggregate: Any = None
        for originator_id, originator_version, topic, state in rows:
            event: Any = self.mapper.to_domain_event(
                StoredEvent(originator_id, originator_version, topic, bytes(state))
            )
            aggregate = event.mutate(aggregate)
        return aggregate if isinstance(aggregate, self.cls) else None


def write_rows(
    conn: Connection,
    table: str,
    key: str,
    created: Sequence[dict[str, Any]],
    changed: Sequence[dict[str, Any]],
    *,
    created_columns: Sequence[str],
    changed_columns: Sequence[str],
) -> None:
    """Insert the rows of aggregates created in the batch, update the others' columns."""
    with conn.cursor() as cur:
        if created:
            cur.executemany(
                f"INSERT INTO {table} ({', '.join(created_columns)}) "
                f"VALUES ({', '.join(f'%({c})s' for c in created_columns)})",
                created,
            )
        if changed:
            cur.executemany(
                f"UPDATE {table} SET {', '.join(f'{c} = %({c})s' for c in changed_columns)} "
                f"WHERE {key} = %({key})s",
                changed,
            )
