"""The global event feed: the log's entries after a position, in log order, each rendered
as a history entry is (``projections.history.queries.history_entry``) with the branch of
the relationship its aggregate belongs to.

Which relationship an aggregate belongs to, and that relationship's branch, come from read
models (``aggregate_owner`` of the history, ``account_status``). The feed runs only as far
as both have applied — its horizon — so an entry is never skipped for a branch because its
owner was not known yet: a page ends at the horizon and the next one goes on from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Mapper
from psycopg.rows import dict_row

from application.store.schema import EVENTS_TABLE, TRACKING_TABLE
from domain.ownership import aggregate_type_of
from projections.history.queries import history_entry

#: Fields of an event's data the feed never shows: a staff token's hash stays in the log.
WITHHELD = frozenset({"token_sha256"})

#: The read models the feed's horizon follows: owners, and the owners' branches.
OWNERSHIP_MODELS = ("history", "account_status")


@dataclass(frozen=True)
class FeedPage:
    entries: list[dict[str, Any]]
    #: The position to ask after for the next page (never behind ``after``).
    next_after: int


def horizon(conn: Any) -> int:
    """The last log position whose owner and branch are known (the read models' lowest)."""
    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(
        f"SELECT application_name, notification_id FROM {TRACKING_TABLE} "
        "WHERE application_name = ANY(%s)",
        (list(OWNERSHIP_MODELS),),
    ).fetchall()
    found = {str(r["application_name"]): int(r["notification_id"] or 0) for r in rows}
    return min(found.get(name, 0) for name in OWNERSHIP_MODELS)


def feed_page(
    conn: Any,
    mapper: Mapper[Any],
    *,
    after: int,
    limit: int,
    scope: str | None = None,
    types: Sequence[str] = (),
    until: int | None = None,
) -> FeedPage:
    """Up to ``limit`` entries after ``after`` that staff acting within ``scope`` (a
    branch; None: every branch) may see and whose topic (``Shipment.Delivered``) or
    aggregate type (``Shipment``) is one of ``types`` (empty: all). Entries left out —
    another branch's, an aggregate of no branch for a branch's staff, another type — are
    passed over: ``next_after`` moves beyond them. ``until``: the ``horizon`` the caller
    read already (read afresh without it)."""
    end = horizon(conn) if until is None else until
    if after >= end:
        return FeedPage([], after)
    clauses = ["e.notification_id > %s", "e.notification_id <= %s"]
    params: list[Any] = [after, end]
    if scope is not None:
        clauses.append("a.branch = %s")
        params.append(scope)
    if types:
        clauses.append("(e.topic = ANY(%s) OR split_part(e.topic, '.', 1) = ANY(%s))")
        params += [list(types), list(types)]
    params.append(limit)
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT e.notification_id AS position, e.originator_id AS aggregate_id, "
            "e.originator_version AS version, e.topic, e.state, e.recorded_at, "
            "o.relationship_id, a.branch "
            f"FROM {EVENTS_TABLE} e "
            "LEFT JOIN aggregate_owner o ON o.aggregate_id = e.originator_id "
            "LEFT JOIN account_status a ON a.relationship_id = o.relationship_id "
            f"WHERE {' AND '.join(clauses)} ORDER BY e.notification_id LIMIT %s",
            params,
        )
        .fetchall()
    )
    entries = [feed_entry(mapper, row) for row in rows]
    next_after = int(rows[-1]["position"]) if len(rows) == limit else end
    return FeedPage(entries, next_after)


def feed_entry(mapper: Mapper[Any], row: dict[str, Any]) -> dict[str, Any]:
    entry = history_entry(mapper, {**row, "aggregate_type": aggregate_type_of(row["topic"])})
    entry["data"] = {k: v for k, v in entry["data"].items() if k not in WITHHELD}
    entry["relationship_id"] = row["relationship_id"]
    entry["branch"] = row["branch"]
    return entry
