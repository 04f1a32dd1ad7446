"""Time travel: any aggregate as it was at a version or at a point in time, and what
changed between two versions.

``TimeTravel`` is a read-only application over the same log as ``Fullchain``, with the
library's snapshot store switched on (``fullchain_snapshots``, filled off the command path
by ``projections.snapshots``): its repository restores an aggregate from the nearest
snapshot at or below the version asked for and replays only the events after it. A
snapshot the current code cannot restore (see ``application.store.snapshots``) is passed over:
the aggregate is replayed from its first event instead.

"At a point in time" means as recorded by then: the highest version whose ``recorded_at``
is at or before the moment (the server's time of the append, not the business time).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from application.commands import NotFound
from application.jsonable import jsonable
from application.personal_data import KeyRing, PersonalDataMapper
from application.store.database import Database
from application.store.schema import EVENTS_TABLE
from application.store.snapshots import (
    SNAPSHOTS_TABLE,
    UNRESTORABLE,
    AggregateShapes,
    AggregateSnapshot,
)
from domain.base import InvalidValue, require

log = logging.getLogger(__name__)

#: Most connections time travel holds (its own pool, beside the write and read pools).
POOL_SIZE = 2


@dataclass(frozen=True)
class EventSummary:
    name: str
    version: int
    actor: str
    occurred_at: datetime
    recorded_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "actor": self.actor,
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
        }


@dataclass(frozen=True)
class AggregateAt:
    """An aggregate at one version, with the event that made that version."""

    aggregate: Aggregate
    aggregate_type: str
    current_version: int
    event: EventSummary
    #: The snapshot the aggregate was restored from; None: replayed from its first event.
    snapshot_version: int | None

    @property
    def version(self) -> int:
        return self.aggregate.version

    def as_json(self) -> dict[str, Any]:
        return {
            "aggregate_id": str(self.aggregate.id),
            "aggregate_type": self.aggregate_type,
            "version": self.version,
            "current_version": self.current_version,
            "event_name": self.event.name,
            "actor": self.event.actor,
            "occurred_at": self.event.occurred_at.isoformat(),
            "recorded_at": self.event.recorded_at.isoformat(),
            "snapshot_version": self.snapshot_version,
            "state": state_of(self.aggregate),
        }


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class StateDiff:
    aggregate_id: UUID
    aggregate_type: str
    from_version: int
    to_version: int
    changes: list[Change]
    events: list[EventSummary]

    def as_json(self) -> dict[str, Any]:
        return {
            "aggregate_id": str(self.aggregate_id),
            "aggregate_type": self.aggregate_type,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in self.changes],
            "events": [e.as_json() for e in self.events],
        }


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    """An aggregate's attributes as JSON: no private or pending fields."""
    return {
        name: jsonable(value) for name, value in vars(aggregate).items() if not name.startswith("_")
    }


_MISSING: Any = object()


def changes_between(old: Any, new: Any, path: str = "") -> list[Change]:
    """What differs between two JSON values, as paths to the smallest changed parts:
    ``kind``, ``links[2].started_at``, ``claims.<id>.closed_at``; an added or removed
    entry has ``None`` on the side where it is missing."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [*old, *(k for k in new if k not in old)]
        found: list[Change] = []
        for key in keys:
            found += changes_between(
                old.get(key, _MISSING), new.get(key, _MISSING), f"{path}.{key}" if path else key
            )
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            found += changes_between(before, after, f"{path}[{index}]")
        return found
    return [Change(path, None if old is _MISSING else old, None if new is _MISSING else new)]


class TimeTravel(Application[UUID]):
    """Read-only: aggregates as they were. Never saves."""

    name = "fullchain"  # the same tables: fullchain_events, fullchain_snapshots
    is_snapshotting_enabled = True

    def __init__(
        self, database: Database, *, snapshots: bool = True, keys: KeyRing | None = None
    ) -> None:
        """``snapshots=False`` always replays from the first event (to compare). ``keys``:
        the data subjects' keys that open personal fields (the application's, which
        forgets an erased subject's keys when told; else a ring of this reader's own)."""
        self.personal_keys = keys if keys is not None else KeyRing(database)
        # No connection until first used; at most POOL_SIZE.
        env = database.eventsourcing_env(min_size=0, max_size=POOL_SIZE)
        env.update(
            {
                "CREATE_TABLE": "no",  # tables belong to `fullchain db init`
                "IS_SNAPSHOTTING_ENABLED": "y" if snapshots else "n",
            }
        )
        super().__init__(env)
        assert self.recorder.events_table_name == EVENTS_TABLE  # type: ignore[attr-defined]
        if self.snapshots is not None:
            assert self.snapshots.recorder.events_table_name == SNAPSHOTS_TABLE  # type: ignore[attr-defined]
        self.shapes = AggregateShapes()
        self._replay: Repository[UUID] = Repository(event_store=self.events)

    def construct_mapper(self) -> Mapper[UUID]:
        """Personal fields opened as they read now: erased ones read "[erased]" at every
        version (``application.personal_data``)."""
        return PersonalDataMapper(self.construct_transcoder(), keys=self.personal_keys)

    # --- queries ------------------------------------------------------------------------

    def state(
        self,
        aggregate_type: str,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
    ) -> AggregateAt:
        """The aggregate at ``version``, as recorded by ``as_of``, or now (neither)."""
        require(
            version is None or as_of is None,
            "time_travel.version_or_as_of",
            "ask for a version or a point in time, not both",
            field="as_of",
        )
        current = self._current_version(aggregate_type, aggregate_id)
        if as_of is not None:
            require(
                as_of.tzinfo is not None,
                "as_of.timezone",
                "as_of must carry a time zone",
                field="as_of",
            )
            version = self._version_as_of(aggregate_id, as_of)
            if version is None:
                raise NotFound(
                    f"{aggregate_type.lower()} recorded by {as_of.isoformat()}", aggregate_id
                )
        elif version is None:
            version = current
        self._require_version(version, current, "version")
        aggregate, snapshot_version = self.aggregate_at(aggregate_id, version)
        (event,) = self._events(aggregate_id, version - 1, version)
        return AggregateAt(aggregate, aggregate_type, current, event[1], snapshot_version)

    def diff(
        self, aggregate_type: str, aggregate_id: UUID, from_version: int, to_version: int
    ) -> StateDiff:
        """What changed from ``from_version`` to ``to_version``, and the events between."""
        current = self._current_version(aggregate_type, aggregate_id)
        self._require_version(from_version, current, "from")
        self._require_version(to_version, current, "to")
        require(
            from_version <= to_version,
            "diff.order",
            "from must not be after to",
            field="from",
        )
        aggregate, _ = self.aggregate_at(aggregate_id, from_version)
        before = state_of(aggregate)
        events = self._events(aggregate_id, from_version, to_version)
        for domain_event, _summary in events:
            aggregate = domain_event.mutate(aggregate)
        return StateDiff(
            aggregate_id,
            aggregate_type,
            from_version,
            to_version,
            changes_between(before, state_of(aggregate)),
            [summary for _, summary in events],
        )

    def aggregate_at(self, aggregate_id: UUID, version: int) -> tuple[Aggregate, int | None]:
        """The aggregate at ``version`` and the snapshot it started from, if any."""
        restored: list[int] = []

        def project(aggregate: Aggregate | None, events: Iterable[Any]) -> Aggregate | None:
            for event in events:
                if isinstance(event, AggregateSnapshot):
                    aggregate = self.shapes.restore(event, lambda: self._first(aggregate_id))
                    restored.append(event.originator_version)
                else:
                    aggregate = event.mutate(aggregate)
            return aggregate

        try:
            found = self.repository.get(aggregate_id, version=version, projector_func=project)
        except UNRESTORABLE as error:
            log.warning(
                "time travel replays %s: its snapshot is unusable (%s)", aggregate_id, error
            )
            restored.clear()
            found = self._replay.get(aggregate_id, version=version, projector_func=project)
        return found, (restored[0] if restored else None)

    # --- the log ------------------------------------------------------------------------

    def _connection(self) -> Any:
        recorder = cast(PostgresApplicationRecorder, self.recorder)
        return recorder.datastore.get_connection()

    def _current_version(self, aggregate_type: str, aggregate_id: UUID) -> int:
        """The aggregate's current version; NotFound unless it is of ``aggregate_type``."""
        with self._connection() as conn:
            row = conn.execute(
                f"SELECT topic, (SELECT max(originator_version) FROM {EVENTS_TABLE} "
                "WHERE originator_id = %(id)s) AS current FROM "
                f"{EVENTS_TABLE} WHERE originator_id = %(id)s AND originator_version = 1",
                {"id": aggregate_id},
            ).fetchone()
        if row is None or row["topic"].partition(".")[0] != aggregate_type:
            raise NotFound(aggregate_type.lower(), aggregate_id)
        return int(row["current"])

    def _version_as_of(self, aggregate_id: UUID, as_of: datetime) -> int | None:
        # Versions are recorded in order, so the newest one recorded by then is found by
        # walking the primary key backwards.
        with self._connection() as conn:
            row = conn.execute(
                f"SELECT originator_version FROM {EVENTS_TABLE} "
                "WHERE originator_id = %s AND recorded_at <= %s "
                "ORDER BY originator_version DESC LIMIT 1",
                (aggregate_id, as_of),
            ).fetchone()
        return None if row is None else int(row["originator_version"])

    @staticmethod
    def _require_version(version: int, current: int, field: str) -> None:
        require(version >= 1, f"{field}.positive", f"{field} must be 1 or more", field=field)
        if version > current:
            raise InvalidValue(
                f"{field}.beyond_current",
                f"{field} {version} is beyond the current version {current}",
                field=field,
            )

    def _events(self, aggregate_id: UUID, after: int, upto: int) -> list[tuple[Any, EventSummary]]:
        """Events ``after`` < version <= ``upto``, decoded, each with its summary."""
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT originator_version, topic, state, recorded_at FROM {EVENTS_TABLE} "
                "WHERE originator_id = %s AND originator_version > %s "
                "AND originator_version <= %s ORDER BY originator_version",
                (aggregate_id, after, upto),
            ).fetchall()
        found: list[tuple[Any, EventSummary]] = []
        for row in rows:
            event: Any = self.mapper.to_domain_event(
                StoredEvent(
                    aggregate_id, row["originator_version"], row["topic"], bytes(row["state"])
                )
            )
            summary = EventSummary(
                row["topic"],
                row["originator_version"],
                event.actor,
                event.occurred_at,
                row["recorded_at"],
            )
            found.append((event, summary))
        return found

    def _first(self, aggregate_id: UUID) -> Any:
        return next(iter(self.events.get(aggregate_id, lte=1)))
