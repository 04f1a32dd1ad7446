"""Reads of the full-chain responsibility audit: shipments, the audit view of one
shipment, the auditor's findings and partner scorecards."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

import os
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from application.epcis import custody_document
from domain.liability import TransportMode
from domain.shipment import ShipmentStatus
from interface.http.deps import (
    MinPosition,
    NoNul,
    Staff,
    Wait,
    fresh_enough,
    read_connection,
    scoped_branch,
    services,
)
from interface.http.errors import responses
from interface.runtime import Services
from projections.audit_queries import (
    FindingKind,
    ShipmentFilter,
    findings,
    get_responsibility,
    list_shipments,
    scorecard,
)
from projections.queries import ReadConnection

router = APIRouter(tags=["responsibility audit"])

AUDIT = "responsibility_audit"

#: An incident without a responsible party for longer than this is a finding.
UNASSIGNED_INCIDENT_HOURS_VARIABLE = "FULLCHAIN_UNASSIGNED_INCIDENT_HOURS"


def unassigned_after() -> timedelta:
    return timedelta(hours=float(os.environ.get(UNASSIGNED_INCIDENT_HOURS_VARIABLE, "48")))


class ShipmentSummary(BaseModel):
    shipment_id: UUID
    customer_id: UUID
    reference: str
    origin: str
    destination: str
    status: ShipmentStatus
    modes: list[TransportMode]
    parties: list[str] = Field(description='Responsible parties: "branch:<name>", "partner:<id>"')
    current_holder: str | None = Field(description="The party holding custody now")
    booked_at: datetime
    delivered_at: datetime | None
    open_incidents: int
    open_claims: int
    compensation_paid: dict[str, str] = Field(description="Compensation paid, per currency")
    version: int
    position: int
    updated_at: datetime


class ShipmentPage(BaseModel):
    items: list[ShipmentSummary]
    next_cursor: str | None


class Finding(BaseModel):
    kind: FindingKind
    shipment_id: UUID
    reference: str
    customer_id: UUID
    branch: str | None = Field(description="The customer's branch")
    partner_id: UUID | None = Field(description="The partner concerned, if any")
    link_sequence: int | None
    incident_id: UUID | None
    claim_id: UUID | None
    since: datetime | None
    detail: str


class FindingList(BaseModel):
    as_of: datetime
    unassigned_incident_hours: float
    items: list[Finding]


class RecoveryBalance(BaseModel):
    currency: str
    claimed: str
    received: str
    outstanding: str


class Scorecard(BaseModel):
    partner_id: UUID
    links_run: int = Field(description="Links completed by the partner")
    links_in_progress: int
    links_on_time: int
    on_time_share: float | None = Field(description="Completed by the planned end; null if none")
    incidents_attributed: int
    incidents_disputed: int
    incidents_open: int
    recovery: list[RecoveryBalance]


@router.get(
    "/v1/shipments",
    summary="List shipments",
    response_model=ShipmentPage,
    responses=responses(401, 422, 503),
)
def shipments(
    staff: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
    customer_id: UUID | None = None,
    status: ShipmentStatus | None = None,
    partner_id: Annotated[
        UUID | None, Query(description="A partner responsible for a link")
    ] = None,
    branch: Annotated[
        str | None,
        Query(max_length=80, description="One of our branches responsible for a link"),
        NoNul,
    ] = None,
    mode: TransportMode | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> ShipmentPage:
    fresh_enough(conn, AUDIT, min_position, wait)
    if partner_id is not None and branch is not None:
        raise HTTPException(422, "filter by partner_id or by branch, not both")
    party = f"partner:{partner_id}" if partner_id else (f"branch:{branch}" if branch else None)
    rows, next_cursor = list_shipments(
        conn,
        ShipmentFilter(
            customer_id=customer_id,
            status=status,
            party=party,
            mode=mode,
            customer_branch=scoped_branch(staff, None),
        ),
        limit=limit,
        cursor=cursor,
    )
    items = [
        ShipmentSummary.model_validate(
            {**r, "compensation_paid": {k: str(v) for k, v in r["compensation_paid"].items()}}
        )
        for r in rows
    ]
    return ShipmentPage(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/shipments/{shipment_id}/responsibility",
    summary="The responsibility audit of one shipment",
    description="The chain with each link's party, custody window (handover in and out, "
    "condition, who signed) and the current holder; incidents with their responsible party "
    "and status; claims with amount, liability limit, compensation, recovery and deadlines.",
    responses=responses(401, 404, 422, 503),
)
def responsibility(
    shipment_id: UUID,
    _: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
    response: Response,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> dict[str, Any]:
    fresh_enough(conn, AUDIT, min_position, wait)
    view = get_responsibility(conn, shipment_id)
    if view is None:
        raise HTTPException(404, f"no shipment with id {shipment_id}")
    response.headers["ETag"] = f'"{view["version"]}"'
    return view


@router.get(
    "/v1/audit/findings",
    summary="What an auditor must see",
    description="Custody gaps and overlaps, handovers in damaged or short condition with no "
    "incident, incidents without a responsible party after "
    f"${UNASSIGNED_INCIDENT_HOURS_VARIABLE} hours (default 48), claims past their notice "
    "deadline, recoveries not claimed before the time bar, compensation paid without a "
    "recovery decision.",
    response_model=FindingList,
    responses=responses(401, 422, 503),
)
def audit_findings(
    staff: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
    kind: FindingKind | None = None,
    branch: Annotated[
        str | None, Query(max_length=80, description="Customer's branch"), NoNul
    ] = None,
    partner_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> FindingList:
    fresh_enough(conn, ("account_status", AUDIT), min_position, wait)
    now = datetime.now(UTC)
    after = unassigned_after()
    rows = findings(
        conn,
        now=now,
        unassigned_after=after,
        kind=kind,
        branch=scoped_branch(staff, branch),
        partner_id=partner_id,
        limit=limit,
    )
    return FindingList(
        as_of=now,
        unassigned_incident_hours=after.total_seconds() / 3600,
        items=[Finding.model_validate(r) for r in rows],
    )


@router.get(
    "/v1/partners/{partner_id}/scorecard",
    summary="A partner's scorecard",
    response_model=Scorecard,
    responses=responses(401, 404, 422, 503),
)
def partner_scorecard(
    partner_id: UUID,
    _: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> Scorecard:
    fresh_enough(conn, ("account_status", AUDIT), min_position, wait)
    partner = conn.execute(
        "SELECT kind FROM account_status WHERE relationship_id = %s", (partner_id,)
    ).fetchone()
    if partner is None or partner["kind"] != "partner":
        raise HTTPException(404, f"no partner with id {partner_id}")
    card = scorecard(conn, partner_id)
    card["recovery"] = [
        {k: (str(v) if k != "currency" else v) for k, v in r.items()} for r in card["recovery"]
    ]
    return Scorecard.model_validate(card)


@router.get(
    "/v1/shipments/{shipment_id}/epcis",
    summary="The chain of custody as a GS1 EPCIS 2.0 document",
    description="One ObjectEvent per handover (CBV bizStep and disposition), the parties as "
    "possessing-party sources and destinations, our liability data in the `fc:` extension "
    "namespace. Built from the shipment's own history, so it is current at once.",
    response_class=JSONResponse,
    responses={
        200: {"content": {"application/ld+json": {}}, "description": "EPCIS 2.0 JSON-LD"},
        **responses(401, 403, 404, 422),
    },
)
def epcis(shipment_id: UUID, _: Staff, s: Annotated[Services, Depends(services)]) -> JSONResponse:
    shipment = s.app.get_shipment(shipment_id)
    return JSONResponse(custody_document(shipment), media_type="application/ld+json")
