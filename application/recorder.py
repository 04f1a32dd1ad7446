"""The library's PostgreSQL recorder, appending in one round trip, plus writes that must
commit with the events.

Appending: the library's statements (lock the events table so positions commit in
order, notify listeners, insert) run inside ``fullchain_append``, one function call on an
autocommit connection: one round trip instead of a pipelined transaction of seven
statements, and no pipeline (whose buffers can deadlock on very large appends).

Side effects: some facts are needed synchronously and must never disagree with the log
(an idempotency key and the response it stands for, the tokens that may act). They are
written by the append's own transaction, after the events, so either both are recorded
or neither is. Callers pass them to ``Application.save(..., side_effects=[...])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry

from application.schema import EVENTS_TABLE, Migration

#: One statement and its parameters.
SideEffect = tuple[str, Sequence[Any] | dict[str, Any]]

MIGRATION = Migration(
    "0009_append_function",
    "append events in one call: lock, notify, insert",
    [
        f"""
        CREATE FUNCTION fullchain_append(events stored_event_uuid[]) RETURNS SETOF bigint
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM set_config('lock_timeout', '10s', true);
            -- Positions must commit in the order they are issued, so readers that follow
            -- the log never pass over a position a slower transaction fills in later.
            LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE;
            NOTIFY {EVENTS_TABLE};
            RETURN QUERY
                INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state)
                SELECT e.originator_id, e.originator_version, e.topic, e.state
                FROM unnest(events) AS e
                RETURNING notification_id;
        END
        $$
        """,
    ],
)


class FullchainRecorder(PostgresApplicationRecorder):
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        rows = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        side_effects: Sequence[SideEffect] = kwargs.get("side_effects", ())
        with self.datastore.get_connection() as conn:
            if not side_effects:
                ids = conn.execute(
                    "SELECT fullchain_append AS id FROM fullchain_append(%s)", (rows,)
                ).fetchall()
                return [int(r["id"]) for r in ids]
            with conn.transaction():
                ids = conn.execute(
                    "SELECT fullchain_append AS id FROM fullchain_append(%s)", (rows,)
                ).fetchall()
                for statement, params in side_effects:
                    conn.execute(statement, params)  # type: ignore[arg-type]
            return [int(r["id"]) for r in ids]
