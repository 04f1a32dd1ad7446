"""Where every read model stands: its position, its lag behind the log, its last error.

Read by ``/ready``, ``/metrics`` (at scrape time) and ``fullchain status``. A worker that
fails a read model's batch records the failure in ``read_model_errors`` in the same
transaction that goes on with the other read models (``projections.engine``), so any
process can show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from application.metrics import ReadModelState, Snapshot
from application.store.schema import EVENTS_TABLE, TRACKING_TABLE, Migration

ERRORS_TABLE = "read_model_errors"

MIGRATION = Migration(
    "0037_read_model_errors",
    "the last failure of each read model, for operators",
    [
        f"""
        CREATE TABLE {ERRORS_TABLE} (
            read_model text PRIMARY KEY,
            failed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            from_position bigint NOT NULL,
            to_position bigint NOT NULL,
            message text NOT NULL
        )
        """
    ],
)

#: The longest error message kept.
MAX_MESSAGE = 2000


def record_error(
    conn: psycopg.Connection[Any], read_model: str, after: int, last: int, error: BaseException
) -> None:
    """Keep ``error`` as the read model's last failure (in the caller's transaction)."""
    message = f"{type(error).__name__}: {error}"[:MAX_MESSAGE]
    conn.execute(
        f"""
        INSERT INTO {ERRORS_TABLE} (read_model, from_position, to_position, message)
        VALUES (%s, %s, %s, %s)
        ON CONFLICT (read_model) DO UPDATE SET failed_at = clock_timestamp(),
            from_position = EXCLUDED.from_position, to_position = EXCLUDED.to_position,
            message = EXCLUDED.message
        """,
        (read_model, after + 1, last, message),
    )


def snapshot(conn: psycopg.Connection[Any], read_models: Sequence[str]) -> Snapshot:
    """The log's head and every read model's position, lag and last error, in one query."""
    rows = conn.execute(
        f"""
        WITH head AS (
            SELECT notification_id AS head, recorded_at AS head_at
            FROM {EVENTS_TABLE} ORDER BY notification_id DESC LIMIT 1
        ), models AS (
            SELECT name, coalesce(t.notification_id, 0) AS position
            FROM unnest(%s::text[]) AS name
            LEFT JOIN {TRACKING_TABLE} t ON t.application_name = name
        )
        SELECT m.name, m.position, coalesce(h.head, 0) AS head,
               CASE WHEN coalesce(h.head, 0) <= m.position THEN 0.0
                    ELSE extract(epoch FROM h.head_at - coalesce(
                        (SELECT e.recorded_at FROM {EVENTS_TABLE} e
                         WHERE e.notification_id = m.position),
                        (SELECT e.recorded_at FROM {EVENTS_TABLE} e
                         ORDER BY e.notification_id LIMIT 1)))::float8
               END AS lag_seconds,
               r.message, r.failed_at
        FROM models m LEFT JOIN head h ON true
        LEFT JOIN {ERRORS_TABLE} r ON r.read_model = m.name
        ORDER BY m.name
        """,
        (list(read_models),),
    ).fetchall()
    head = 0
    states = []
    for row in rows:
        values = list(row.values()) if isinstance(row, dict) else list(row)
        name, position, head, lag_seconds, message, failed_at = values
        states.append(
            ReadModelState(
                name=str(name),
                position=int(position),
                lag_events=max(int(head) - int(position), 0),
                lag_seconds=max(float(lag_seconds or 0.0), 0.0),
                last_error=message,
                last_error_at=None if failed_at is None else failed_at.isoformat(),
            )
        )
    if not rows:
        row = conn.execute(
            f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"
        ).fetchone()
        head = (
            0 if row is None else int(next(iter(row.values())) if isinstance(row, dict) else row[0])
        )
    return Snapshot(head=int(head), read_models=states)
