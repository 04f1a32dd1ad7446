"""The offerings writer: the product catalogue as sales reads it, one row per offering, with
its lane, terms, status and the label sales would say ("Suzhou → Chicago, air, door to door,
5 days"), filterable by status, mode, origin, destination and service level.

The row is what the ``ServiceOffering`` aggregate says after each batch. The opportunities
(``projections.opportunities``) show each opportunity's offering by this table's label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Mapper

from domain.offering import ServiceOffering
from projections.aggregate_rows import AggregatesOfBatch, write_rows
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.offerings.migration import MIGRATION

COLUMNS = (
    "offering_id",
    "name",
    "description",
    "origin",
    "destination",
    "mode",
    "service_level",
    "transit_days",
    "label",
    "status",
    "launched_at",
    "launched_position",
    "version",
    "position",
    "updated_at",
)
#: What may change after the launch: never the lane.
_LAUNCH_ONLY = ("offering_id", "origin", "destination", "mode", "launched_at", "launched_position")
_CHANGED = tuple(c for c in COLUMNS if c not in _LAUNCH_ONLY)


class OfferingsProjection(BatchProjection):
    name = "offerings"
    migration = MIGRATION
    tables = ("offering",)

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.offerings = AggregatesOfBatch(mapper, ServiceOffering)

    def handles(self, topic: str) -> bool:
        return topic.startswith("ServiceOffering.")

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        launched = {
            item.event.originator_id: item for item in events if item.event.originator_version == 1
        }
        last = {item.event.originator_id: item for item in events}
        created, changed = [], []
        for oid, offering in self.offerings.apply(conn, events).items():
            row = {
                "offering_id": oid,
                "name": offering.name,
                "description": offering.description,
                "service_level": offering.service_level.value,
                "transit_days": offering.transit_days,
                "label": offering.label,
                "status": offering.status.value,
                "version": offering.version,
                "position": last[oid].position,
                "updated_at": last[oid].recorded_at,
            }
            if oid in launched:
                lane = offering.lane
                row |= {
                    "origin": lane.origin,
                    "destination": lane.destination,
                    "mode": lane.mode.value,
                    "launched_at": launched[oid].event.occurred_at,
                    "launched_position": launched[oid].position,
                }
                created.append(row)
            else:
                changed.append(row)
        write_rows(
            conn,
            "offering",
            "offering_id",
            created,
            changed,
            created_columns=COLUMNS,
            changed_columns=_CHANGED,
        )
