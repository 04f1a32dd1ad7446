"""Service cases (客户服务与支持): one row per case — its kind, priority, owner, status and
SLA clocks — as the ``ServiceCase`` aggregate says after each batch.

Whether a clock is breached depends on when you ask: a case nobody answered breaches the
moment its due time passes, with no event. So each row keeps, per clock, the moment after
which it is breached — the due time while the clock runs, the due time it missed once it
was answered or resolved late (a breach stays a breach), none once it was met — and a read
compares those with the time of asking (``breached=true`` is one comparison per clock).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper

from application.schema import Migration
from domain.service_case import CaseStatus, ServiceCase
from projections.aggregate_rows import AggregatesOfBatch, page, write_rows
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.queries import ReadConnection, decode_cursor

MIGRATION = Migration(
    "0012_service_cases",
    "service-case read model with SLA clocks",
    [
        """
        CREATE TABLE service_case (
            case_id uuid PRIMARY KEY,
            relationship_id uuid NOT NULL,
            shipment_id uuid,
            incident_id uuid,
            kind text NOT NULL,
            priority text NOT NULL,
            status text NOT NULL,
            subject text NOT NULL,
            owner text,
            opened_at timestamptz NOT NULL,
            opened_by text NOT NULL,
            first_response_due timestamptz NOT NULL,
            first_responded_at timestamptz,
            first_response_breach_after timestamptz,
            resolution_due timestamptz NOT NULL,
            resolved_at timestamptz,
            resolution_breach_after timestamptz,
            escalations integer NOT NULL,
            reopenings integer NOT NULL,
            satisfaction integer,
            closed_at timestamptz,
            opened_position bigint NOT NULL UNIQUE,
            version bigint NOT NULL,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX service_case_relationship_idx ON service_case (relationship_id)",
        "CREATE INDEX service_case_status_idx ON service_case (status, opened_position)",
    ],
)

#: A read joins account status for the relationship's name and branch.
CASE_READ_MODELS = ("service_cases", "account_status")

_CREATED = (
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
_CHANGED = tuple(c for c in _CREATED if c not in _OPENED_ONLY)


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
            created_columns=_CREATED,
            changed_columns=_CHANGED,
        )


# --- reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilter:
    relationship_id: UUID | None = None
    status: str | None = None
    priority: str | None = None
    kind: str | None = None
    owner: str | None = None
    shipment_id: UUID | None = None
    #: The relationship's branch.
    branch: str | None = None
    #: True: a clock is breached at the time of asking; False: none is.
    breached: bool | None = None


_BREACHED = (
    "COALESCE(c.first_response_breach_after < %(now)s, false)",
    "COALESCE(c.resolution_breach_after < %(now)s, false)",
)
_SELECT = (
    f"SELECT {', '.join('c.' + col for col in _CREATED)}, "
    f"{_BREACHED[0]} AS first_response_breached, {_BREACHED[1]} AS resolution_breached, "
    "a.name AS relationship_name, a.branch FROM service_case c "
    "LEFT JOIN account_status a ON a.relationship_id = c.relationship_id"
)


def get_case(conn: ReadConnection, case_id: UUID, *, now: datetime) -> dict[str, Any] | None:
    return conn.execute(
        _SELECT + " WHERE c.case_id = %(case_id)s", {"now": now, "case_id": case_id}
    ).fetchone()


def list_cases(
    conn: ReadConnection, where: CaseFilter, *, now: datetime, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of cases in the order they were opened, with their clocks as at ``now``."""
    clauses: list[str] = []
    params: dict[str, Any] = {"now": now, "limit": limit + 1}
    for column, value in (
        ("c.relationship_id", where.relationship_id),
        ("c.status", where.status),
        ("c.priority", where.priority),
        ("c.kind", where.kind),
        ("c.owner", where.owner),
        ("c.shipment_id", where.shipment_id),
        ("a.branch", where.branch),
    ):
        if value is not None:
            name = column.partition(".")[2]
            clauses.append(f"{column} = %({name})s")
            params[name] = value
    if where.breached is not None:
        either = f"({_BREACHED[0]} OR {_BREACHED[1]})"
        clauses.append(either if where.breached else f"NOT {either}")
    if cursor is not None:
        clauses.append("c.opened_position > %(after)s")
        params["after"] = decode_cursor(cursor)
    sql = _SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
    rows = conn.execute(  # type: ignore[call-overload]
        sql + " ORDER BY c.opened_position LIMIT %(limit)s", params
    ).fetchall()
    return page(rows, limit, "opened_position")
