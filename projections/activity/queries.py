"""Reading activity back: a relationship's contacts with their history, its timeline of
interactions and care actions, the interactions of a team across relationships, and a
team's activity per person and ISO week. Plain SQL over the read model.

Timelines are newest first by business time (``occurred_at``), ties by log position; a
page's cursor names the log position of its last entry, as every list's cursor does, and
the next page starts after that entry in this order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from projections.freshness import ReadConnection, decode_cursor, page

ACTIVITY = "activity"

#: The company's time zone: ISO weeks are counted in it unless a read names another (the
#: product keeps no time zone per branch yet).
COMPANY_TIME_ZONE = "Asia/Shanghai"

_CONTACT_CURSOR = "c"
_ENTRY_CURSOR = "a"


# --- contacts ------------------------------------------------------------------------------


def relationship_known(conn: ReadConnection, relationship_id: UUID) -> bool:
    """Whether the read model holds the relationship."""
    row = conn.execute(
        "SELECT 1 FROM activity_relationship WHERE relationship_id = %s", (relationship_id,)
    ).fetchone()
    return row is not None


def list_contacts(
    conn: ReadConnection,
    relationship_id: UUID,
    *,
    include_removed: bool,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the relationship's contacts in the order they were added, each with its
    history of changes (oldest first), and the cursor of the next page."""
    clauses = ["c.relationship_id = %(rid)s"]
    params: dict[str, Any] = {"rid": relationship_id, "limit": limit + 1}
    if not include_removed:
        clauses.append("c.removed_position IS NULL")
    if cursor is not None:
        clauses.append("c.added_position > %(after)s")
        params["after"] = decode_cursor(cursor, _CONTACT_CURSOR)
    rows = conn.execute(
        "SELECT c.* FROM activity_contact c WHERE "
        + " AND ".join(clauses)
        + " ORDER BY c.added_position LIMIT %(limit)s",
        params,
    ).fetchall()
    rows, next_cursor = page(rows, limit, "added_position", _CONTACT_CURSOR)
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rows:
        for change in conn.execute(
            "SELECT added_position, position, change, actor, occurred_at, recorded_at, changes "
            "FROM activity_contact_change WHERE relationship_id = %s "
            "AND added_position = ANY(%s) ORDER BY position",
            (relationship_id, [r["added_position"] for r in rows]),
        ).fetchall():
            history[change.pop("added_position")].append(change)
    return [
        {**r, "removed": r["removed_position"] is not None, "history": history[r["added_position"]]}
        for r in rows
    ], next_cursor


# --- timelines -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryFilter:
    """Which interactions and care actions: business time in ``[since, until)``, a kind,
    channels of interactions and kinds of care (either matches), staff, a contact."""

    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    channels: tuple[str, ...] = ()
    care_kinds: tuple[str, ...] = ()
    staff_id: str | None = None
    contact_id: str | None = None


@dataclass(frozen=True)
class ActivityScope:
    """Whose activity on which relationships a reader sees: the relationships of
    ``branch`` (None: every branch), the entries of ``staff`` (None: anyone's)."""

    branch: str | None = None
    staff: frozenset[str] | None = None
    relationship_id: UUID | None = None


def _entry_clauses(where: EntryFilter, scope: ActivityScope, params: dict[str, Any]) -> list[str]:
    clauses: list[str] = []
    if scope.relationship_id is not None:
        clauses.append("e.relationship_id = %(rid)s")
        params["rid"] = scope.relationship_id
    if scope.branch is not None:
        clauses.append("r.branch = %(branch)s")
        params["branch"] = scope.branch
    if scope.staff is not None:
        clauses.append("e.staff = ANY(%(team)s)")
        params["team"] = sorted(scope.staff)
    if where.kind is not None:
        clauses.append("e.kind = %(kind)s")
        params["kind"] = where.kind
    if where.channels or where.care_kinds:
        clauses.append("(e.channel = ANY(%(channels)s) OR e.care_kind = ANY(%(care_kinds)s))")
        params["channels"] = list(where.channels)
        params["care_kinds"] = list(where.care_kinds)
    if where.since is not None:
        clauses.append("e.occurred_at >= %(since)s")
        params["since"] = where.since
    if where.until is not None:
        clauses.append("e.occurred_at < %(until)s")
        params["until"] = where.until
    if where.staff_id is not None:
        clauses.append("e.staff = %(staff_id)s")
        params["staff_id"] = where.staff_id
    if where.contact_id is not None:
        clauses.append("e.contact_id = %(contact_id)s")
        params["contact_id"] = where.contact_id
    return clauses


def list_entries(
    conn: ReadConnection,
    where: EntryFilter,
    scope: ActivityScope,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of interactions and care actions, newest first, each with the name of its
    contact (as it is now) and of its relationship, and the cursor of the next page."""
    params: dict[str, Any] = {"limit": limit + 1}
    clauses = _entry_clauses(where, scope, params)
    if cursor is not None:
        clauses.append(
            "(e.occurred_at, e.position) < "
            "(SELECT a.occurred_at, a.position FROM activity_entry a WHERE a.position = %(after)s)"
        )
        params["after"] = decode_cursor(cursor, _ENTRY_CURSOR)
    where_sql = " WHERE " + " AND ".join(clauses) if clauses else ""
    rows = conn.execute(
        "SELECT e.*, r.name AS relationship_name, s.name AS staff_name, ("
        "  SELECT c.name FROM activity_contact c WHERE c.relationship_id = e.relationship_id"
        "  AND c.contact_id = e.contact_id AND c.added_position < e.position"
        "  ORDER BY c.added_position DESC LIMIT 1"
        ") AS contact_name "
        "FROM activity_entry e JOIN activity_relationship r USING (relationship_id) "
        "LEFT JOIN staff_access s ON s.staff_id = e.staff"
        + where_sql
        + " ORDER BY e.occurred_at DESC, e.position DESC LIMIT %(limit)s",
        params,
    ).fetchall()
    return page(rows, limit, "position", _ENTRY_CURSOR)


# --- teams ---------------------------------------------------------------------------------


def office_team(conn: ReadConnection, staff_id: str, branch: str) -> frozenset[str]:
    """The field staff an office staff member (内勤) supervises, and themselves: the field
    reps of the relationships where they are the office rep on the account team, and the
    field staff of their branch."""
    rows = conn.execute(
        "SELECT field_rep AS staff_id FROM activity_relationship "
        "WHERE office_rep = %(me)s AND field_rep IS NOT NULL "
        "UNION SELECT staff_id FROM staff_access "
        "WHERE branch = %(branch)s AND 'field_staff' = ANY(roles) AND active",
        {"me": staff_id, "branch": branch},
    ).fetchall()
    return frozenset({staff_id, *(str(r["staff_id"]) for r in rows)})


# --- weeks ---------------------------------------------------------------------------------


def week_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[date, datetime, datetime]:
    """The Monday of the ISO week holding ``first``, and the moments the weeks from that
    one through the one holding ``last`` begin and end in ``zone``."""
    monday = first - timedelta(days=first.weekday())
    after = last - timedelta(days=last.weekday()) + timedelta(weeks=1)
    return (
        monday,
        datetime.combine(monday, time(0), zone),
        datetime.combine(after, time(0), zone),
    )


@dataclass
class _Week:
    staff_id: str
    staff_name: str | None
    week_start: date
    interactions_by_channel: dict[str, int] = field(default_factory=dict)
    care_actions: int = 0
    relationships: set[UUID] = field(default_factory=set)


def weekly_activity(
    conn: ReadConnection,
    scope: ActivityScope,
    *,
    first: date,
    last: date,
    zone_name: str,
    staff_id: str | None = None,
) -> list[dict[str, Any]]:
    """Per staff member and ISO week (in ``zone_name``), from the week holding ``first``
    through the one holding ``last``: interactions per channel, care actions, and how many
    distinct relationships they touched; in order of staff id and week."""
    zone = ZoneInfo(zone_name)
    _, start, end = week_bounds(first, last, zone)
    params: dict[str, Any] = {"zone": zone_name}
    clauses = _entry_clauses(EntryFilter(since=start, until=end, staff_id=staff_id), scope, params)
    rows = conn.execute(
        "SELECT e.staff, s.name AS staff_name, e.kind, e.channel, e.relationship_id, "
        "date_trunc('week', e.occurred_at AT TIME ZONE %(zone)s)::date AS week_start, "
        "count(*) AS n "
        "FROM activity_entry e JOIN activity_relationship r USING (relationship_id) "
        "LEFT JOIN staff_access s ON s.staff_id = e.staff WHERE "
        + " AND ".join(clauses)
        + " GROUP BY 1, 2, 3, 4, 5, 6",
        params,
    ).fetchall()
    weeks: dict[tuple[str, date], _Week] = {}
    for r in rows:
        key = (r["staff"], r["week_start"])
        week = weeks.setdefault(key, _Week(r["staff"], r["staff_name"], r["week_start"]))
        if r["kind"] == "interaction":
            by = week.interactions_by_channel
            by[r["channel"]] = by.get(r["channel"], 0) + int(r["n"])
        else:
            week.care_actions += int(r["n"])
        week.relationships.add(r["relationship_id"])
    result = []
    for key in sorted(weeks):
        w = weeks[key]
        year, number, _ = w.week_start.isocalendar()
        result.append(
            {
                "staff_id": w.staff_id,
                "staff_name": w.staff_name,
                "week": f"{year}-W{number:02d}",
                "week_start": w.week_start,
                "interactions_by_channel": dict(sorted(w.interactions_by_channel.items())),
                "interactions": sum(w.interactions_by_channel.values()),
                "care_actions": w.care_actions,
                "relationships_touched": len(w.relationships),
            }
        )
    return result
