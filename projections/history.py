"""A customer's history across aggregates: an index of every event of a relationship and
of everything that belongs to it, in log order.

Which relationship an aggregate belongs to is told by its first event, through one
function per aggregate type (the prefix of its stored topic): a relationship belongs to
itself, a shipment to its customer, an opportunity and a service case to their relationship,
a competitor's profile to the competitor. An aggregate of a type without one (a service
offering, a staff member) is in no history.

``aggregate_owner`` maps each aggregate to its relationship; ``history_index`` holds one
row per event: the relationship it belongs to, its log position and what the filters
need. Reading a history (``history_page``) walks the index for one relationship and joins
the log by position for the payloads, so it never scans the whole log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from application.jsonable import jsonable
from application.schema import EVENTS_TABLE, Migration
from domain.base import AttributedEvent
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.queries import ReadConnection, decode_cursor, encode_cursor

MIGRATION = Migration(
    "0006_history_index",
    "index of every relationship's history across its aggregates",
    [
        """
        CREATE TABLE aggregate_owner (
            aggregate_id uuid PRIMARY KEY,
            relationship_id uuid NOT NULL
        )
        """,
        """
        CREATE TABLE history_index (
            relationship_id uuid NOT NULL,
            position bigint NOT NULL,
            aggregate_id uuid NOT NULL,
            aggregate_type text NOT NULL,
            version bigint NOT NULL,
            event_name text NOT NULL,
            actor text NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            PRIMARY KEY (relationship_id, position)
        )
        """,
        "CREATE INDEX history_index_recorded_idx "
        "ON history_index (relationship_id, recorded_at, position)",
        "CREATE INDEX history_index_occurred_idx "
        "ON history_index (relationship_id, occurred_at, position)",
        "CREATE INDEX history_index_event_idx "
        "ON history_index (relationship_id, event_name, position)",
        "CREATE INDEX history_index_actor_idx ON history_index (relationship_id, actor, position)",
    ],
)

#: The relationship an aggregate belongs to, from the aggregate's first event.
Owner = Callable[[Any], UUID]

OWNERS: Mapping[str, Owner] = {
    "Relationship": lambda registered: registered.originator_id,
    "Shipment": lambda booked: booked.customer_id,
    "Opportunity": lambda identified: identified.relationship_id,
    "ServiceCase": lambda opened: opened.relationship_id,
    "CompetitorProfile": lambda started: started.relationship_id,
}

#: Fields every event carries that a history entry shows as its own columns.
METADATA = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor",
        "command_id",
        "correlation_id",
        "causation_id",
        "occurred_at",
    }
)


def aggregate_type_of(topic: str) -> str:
    """``Shipment.CustodyHandedOver`` -> ``Shipment``."""
    return topic.partition(".")[0]


class HistoryProjection(BatchProjection):
    name = "history"
    migration = MIGRATION
    tables = ("history_index", "aggregate_owner")

    def __init__(self, owners: Mapping[str, Owner] = OWNERS) -> None:
        self.owners = owners

    def handles(self, topic: str) -> bool:
        return aggregate_type_of(topic) in self.owners

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        owner_of: dict[UUID, UUID] = {}
        new_owners: list[tuple[UUID, UUID]] = []
        for item in events:
            e = item.event
            if e.originator_version == 1:
                owner = self.owners[aggregate_type_of(get_topic(type(e)))](e)
                owner_of[e.originator_id] = owner
                new_owners.append((e.originator_id, owner))
        earlier = list({item.event.originator_id for item in events} - owner_of.keys())
        if earlier:
            owner_of.update(
                conn.execute(
                    "SELECT aggregate_id, relationship_id FROM aggregate_owner "
                    "WHERE aggregate_id = ANY(%s)",
                    (earlier,),
                ).fetchall()
            )
        with conn.cursor() as cur:
            if new_owners:
                cur.executemany(
                    "INSERT INTO aggregate_owner (aggregate_id, relationship_id) VALUES (%s, %s)",
                    new_owners,
                )
            with cur.copy(
                "COPY history_index (relationship_id, position, aggregate_id, aggregate_type, "
                "version, event_name, actor, occurred_at, recorded_at) FROM STDIN"
            ) as copy:
                for item in events:
                    e = item.event
                    belongs_to = owner_of.get(e.originator_id)
                    if belongs_to is None or not isinstance(e, AttributedEvent):
                        continue  # an aggregate whose first event is older than its owner rule
                    topic = get_topic(type(e))
                    copy.write_row(
                        (
                            belongs_to,
                            item.position,
                            e.originator_id,
                            aggregate_type_of(topic),
                            e.originator_version,
                            topic,
                            e.actor,
                            e.occurred_at,
                            item.recorded_at,
                        )
                    )


# --- reading a history ---------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFilter:
    """Which events of a history: a time range ``[since, until)`` on the recording time or
    the business time, some event names, one actor."""

    since: datetime | None = None
    until: datetime | None = None
    time: Literal["recorded", "occurred"] = "recorded"
    event_names: Sequence[str] = ()
    actor: str | None = None


def relationship_known(conn: ReadConnection, relationship_id: UUID) -> bool:
    row = conn.execute(
        "SELECT 1 FROM aggregate_owner WHERE aggregate_id = %s AND relationship_id = %s",
        (relationship_id, relationship_id),
    ).fetchone()
    return row is not None


def history_page(
    conn: ReadConnection,
    mapper: Mapper[Any],
    relationship_id: UUID,
    where: HistoryFilter,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the relationship's history in log order, and the cursor of the next."""
    clauses = ["h.relationship_id = %s"]
    params: list[Any] = [relationship_id]
    if cursor is not None:
        clauses.append("h.position > %s")
        params.append(decode_cursor(cursor))
    column = "h.recorded_at" if where.time == "recorded" else "h.occurred_at"
    if where.since is not None:
        clauses.append(f"{column} >= %s")
        params.append(where.since)
    if where.until is not None:
        clauses.append(f"{column} < %s")
        params.append(where.until)
    if where.event_names:
        clauses.append("h.event_name = ANY(%s)")
        params.append(list(where.event_names))
    if where.actor is not None:
        clauses.append("h.actor = %s")
        params.append(where.actor)
    params.append(limit + 1)
    rows = conn.execute(
        "SELECT h.position, h.aggregate_id, h.aggregate_type, h.version, h.recorded_at, "
        f"e.topic, e.state FROM history_index h JOIN {EVENTS_TABLE} e "
        f"ON e.notification_id = h.position WHERE {' AND '.join(clauses)} "
        "ORDER BY h.position LIMIT %s",
        params,
    ).fetchall()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(int(rows[-1]["position"]))
    return [history_entry(mapper, row) for row in rows], next_cursor


def history_entry(mapper: Mapper[Any], row: Mapping[str, Any]) -> dict[str, Any]:
    event: Any = mapper.to_domain_event(
        StoredEvent(row["aggregate_id"], row["version"], row["topic"], bytes(row["state"]))
    )
    return {
        "position": row["position"],
        "aggregate_id": row["aggregate_id"],
        "aggregate_type": row["aggregate_type"],
        "version": row["version"],
        "event_name": row["topic"],
        "occurred_at": event.occurred_at,
        "recorded_at": row["recorded_at"],
        "actor": event.actor,
        "command_id": event.command_id,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "data": {
            name: jsonable(value) for name, value in vars(event).items() if name not in METADATA
        },
    }
