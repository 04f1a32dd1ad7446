"""SLA compliance and satisfaction per branch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.decisions.scope import Scope
from projections.freshness import ReadConnection
from projections.service_cases.queries import (
    first_response_breached,
    resolution_breached,
    sla_breached,
)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def service_levels(
    conn: ReadConnection, scope: Scope, *, now: datetime, since: datetime
) -> list[dict[str, Any]]:
    """Per branch, over the service cases opened since ``since``: SLA compliance of the first
    response and of the resolution (met / (met + breached); clocks still running count in
    neither), cases with any clock breached, and the customers' satisfaction (the mean of
    the standing ratings, 1 to 5)."""
    rows = conn.execute(
        f"""
        SELECT a.branch, count(*) AS cases,
               count(*) FILTER (WHERE c.status = 'open') AS open_cases,
               count(*) FILTER (WHERE c.first_responded_at IS NOT NULL
                                AND c.first_response_breach_after IS NULL)
                   AS first_response_met,
               count(*) FILTER (WHERE {first_response_breached("%(now)s")})
                   AS first_response_breached,
               count(*) FILTER (WHERE c.status <> 'open' AND c.resolution_breach_after IS NULL)
                   AS resolution_met,
               count(*) FILTER (WHERE {resolution_breached("%(now)s")})
                   AS resolution_breached,
               count(*) FILTER (WHERE {sla_breached("%(now)s")}) AS breached_cases,
               count(c.satisfaction) AS rated,
               avg(c.satisfaction) AS satisfaction
        FROM service_case c JOIN account_status a ON a.relationship_id = c.relationship_id
        WHERE c.opened_at >= %(since)s AND {scope.sql()}
        GROUP BY a.branch ORDER BY a.branch
        """,
        scope.params(now=now, since=since),
    ).fetchall()
    return [
        {
            **r,
            "first_response_compliance": _share(
                r["first_response_met"], r["first_response_met"] + r["first_response_breached"]
            ),
            "resolution_compliance": _share(
                r["resolution_met"], r["resolution_met"] + r["resolution_breached"]
            ),
            "satisfaction": None if r["satisfaction"] is None else float(r["satisfaction"]),
        }
        for r in rows
    ]
