"""The history tables: which relationship each aggregate belongs to, and one row per event
of a relationship's history."""

from __future__ import annotations

from application.store.schema import Migration

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
