"""The service-cases writer: one row per case — its kind, priority, owner, status and SLA
clocks — as the ``ServiceCase`` aggregate says after each batch.

Whether a clock is breached depends on when you ask: a case nobody answered breaches the
moment its due time passes, with no event. So each row keeps, per clock, the moment after
which it is breached — the due time while the clock runs, the due time it missed once it
was answered or resolved late (a breach stays a breach), none once it was met — and a read
compares those with the time of asking (``breached=true`` is one comparison per clock).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.persistence import Mapper

from domain.service_case import CaseStatus, ServiceCase
from projections.aggregate_rows import AggregatesOfBatch, write_rows
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.service_cases.migration import MIGRATION

COLUMNS = (
    "case_id",
    "relationship_id",
    "shipment_id",
    "incident_id",
    "kind",
    "priority",
    "status",
    "subject",
    "owner",
    "opened_at",
    "opened_by",
    "first_response_due",
    "first_responded_at",
    "first_response_breach_after",
    "resolution_due",
    "resolved_at",
    "resolution_breach_after",
    "escalations",
    "reopenings",
    "satisfaction",
    "closed_at",
    "opened_position",
    "version",
    "position",
    "updated_at",
)
_OPENED_ONLY = (
    "case_id",
    "relationship_id",
    "shipment_id",
    "incident_id",
    "kind",
    "subject",
    "opened_at",
    "opened_by",
    "opened_position",
)
_CHANGED = tuple(c for c in COLUMNS if c not in _OPENED_ONLY)


def first_response_breach_after(case: ServiceCase) -> datetime | None:
    """After this moment the first-response clock is breached; None: it was met."""
    answered = case.first_responded_at
    if answered is not None and answered <= case.first_response_due:
        return None
    return case.first_response_due


def resolution_breach_after(case: ServiceCase) -> datetime | None:
    """After this moment the resolution clock is breached; None: it was met (so far)."""
    missed = [resolution.due for resolution in case.resolutions if resolution.breached]
    if missed:
        return min(missed)
    return case.resolution_due if case.status is CaseStatus.OPEN else None


def row_of(case: ServiceCase) -> dict[str, Any]:
    return {
        "case_id": case.id,
        "relationship_id": case.relationship_id,
        "shipment_id": case.shipment_id,
        "incident_id": case.incident_id,
        "kind": case.kind.value,
        "priority": case.priority.value,
        "status": case.status.value,
        "subject": case.subject,
        "owner": case.owner,
        "opened_at": case.opened_at,
        "opened_by": case.opened_by,
        "first_response_due": case.first_response_due,
        "first_responded_at": case.first_responded_at,
        "first_response_breach_after": first_response_breach_after(case),
        "resolution_due": case.resolution_due,
        "resolved_at": case.resolution.resolved_at if case.resolution else None,
        "resolution_breach_after": resolution_breach_after(case),
        "escalations": len(case.escalations),
        "reopenings": len(case.reopenings),
        "satisfaction": case.satisfaction.rating if case.satisfaction else None,
        "closed_at": case.closed_at,
        "version": case.version,
    }


class ServiceCasesProjection(BatchProjection):
    name = "service_cases"
    migration = MIGRATION
    tables = ("service_case",)

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.cases = AggregatesOfBatch(mapper, ServiceCase)

    def handles(self, topic: str) -> bool:
        return topic.startswith("ServiceCase.")

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        opened = {
            item.event.originator_id: item.position
            for item in events
            if item.event.originator_version == 1
        }
        last = {item.event.originator_id: item for item in events}
        created, changed = [], []
        for cid, case in self.cases.apply(conn, events).items():
            row = row_of(case) | {
                "position": last[cid].position,
                "updated_at": last[cid].recorded_at,
            }
            if cid in opened:
                created.append(row | {"opened_position": opened[cid]})
            else:
                changed.append(row)
        write_rows(
            conn,
            "service_case",
            "case_id",
            created,
            changed,
            created_columns=COLUMNS,
            changed_columns=_CHANGED,
        )
