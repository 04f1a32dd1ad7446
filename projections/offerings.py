"""Service offerings: the product catalogue as sales reads it, one row per offering, with
its lane, terms, status and the label sales would say ("Suzhou → Chicago, air, door to door,
5 days"), filterable by status, mode, origin, destination and service level.

The row is what the ``ServiceOffering`` aggregate says after each batch. The migration also
creates the opportunities read model (``projections.opportunities``), which shows each
opportunity's offering by this table's label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper

from application.schema import Migration
from domain.offering import ServiceOffering
from projections.aggregate_rows import AggregatesOfBatch, page, write_rows
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.queries import ReadConnection, decode_cursor

MIGRATION = Migration(
    "0011_sales_read_models",
    "read models of service offerings and opportunities",
    [
        """
        CREATE TABLE offering (
            offering_id uuid PRIMARY KEY,
            name text NOT NULL,
            description text,
            origin text NOT NULL,
            destination text NOT NULL,
            mode text NOT NULL,
            service_level text NOT NULL,
            transit_days integer NOT NULL,
            label text NOT NULL,
            status text NOT NULL,
            launched_at timestamptz NOT NULL,
            launched_position bigint NOT NULL UNIQUE,
            version bigint NOT NULL,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX offering_status_idx ON offering (status, launched_position)",
        """
        CREATE TABLE opportunity (
            opportunity_id uuid PRIMARY KEY,
            relationship_id uuid NOT NULL,
            title text NOT NULL,
            offering_id uuid NOT NULL,
            stage text NOT NULL,
            status text NOT NULL,
            expected_value numeric NOT NULL,
            currency text NOT NULL,
            probability numeric NOT NULL,
            weighted_value numeric NOT NULL,
            competitor_ids uuid[] NOT NULL,
            lost_to uuid,
            loss_reason text,
            stage_entered_at timestamptz NOT NULL,
            identified_at timestamptz NOT NULL,
            identified_by text NOT NULL,
            decided_at timestamptz,
            evaluation_rating integer,
            identified_position bigint NOT NULL UNIQUE,
            version bigint NOT NULL,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX opportunity_relationship_idx ON opportunity (relationship_id)",
        "CREATE INDEX opportunity_status_idx ON opportunity (status, identified_position)",
        "CREATE INDEX opportunity_competitors_idx ON opportunity USING gin (competitor_ids)",
    ],
)

_CREATED = (
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
_CHANGED = tuple(c for c in _CREATED if c not in _LAUNCH_ONLY)


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
            created_columns=_CREATED,
            changed_columns=_CHANGED,
        )


# --- reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferingFilter:
    status: str | None = None
    mode: str | None = None
    service_level: str | None = None
    #: Case-insensitive parts of the lane's ends ("chicago" finds "Chicago, IL, US").
    origin: str | None = None
    destination: str | None = None


_SELECT = f"SELECT {', '.join(_CREATED)} FROM offering"


def get_offering(conn: ReadConnection, offering_id: UUID) -> dict[str, Any] | None:
    return conn.execute(_SELECT + " WHERE offering_id = %s", (offering_id,)).fetchone()


def list_offerings(
    conn: ReadConnection, where: OfferingFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of offerings in the order they were launched, and the cursor of the next."""
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("status", "mode", "service_level"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    for column in ("origin", "destination"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"strpos(lower({column}), lower(%s)) > 0")
            params.append(value)
    if cursor is not None:
        clauses.append("launched_position > %s")
        params.append(decode_cursor(cursor))
    sql = _SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
    rows = conn.execute(  # type: ignore[call-overload]
        sql + " ORDER BY launched_position LIMIT %s", [*params, limit + 1]
    ).fetchall()
    return page(rows, limit, "launched_position")
