"""The sales views: the open pipeline per branch and stage, and our record against each
competitor."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.competitor import WinLossRecord
from domain.opportunity import STAGES
from projections.decisions.scope import Scope
from projections.freshness import ReadConnection
from projections.opportunities.queries import win_loss_counts


def pipeline(conn: ReadConnection, scope: Scope) -> list[dict[str, Any]]:
    """Open opportunities per branch, stage and currency: how many, their expected value and
    their weighted value (the potential value they add)."""
    return conn.execute(
        f"""
        SELECT a.branch, o.stage, o.currency, count(*) AS opportunities,
               sum(o.expected_value) AS expected_value, sum(o.weighted_value) AS weighted_value
        FROM opportunity o JOIN account_status a ON a.relationship_id = o.relationship_id
        WHERE o.status = 'open' AND {scope.sql()}
        GROUP BY a.branch, o.stage, o.currency
        ORDER BY a.branch, array_position(%(stages)s::text[], o.stage), o.currency
        """,
        scope.params(stages=[s.value for s in STAGES]),
    ).fetchall()


# --- competitors ----------------------------------------------------------------------------


def competitor_records(
    conn: ReadConnection, scope: Scope, *, since: date | None = None
) -> list[dict[str, Any]]:
    """Our record against each competitor over the opportunities it competed in (identified
    on or after the day ``since``, a day in UTC whatever the session's time zone), as
    ``domain.competitor.win_loss_against`` counts it."""
    rows = conn.execute(
        f"""
        SELECT c.competitor_id, comp.name, {win_loss_counts("c.competitor_id")}
        FROM opportunity o
        CROSS JOIN LATERAL unnest(o.competitor_ids) AS c(competitor_id)
        JOIN account_status a ON a.relationship_id = o.relationship_id
        LEFT JOIN account_status comp ON comp.relationship_id = c.competitor_id
        WHERE {scope.sql()} AND (
            %(since)s::date IS NULL
            OR o.identified_at >= %(since)s::date::timestamp AT TIME ZONE 'UTC'
        )
        GROUP BY c.competitor_id, comp.name
        """,
        scope.params(since=since),
    ).fetchall()
    records = []
    for r in rows:
        record = WinLossRecord(
            r["competitor_id"], r["competing"], r["won_against"], r["lost_to"], r["lost_to_others"]
        )
        records.append({**r, "head_to_head_win_rate": record.head_to_head_win_rate})
    records.sort(
        key=lambda r: (-(r["won_against"] + r["lost_to"]), r["name"] or "", str(r["competitor_id"]))
    )
    return records
