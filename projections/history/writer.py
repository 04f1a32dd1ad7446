"""The history writer: an index of every event of a relationship and of everything that
belongs to it, in log order.

Which relationship an aggregate belongs to is told by its first event
(``domain.ownership``). An aggregate of a type without an owner (a service offering, a
staff member) is in no history.

``aggregate_owner`` maps each aggregate to its relationship; ``history_index`` holds one
row per event: the relationship it belongs to, its log position and what the filters
need. Reading a history (``queries.history_page``) walks the index for one relationship and joins
the log by position for the payloads, so it never scans the whole log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.base import AttributedEvent
from domain.ownership import OWNERS, Owner, aggregate_type_of
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.history.migration import MIGRATION


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
