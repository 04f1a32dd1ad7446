"""Opportunities: the sales pipeline, one row per opportunity — its stage, status, expected
and weighted value, the competitors involved and who won — as the ``Opportunity`` aggregate
says after each batch (its table is created with the offerings', ``projections.offerings``).

A list joins the relationship's name and branch from account status (so a relationship that
moves to another branch takes its pipeline along) and the offering's label. Our win/loss
record against a competitor is counted over the opportunities it competed in, by the rules
of ``domain.competitor.win_loss_against``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper

from domain.competitor import WinLossRecord
from domain.opportunity import Opportunity
from projections.aggregate_rows import AggregatesOfBatch, page, write_rows
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.offerings import MIGRATION
from projections.queries import ReadConnection, decode_cursor

#: A read joins these read models; it waits for all of them to reach its min_position.
OPPORTUNITY_READ_MODELS = ("opportunities", "account_status", "offerings")

_CREATED = (
    "opportunity_id",
    "relationship_id",
    "title",
    "offering_id",
    "stage",
    "status",
    "expected_value",
    "currency",
    "probability",
    "weighted_value",
    "competitor_ids",
    "lost_to",
    "loss_reason",
    "stage_entered_at",
    "identified_at",
    "identified_by",
    "decided_at",
    "evaluation_rating",
    "identified_position",
    "version",
    "position",
    "updated_at",
)
_IDENTIFIED_ONLY = (
    "opportunity_id",
    "relationship_id",
    "identified_at",
    "identified_by",
    "identified_position",
)
_CHANGED = tuple(c for c in _CREATED if c not in _IDENTIFIED_ONLY)


def row_of(opportunity: Opportunity) -> dict[str, Any]:
    win, loss = opportunity.win, opportunity.loss
    return {
        "opportunity_id": opportunity.id,
        "relationship_id": opportunity.relationship_id,
        "title": opportunity.title,
        "offering_id": opportunity.offering_id,
        "stage": opportunity.stage.value,
        "status": opportunity.status.value,
        "expected_value": opportunity.expected_value,
        "currency": opportunity.currency,
        "probability": opportunity.probability,
        "weighted_value": opportunity.weighted_value,
        "competitor_ids": list(opportunity.competitor_ids),
        "lost_to": loss.competitor_id if loss else None,
        "loss_reason": loss.reason.value if loss else None,
        "stage_entered_at": opportunity.stage_entered_at,
        "identified_at": opportunity.identified_at,
        "identified_by": opportunity.identified_by,
        "decided_at": win.won_at if win else loss.lost_at if loss else None,
        "evaluation_rating": opportunity.evaluation.rating if opportunity.evaluation else None,
        "version": opportunity.version,
    }


class OpportunitiesProjection(BatchProjection):
    name = "opportunities"
    migration = MIGRATION
    tables = ("opportunity",)

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.opportunities = AggregatesOfBatch(mapper, Opportunity)

    def handles(self, topic: str) -> bool:
        return topic.startswith("Opportunity.")

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        identified = {
            item.event.originator_id: item.position
            for item in events
            if item.event.originator_version == 1
        }
        last = {item.event.originator_id: item for item in events}
        created, changed = [], []
        for oid, opportunity in self.opportunities.apply(conn, events).items():
            row = row_of(opportunity) | {
                "position": last[oid].position,
                "updated_at": last[oid].recorded_at,
            }
            if oid in identified:
                created.append(row | {"identified_position": identified[oid]})
            else:
                changed.append(row)
        write_rows(
            conn,
            "opportunity",
            "opportunity_id",
            created,
            changed,
            created_columns=_CREATED,
            changed_columns=_CHANGED,
        )


# --- reads -----------------------------------------------------------------------------------


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
    f"SELECT {', '.join('o.' + c for c in _CREATED)}, a.name AS relationship_name, "
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


def win_loss_record(conn: ReadConnection, competitor_id: UUID) -> WinLossRecord:
    """Our record against a competitor over the opportunities it competed in."""
    row = conn.execute(
        """
        SELECT count(*) FILTER (WHERE status = 'open') AS competing,
               count(*) FILTER (WHERE status = 'won') AS won_against,
               count(*) FILTER (WHERE status = 'lost' AND lost_to = %(c)s) AS lost_to,
               count(*) FILTER (WHERE status = 'lost' AND lost_to IS DISTINCT FROM %(c)s)
                   AS lost_to_others
        FROM opportunity WHERE competitor_ids @> ARRAY[%(c)s]::uuid[]
        """,
        {"c": competitor_id},
    ).fetchone()
    assert row is not None
    return WinLossRecord(competitor_id, **{k: int(v) for k, v in row.items()})
