"""Reading a customer's history: the index walked for one relationship, the log joined by
position for the payloads, each event as a readable entry."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from psycopg.rows import dict_row

from application.jsonable import jsonable
from application.store.database import Database
from application.store.schema import EVENTS_TABLE
from projections.freshness import ReadConnection, decode_cursor, page

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


@dataclass(frozen=True)
class HistoryFilter:
    """Which events of a history: a time range ``[since, until)`` on the recording time or
    the business time, some event names, one actor."""

    since: datetime | None = None
    until: datetime | None = None
    time: Literal["recorded", "occurred"] = "recorded"
    event_names: Sequence[str] = ()
    actor: str | None = None


def history_length(conn: ReadConnection, relationship_id: UUID) -> int:
    """How many events the relationship's history holds."""
    row = conn.execute(
        "SELECT count(*) AS n FROM history_index WHERE relationship_id = %s", (relationship_id,)
    ).fetchone()
    return int(row["n"]) if row else 0


#: A row if the history knows the relationship (it owns itself once registered).
_KNOWN = "SELECT 1 FROM aggregate_owner WHERE aggregate_id = %s AND relationship_id = %s"


def relationship_known(conn: ReadConnection, relationship_id: UUID) -> bool:
    row = conn.execute(_KNOWN, (relationship_id, relationship_id)).fetchone()
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
    rows, next_cursor = history_rows(conn, relationship_id, where, limit=limit, cursor=cursor)
    return [history_entry(mapper, row) for row in rows], next_cursor


def history_query(
    relationship_id: UUID,
    where: HistoryFilter,
    *,
    limit: int,
    cursor: str | None,
    positions_only: bool = False,
) -> tuple[str, list[Any]]:
    """The query of a page of the relationship's history (one more row than ``limit``:
    whether more follow), and its parameters. ``positions_only``: the entries' positions
    alone, from the index (``history_rows_at`` reads their rows)."""
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
    source = "history_index h" if positions_only else _ROWS
    selected = "h.position" if positions_only else _COLUMNS
    query = (
        f"SELECT {selected} FROM {source} WHERE {' AND '.join(clauses)} "
        "ORDER BY h.position LIMIT %s"
    )
    return query, params


def page_positions(
    conn: ReadConnection,
    relationship_id: UUID,
    where: HistoryFilter,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[bool, list[dict[str, Any]]]:
    """Whether the relationship is known, and the positions of a page of its history (one
    more than ``limit``: whether more follow), as rows; one statement, one round trip
    (a pipeline of the two queries took twice the client's CPU)."""
    query, params = history_query(
        relationship_id, where, limit=limit, cursor=cursor, positions_only=True
    )
    row = conn.execute(
        f"SELECT EXISTS ({_KNOWN}) AS known, ARRAY({query}) AS positions",
        [relationship_id, relationship_id, *params],
    ).fetchone()
    assert row is not None
    return bool(row["known"]), [{"position": p} for p in row["positions"]]


_COLUMNS = (
    "h.position, h.aggregate_id, h.aggregate_type, h.version, h.recorded_at, e.topic, e.state"
)
_ROWS = f"history_index h JOIN {EVENTS_TABLE} e ON e.notification_id = h.position"


def history_rows_at(
    conn: ReadConnection, relationship_id: UUID, positions: Sequence[int]
) -> list[dict[str, Any]]:
    """The stored rows of these entries of the relationship's history, in log order."""
    return conn.execute(
        f"SELECT {_COLUMNS} FROM {_ROWS} WHERE h.relationship_id = %s "
        "AND h.position = ANY(%s) ORDER BY h.position",
        (relationship_id, list(positions)),
    ).fetchall()


def history_rows(
    conn: ReadConnection,
    relationship_id: UUID,
    where: HistoryFilter,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """The stored rows of a page of the relationship's history, and the next cursor."""
    query, params = history_query(relationship_id, where, limit=limit, cursor=cursor)
    return page(conn.execute(query, params).fetchall(), limit, "position")


def history_entry(mapper: Mapper[Any], row: Mapping[str, Any]) -> dict[str, Any]:
    event: Any = mapper.to_domain_event(
        StoredEvent(row["aggregate_id"], row["version"], row["topic"], bytes(row["state"]))
    )
    return readable_entry(
        event,
        position=row["position"],
        aggregate_id=row["aggregate_id"],
        aggregate_type=row["aggregate_type"],
        version=row["version"],
        topic=row["topic"],
        recorded_at=row["recorded_at"],
    )


def readable_entry(
    event: Any,
    *,
    position: int,
    aggregate_id: UUID,
    aggregate_type: str,
    version: int,
    topic: str,
    recorded_at: datetime,
) -> dict[str, Any]:
    """A history entry: where the decoded ``event`` stands in the log, who recorded it and
    when, and its data as plain JSON."""
    return {
        "position": position,
        "aggregate_id": aggregate_id,
        "aggregate_type": aggregate_type,
        "version": version,
        "event_name": topic,
        "occurred_at": event.occurred_at,
        "recorded_at": recorded_at,
        "actor": event.actor,
        "command_id": event.command_id,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "data": event_data(event),
    }


def event_data(event: Any) -> dict[str, Any]:
    """An event's own fields (not its metadata) as plain JSON."""
    return {name: jsonable(value) for name, value in vars(event).items() if name not in METADATA}


def chained_history(
    database: Database, mapper: Mapper[Any], relationship_id: UUID, *, batch: int = 2000
) -> Iterator[tuple[dict[str, Any], Mapping[str, Any]]]:
    """The relationship's whole history in log order, each entry with its row of the log as
    chained (``topic``, ``state``, ``recorded_at``, ``prev_hash``, ``chain_hash``); read on
    a connection of its own, a batch at a time."""
    position = 0
    with database.connect() as conn:
        cursor = conn.cursor(row_factory=dict_row)
        while True:
            rows = cursor.execute(
                "SELECT h.position, h.aggregate_id, h.aggregate_type, h.version, h.recorded_at, "
                "e.topic, e.state, e.prev_hash, e.chain_hash FROM history_index h "
                f"JOIN {EVENTS_TABLE} e ON e.notification_id = h.position "
                "WHERE h.relationship_id = %s AND h.position > %s "
                "ORDER BY h.position LIMIT %s",
                (relationship_id, position, batch),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield history_entry(mapper, row), row
            position = int(rows[-1]["position"])
