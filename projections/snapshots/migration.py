"""The snapshot table, in the library's layout for its "snapshots" purpose."""

from __future__ import annotations

from application.store.schema import Migration
from application.store.snapshots import SNAPSHOTS_TABLE

MIGRATION = Migration(
    "0007_snapshots",
    "aggregate snapshots, in the library's layout for the 'snapshots' purpose",
    [
        # The library's PostgresAggregateRecorder reads this table (and would write it
        # through the composite type stored_event_uuid of 0001_event_store).
        f"""
        CREATE TABLE {SNAPSHOTS_TABLE} (
            originator_id uuid NOT NULL,
            originator_version bigint NOT NULL,
            topic text NOT NULL,
            state bytea NOT NULL,
            PRIMARY KEY (originator_id, originator_version)
        )
        """,
    ],
)
