"""Reading the follow-ups: a staff member's day — overdue, due today, upcoming — and pages
filtered by state, assignee, relationship and branch, with the relationship's name and
branch (from account status). Overdue is as at the time of asking: open, and its due time
has passed (``FollowUp.is_overdue``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from projections.follow_ups.writer import COLUMNS
from projections.freshness import ReadConnection, decode_cursor, page

#: A read joins account status for the relationship's name, branch and key account.
FOLLOW_UP_READ_MODELS = ("follow_ups", "account_status")


class ListedState(StrEnum):
    """The states a list filters by: ``overdue`` is open and past due at the time of
    asking."""

    OPEN = "open"
    OVERDUE = "overdue"
    DONE = "done"
    CANCELLED = "cancelled"


class Bucket(StrEnum):
    OVERDUE = "overdue"
    TODAY = "today"
    UPCOMING = "upcoming"


def overdue(now: str, follow_up: str = "f") -> str:
    """SQL: whether the ``follow_up`` row is overdue at ``now`` (an SQL expression), as
    ``FollowUp.is_overdue`` says."""
    return f"({follow_up}.state = 'open' AND {follow_up}.due_at < {now})"


_SELECT = (
    f"SELECT {', '.join('f.' + col for col in COLUMNS)}, "
    f"{overdue('%(now)s')} AS overdue, "
    "a.name AS relationship_name, a.branch, COALESCE(a.key_account, false) AS key_account "
    "FROM follow_up f LEFT JOIN account_status a ON a.relationship_id = f.relationship_id"
)


@dataclass(frozen=True)
class FollowUpFilter:
    state: ListedState | None = None
    assignee: str | None = None
    relationship_id: UUID | None = None
    #: The relationship's branch.
    branch: str | None = None


def get_follow_up(
    conn: ReadConnection, follow_up_id: UUID, *, now: datetime
) -> dict[str, Any] | None:
    return conn.execute(
        _SELECT + " WHERE f.follow_up_id = %(id)s", {"now": now, "id": follow_up_id}
    ).fetchone()


def list_follow_ups(
    conn: ReadConnection, where: FollowUpFilter, *, now: datetime, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of follow-ups in the order they were scheduled, overdue as at ``now``."""
    clauses: list[str] = []
    params: dict[str, Any] = {"now": now, "limit": limit + 1}
    if where.state is ListedState.OVERDUE:
        clauses.append(overdue("%(now)s"))
    elif where.state is not None:
        clauses.append("f.state = %(state)s")
        params["state"] = where.state.value
    for column, value in (
        ("f.assignee", where.assignee),
        ("f.relationship_id", where.relationship_id),
        ("a.branch", where.branch),
    ):
        if value is not None:
            name = column.partition(".")[2]
            clauses.append(f"{column} = %({name})s")
            params[name] = value
    if cursor is not None:
        clauses.append("f.scheduled_position > %(after)s")
        params["after"] = decode_cursor(cursor)
    sql = _SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
    rows = conn.execute(  # type: ignore[call-overload]
        sql + " ORDER BY f.scheduled_position LIMIT %(limit)s", params
    ).fetchall()
    return page(rows, limit, "scheduled_position")


def my_day(
    conn: ReadConnection,
    assignee: str,
    *,
    now: datetime,
    end_of_today: datetime,
    end_of_upcoming: datetime,
    branch: str | None,
    limit: int,
) -> dict[Bucket, tuple[int, list[dict[str, Any]]]]:
    """The assignee's open follow-ups by bucket — overdue (past due at ``now``), due today
    (by ``end_of_today``), upcoming (by ``end_of_upcoming``) —, each bucket's count and its
    first ``limit`` by due time; ``branch``: only relationships of that branch."""
    rows = conn.execute(
        f"""
        SELECT * FROM (
            SELECT b.*, row_number() OVER (PARTITION BY b.bucket ORDER BY b.due_at,
                   b.scheduled_position) AS n,
                   count(*) OVER (PARTITION BY b.bucket) AS total
            FROM (
                SELECT s.*, CASE WHEN s.due_at < %(now)s THEN 'overdue'
                                 WHEN s.due_at < %(today)s THEN 'today'
                                 ELSE 'upcoming' END AS bucket
                FROM ({_SELECT}) s
                WHERE s.assignee = %(assignee)s AND s.state = 'open'
                  AND s.due_at < %(upcoming)s
                  AND (%(branch)s::text IS NULL OR s.branch = %(branch)s::text)
            ) b
        ) ranked WHERE n <= %(limit)s ORDER BY due_at, scheduled_position
        """,
        {
            "now": now,
            "today": end_of_today,
            "upcoming": end_of_upcoming,
            "assignee": assignee,
            "branch": branch,
            "limit": limit,
        },
    ).fetchall()
    day: dict[Bucket, tuple[int, list[dict[str, Any]]]] = {b: (0, []) for b in Bucket}
    for row in rows:
        bucket = Bucket(row["bucket"])
        items = day[bucket][1]
        day[bucket] = (int(row["total"]), [*items, row])
    return day


def overdue_follow_ups_sql(now: str, relationship: str) -> str:
    """SQL: the number of overdue follow-ups of the relationship whose id is the SQL
    expression ``relationship``, at ``now``."""
    return (
        f"(SELECT count(*) FROM follow_up f WHERE f.relationship_id = {relationship} "
        f"AND {overdue(now)})"
    )
