"""Reading the sales pipeline: one opportunity, or a page filtered by relationship, stage,
status, branch, offering or competitor, each with the relationship's name and branch (from
account status, so a relationship that moves to another branch takes its pipeline along)
and the offering's label; and our win/loss record against a competitor, counted over the
opportunities it competed in by the rules of ``domain.competitor.win_loss_against``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.competitor import WinLossRecord
from projections.freshness import ReadConnection, decode_cursor, page
from projections.opportunities.writer import COLUMNS

#: A read joins these read models; it waits for all of them to reach its min_position.
OPPORTUNITY_READ_MODELS = ("opportunities", "account_status", "offerings")


@dataclass(frozen=True)
class OpportunityFilter:
    relationship_id: UUID | None = None
    stage: str | None = None
    status: str | None = None
    #: The relationship's branch.
    branch: str | None = None
    offering_id: UUID | None = None
    #: A competitor involved.
    competitor_id: UUID | None = None


_SELECT = (
    f"SELECT {', '.join('o.' + c for c in COLUMNS)}, a.name AS relationship_name, "
    "a.branch, f.label AS offering_label FROM opportunity o "
    "LEFT JOIN account_status a ON a.relationship_id = o.relationship_id "
    "LEFT JOIN offering f ON f.offering_id = o.offering_id"
)


def get_opportunity(conn: ReadConnection, opportunity_id: UUID) -> dict[str, Any] | None:
    return conn.execute(_SELECT + " WHERE o.opportunity_id = %s", (opportunity_id,)).fetchone()


def list_opportunities(
    conn: ReadConnection, where: OpportunityFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of opportunities in the order they were identified, and the next cursor."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("o.relationship_id", where.relationship_id),
        ("o.stage", where.stage),
        ("o.status", where.status),
        ("a.branch", where.branch),
        ("o.offering_id", where.offering_id),
    ):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if where.competitor_id is not None:
        clauses.append("o.competitor_ids @> ARRAY[%s]::uuid[]")
        params.append(where.competitor_id)
    if cursor is not None:
        clauses.append("o.identified_position > %s")
        params.append(decode_cursor(cursor))
    sql = _SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
    rows = conn.execute(  # type: ignore[call-overload]
        sql + " ORDER BY o.identified_position LIMIT %s", [*params, limit + 1]
    ).fetchall()
    return page(rows, limit, "identified_position")


def win_loss_counts(competitor: str, opportunity: str = "o") -> str:
    """SQL: our record against ``competitor`` (an SQL expression) over the ``opportunity``
    rows it competed in, as ``domain.competitor.win_loss_against`` counts it: open, won,
    lost to it, lost otherwise (to another competitor or to nobody). Four aggregates, named
    as the fields of ``WinLossRecord``."""
    o, c = opportunity, competitor
    return f"""
        count(*) FILTER (WHERE {o}.status = 'open') AS competing,
        count(*) FILTER (WHERE {o}.status = 'won') AS won_against,
        count(*) FILTER (WHERE {o}.status = 'lost' AND {o}.lost_to = {c}) AS lost_to,
        count(*) FILTER (WHERE {o}.status = 'lost' AND {o}.lost_to IS DISTINCT FROM {c})
            AS lost_to_others"""


def win_loss_record(conn: ReadConnection, competitor_id: UUID) -> WinLossRecord:
    """Our record against a competitor over the opportunities it competed in."""
    row = conn.execute(
        f"SELECT {win_loss_counts('%(c)s')} FROM opportunity o "
        "WHERE o.competitor_ids @> ARRAY[%(c)s]::uuid[]",
        {"c": competitor_id},
    ).fetchone()
    assert row is not None
    return WinLossRecord(competitor_id, **{k: int(v) for k, v in row.items()})
