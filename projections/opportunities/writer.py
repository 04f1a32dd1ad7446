"""The opportunities writer: one row per opportunity — its stage, status, expected and
weighted value, the competitors involved and who won — as the ``Opportunity`` aggregate says
after each batch. Its table is created by the migration of both sales read models
(``projections.offerings.migration``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Mapper

from domain.opportunity import Opportunity
from projections.aggregate_rows import AggregatesOfBatch, write_rows
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.offerings.migration import MIGRATION

COLUMNS = (
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
_CHANGED = tuple(c for c in COLUMNS if c not in _IDENTIFIED_ONLY)


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
            created_columns=COLUMNS,
            changed_columns=_CHANGED,
        )
