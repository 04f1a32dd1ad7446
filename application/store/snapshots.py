"""Snapshots of aggregates: the library's snapshot, with a state that round-trips.

The library's ``Snapshot`` stores ``vars(aggregate)`` through the application's JSON
transcoder, which knows UUIDs, decimals and datetimes but not the rest of an aggregate's
state: value objects (frozen dataclasses) it cannot store at all, enums it stores as bare
strings (they would come back as ``str``), tuples come back as lists, and a dict keyed by
UUID (a shipment's incidents and claims) cannot be a JSON object. ``AggregateSnapshot``
therefore tags each of those in its state, and restores exactly the same types; the
transcoder does the rest. Value types are the dataclasses and enums of the ``domain``
package, known by class name.

A snapshot taken by older code may not fit the code that reads it: a value type renamed
or reshaped, an enum member gone, an attribute added to or dropped from the aggregate, a
``class_version`` without its upcaster. Restoring such a snapshot raises
``SnapshotOutdated``; readers then replay the aggregate's events instead, and
``fullchain rebuild snapshots`` takes the snapshots afresh. (Aggregates set every
attribute in ``__init__``, so the attribute names of an aggregate right after its
creation event are the names a snapshot must have.)

Stored snapshots live in ``fullchain_snapshots``, the table the library's
``PostgresAggregateRecorder`` reads for the "snapshots" purpose, under the stable topic
``Snapshot``; the aggregate's own topic (``Relationship``, ``Shipment``) is in the state.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace
from enum import Enum
from functools import cache
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate, DomainEvent, DomainEventProtocol, Snapshot
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import TopicError, register_topic

import domain
from domain.idset import IdSet

SNAPSHOTS_TABLE = "fullchain_snapshots"

#: Attributes of the library's aggregate base class that a snapshot never holds.
_NOT_STATE = ("_id", "_version", "_pending_events")


class SnapshotOutdated(Exception):
    """A stored snapshot that the current code cannot restore."""


#: What reading and restoring a stored snapshot raise when the code cannot restore it:
#: state that no longer decodes, an unknown topic, or a state that no longer fits.
UNRESTORABLE: tuple[type[Exception], ...] = (
    SnapshotOutdated,
    MapperDeserialisationError,
    TopicError,
)


@cache
def value_types() -> dict[str, type]:
    """The value objects (dataclasses) and enums defined in the ``domain`` package, by
    class name; events are dataclasses too, but never part of an aggregate's state."""
    found: dict[str, type] = {}
    for module_info in pkgutil.walk_packages(domain.__path__, f"{domain.__name__}."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and (is_dataclass(value) or issubclass(value, Enum))
                and not issubclass(value, DomainEvent)
            ):
                if found.get(value.__name__, value) is not value:
                    msg = f"two domain value types are named {value.__name__}"
                    raise RuntimeError(msg)
                found[value.__name__] = value
    return found


def encode(value: Any) -> Any:
    """A value of an aggregate's state as what the JSON transcoder stores faithfully."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return {"$enum": _registered(type(value)), "$value": value.value}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(item) for item in value]}
    if isinstance(value, IdSet):
        return {"$ids": value.packed()}  # one string, however many ids
    if isinstance(value, frozenset | set):
        # In a fixed order: a set's own order depends on the order its items were added
        # in, which differs between an aggregate replayed from its first event and one
        # restored from a snapshot, and a snapshot must not depend on how it was reached.
        items = sorted((encode(item) for item in value), key=repr)
        return {"$set": items, "$frozen": isinstance(value, frozenset)}
    if isinstance(value, dict):
        return {"$dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if is_dataclass(value) and not isinstance(value, type):
        return {
            "$dataclass": _registered(type(value)),
            "$fields": {f.name: encode(getattr(value, f.name)) for f in fields(value)},
        }
    return value  # str, int, float, and what the transcoder knows: UUID, Decimal, datetime


def decode(stored: Any) -> Any:
    """The value ``encode`` stored; ``SnapshotOutdated`` if the code no longer fits it."""
    if isinstance(stored, list):
        return [decode(item) for item in stored]
    if not isinstance(stored, dict):
        return stored
    if "$enum" in stored:
        return _type(stored["$enum"])(stored["$value"])
    if "$tuple" in stored:
        return tuple(decode(item) for item in stored["$tuple"])
    if "$ids" in stored:
        try:
            return IdSet.unpacked(stored["$ids"])
        except (TypeError, ValueError) as error:
            raise SnapshotOutdated(f"a set of ids in a snapshot: {error}") from None
    if "$set" in stored:
        items = [decode(item) for item in stored["$set"]]
        return frozenset(items) if stored["$frozen"] else set(items)
    if "$dict" in stored:
        return {decode(k): decode(v) for k, v in stored["$dict"]}
    if "$dataclass" in stored:
        cls = _type(stored["$dataclass"])
        return cls(**{name: decode(v) for name, v in stored["$fields"].items()})
    raise SnapshotOutdated(f"an untagged object in a snapshot: {sorted(stored)}")


def _registered(cls: type) -> str:
    if value_types().get(cls.__name__) is not cls:
        msg = f"{cls.__qualname__} is not a value type of the domain; it cannot be snapshotted"
        raise TypeError(msg)
    return cls.__name__


def _type(name: str) -> Callable[..., Any]:
    try:
        return value_types()[name]
    except KeyError:
        raise SnapshotOutdated(f"no domain value type named {name!r}") from None


@dataclass(frozen=True)
class AggregateSnapshot(Snapshot):
    """The state of an aggregate at one version, stored under the topic ``Snapshot``.

    Its timestamp is the aggregate's at that version (the time of the event that made it),
    not the time of taking: a snapshot is the same whenever, and by whichever worker, it
    is taken."""

    TOPIC: ClassVar[str] = "Snapshot"

    @classmethod
    def take(cls, aggregate: Any) -> AggregateSnapshot:
        taken: AggregateSnapshot = super().take(aggregate)
        state = {
            name: value if name == "class_version" else encode(value)
            for name, value in taken.state.items()
        }
        return replace(taken, state=state, timestamp=aggregate.modified_on)

    def mutate(self, _: None) -> Aggregate:
        """The aggregate as it was; ``SnapshotOutdated`` if this code cannot restore it."""
        try:
            state = {
                name: value if name == "class_version" else decode(value)
                for name, value in self.state.items()
            }
            aggregate = Snapshot.mutate(replace(self, state=state), None)
        except SnapshotOutdated:
            raise
        except Exception as error:  # a reshaped value type, a missing upcaster, ...
            msg = f"snapshot of {self.originator_id} v{self.originator_version}: {error!r}"
            raise SnapshotOutdated(msg) from error
        assert isinstance(aggregate, Aggregate)
        return aggregate


register_topic(AggregateSnapshot.TOPIC, AggregateSnapshot)


def read_snapshot(mapper: Mapper[Any], stored: StoredEvent) -> AggregateSnapshot:
    """A stored snapshot as a snapshot object; ``SnapshotOutdated`` if it is unreadable."""
    try:
        snapshot = mapper.to_domain_event(stored)
    except UNRESTORABLE as error:
        raise SnapshotOutdated(str(error)) from error
    if not isinstance(snapshot, AggregateSnapshot):
        raise SnapshotOutdated(f"{stored.topic!r} is not the topic of a snapshot")
    return snapshot


class AggregateShapes:
    """The attribute names each aggregate class gives its instances, learnt from the
    first creation event seen, to tell a snapshot taken by older code."""

    def __init__(self) -> None:
        self._names: dict[type, frozenset[str]] = {}

    def restore(
        self, snapshot: AggregateSnapshot, creation: Callable[[], DomainEventProtocol[Any]]
    ) -> Aggregate:
        """The snapshot's aggregate; ``creation`` reads the aggregate's first event, needed
        only the first time an aggregate class is seen."""
        aggregate = snapshot.mutate(None)
        expected = self._names.get(type(aggregate))
        if expected is None:
            created = creation().mutate(None)  # type: ignore[attr-defined]
            expected = self.learn(created)
        if frozenset(vars(aggregate)) != expected:
            msg = (
                f"snapshot of {snapshot.originator_id} v{snapshot.originator_version} has "
                f"attributes {sorted(set(vars(aggregate)) ^ expected)} that differ from "
                f"{type(aggregate).__name__}'s"
            )
            raise SnapshotOutdated(msg)
        return aggregate

    def learn(self, created: Aggregate) -> frozenset[str]:
        """Remember the attribute names of an aggregate just after its creation event."""
        names = frozenset(vars(created))
        self._names[type(created)] = names
        return names
