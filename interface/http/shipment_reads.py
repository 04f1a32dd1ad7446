"""Reads of the full-chain responsibility audit: shipments, the audit view of one
shipment, the auditor's findings and partner scorecards."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from application import settings
from application.epcis import MEDIA_TYPE, custody_document
from application.shipments import RESPONSIBILITY_ANSWER_DAYS_VARIABLE, answer_within
from application.store.access_log import record_access
from application.tokens import StaffMember
from domain.liability import TransportMode
from domain.shipment import ShipmentStatus
from interface.http.deps import (
    Allowed,
    NoNul,
    Reads,
    ServicesDep,
    fresh,
    partner_filter,
    scoped_branch,
)
from interface.http.errors import invalid_input, responses
from interface.http.exports import EXPORTABLE, ExportAs, exported
from interface.http.masking import masked_epcis, masked_signers
from interface.http.permissions import AUDIT, LINKS, OVERSIGHT, READ
from interface.http.reads import Cursor, Limit, found
from interface.http.routing import OneTripRoute
from projections.responsibility_audit.queries import (
    FindingKind,
    ShipmentFilter,
    findings,
    get_responsibility,
    list_shipments,
    scorecard,
)

router = APIRouter(route_class=OneTripRoute, tags=["responsibility audit"])

RESPONSIBILITY_AUDIT = "responsibility_audit"

#: An incident without a responsible party for longer than this is a finding.
UNASSIGNED_INCIDENT_HOURS_VARIABLE = "FULLCHAIN_UNASSIGNED_INCIDENT_HOURS"


def unassigned_after() -> timedelta:
    return timedelta(hours=settings.load().unassigned_incident_hours)


class ShipmentSummary(BaseModel):
    """A shipment as the caller may see it: a partner user sees what the shipment is and
    where it stands, not its customer, other parties, incidents or money (null)."""

    shipment_id: UUID
    customer_id: UUID | None
    booking_branch: str | None = Field(
        description="The branch that booked it (its customer's); null for a partner user"
    )
    links_run: list[int] = Field(
        description="The sequences of the links the caller's branch, or a partner user's "
        "partner, runs; a branch sees the shipments whose links it runs besides its own"
    )
    reference: str
    origin: str
    destination: str
    status: ShipmentStatus
    modes: list[TransportMode]
    parties: list[str] | None = Field(
        description='Responsible parties: "branch:<name>", "partner:<id>"'
    )
    current_holder: str | None = Field(description="The party holding custody now")
    booked_at: datetime
    delivered_at: datetime | None
    open_incidents: int | None
    open_claims: int | None
    compensation_paid: dict[str, str] | None = Field(description="Compensation paid, per currency")
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
    party: str | None = Field(
        description="The party concerned (at fault, as the responsibility rules propose it, "
        "for a damaged or short handover or a breach of the cargo's conditions): "
        "branch:<name> or partner:<relationship id>"
    )
    partner_id: UUID | None = Field(description="The partner concerned, if any")
    party_name: str | None = Field(
        description="The party's name at the time of the event the finding is about (a "
        "branch's name; a partner's as the event named it)"
    )
    party_current_name: str | None = Field(description="The party's name now")
    link_sequence: int | None
    incident_id: UUID | None
    claim_id: UUID | None
    since: datetime | None
    detail: str


class FindingList(BaseModel):
    as_of: datetime
    unassigned_incident_hours: float
    responsibility_answer_days: float
    items: list[Finding]


class RecoveryBalance(BaseModel):
    currency: str
    claimed: str
    received: str
    outstanding: str


class NameUsed(BaseModel):
    name: str = Field(description="A name the partner went by at the time of the events")
    links: int = Field(description="Its links planned or reassigned under this name")
    incidents_attributed: int = Field(description="Responsibility assigned under this name")


class LinkCosts(BaseModel):
    """One currency's link costs: planned with the party, then invoiced by it."""

    currency: str
    links_planned: int
    planned_total: Decimal | None
    planned_per_link: Decimal | None = Field(description="planned_total / links_planned")
    links_invoiced: int
    actual_total: Decimal | None
    actual_per_link: Decimal | None = Field(description="actual_total / links_invoiced")
    links_compared: int = Field(description="Links invoiced in the currency they were planned in")
    variance: Decimal | None = Field(description="Their invoices less their plans")


class Rewards(BaseModel):
    """One currency's rewards and penalties (奖惩), decided by headquarters."""

    currency: str
    charge_backs: int
    charge_back_total: Decimal
    bonuses: int
    bonus_total: Decimal
    net_charged_back: Decimal = Field(description="charge_back_total - bonus_total")


class Scorecard(BaseModel):
    partner_id: UUID
    name: str | None = Field(description="The partner's name now")
    names: list[NameUsed] = Field(description="In the order first used")
    links_run: int = Field(description="Links completed by the partner")
    links_in_progress: int
    links_on_time: int
    on_time_share: float | None = Field(description="Completed by the planned end; null if none")
    incidents_attributed: int
    incidents_disputed: int
    incidents_open: int
    recovery: list[RecoveryBalance]
    costs: list[LinkCosts] = Field(description="What its links cost us, per currency")
    rewards: list[Rewards] = Field(description="Its charge-backs and bonuses, per currency")


@router.get(
    "/v1/shipments",
    summary="List shipments",
    description="Headquarters and auditors see every shipment; staff of a branch the "
    "shipments of their branch's customers and those whose links their branch runs; a "
    "partner user those whose links their partner runs, without the customer, the other "
    "parties, incidents and money (and may not filter by customer: 403). Each names the "
    "links the caller runs (`links_run`).",
    response_model=ShipmentPage,
    responses={**responses(401, 403, 422, 503), **EXPORTABLE},
    dependencies=[fresh(RESPONSIBILITY_AUDIT)],
)
def shipments(
    staff: Annotated[StaffMember, Depends(Allowed(LINKS))],
    conn: Reads,
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
    limit: Limit = 50,
    cursor: Cursor = None,
    export: ExportAs = None,
) -> ShipmentPage | Response:
    if export is not None:
        return exported(export, "shipments", ShipmentSummary, shipments, locals())
    if partner_id is not None and branch is not None:
        raise invalid_input("query", "partner_id", "filter by partner_id or by branch, not both")
    party = f"partner:{partner_id}" if partner_id else (f"branch:{branch}" if branch else None)
    customer_branch: str | None = None
    runner: str | None = None
    if staff.partner_id is not None:
        partner_filter(staff, customer_id)
        runner = f"partner:{staff.partner_id}"
    else:
        customer_branch = scoped_branch(staff, None)
        runner = f"branch:{customer_branch}" if customer_branch is not None else None
    rows, next_cursor = list_shipments(
        conn,
        ShipmentFilter(
            customer_id=customer_id,
            status=status,
            party=party,
            mode=mode,
            customer_branch=customer_branch,
            runner=runner,
        ),
        limit=limit,
        cursor=cursor,
    )
    items = []
    for r in rows:
        row = {**r, "compensation_paid": {k: str(v) for k, v in r["compensation_paid"].items()}}
        if staff.partner_id is not None:
            ours = f"partner:{staff.partner_id}"
            row |= {
                "customer_id": None,
                "booking_branch": None,
                "parties": None,
                "current_holder": ours if r["current_holder"] == ours else None,
                "open_incidents": None,
                "open_claims": None,
                "compensation_paid": None,
            }
        items.append(ShipmentSummary.model_validate(row))
    return ShipmentPage(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/shipments/{shipment_id}/responsibility",
    summary="The responsibility audit of one shipment",
    description="The chain with each link's party, cost (planned and invoiced), whether it "
    "holds the goods, custody window "
    "(handover in and out, condition, who signed, what was observed against the cargo's "
    "conditions) and the current holder; the cargo with its conditions; the breaches of those "
    "conditions (`condition_breaches`, with the covering incident and the link that held the "
    "goods); incidents with their responsible party "
    "and status; claims with amount, liability limit, compensation, recovery and both sets "
    "of deadlines. Every party is named as of the event that named it (`name`: a link's party "
    "as planned or reassigned, an incident's as assigned or arbitrated, a claim's as assessed; "
    "staff by the name they were registered with: `reported_by_name`, `assigned_by`, "
    "`answered_by`, `arbitrated_by`, `signed_by_name` where the signer is a staff id), and a "
    "partner also by its name now (`current_name`). Deadlines: `customer_deadlines` (the "
    "customer's claim against us, under our contract "
    "with the customer, from the final delivery) and `recovery_deadlines` (our recovery from "
    "the responsible link's party, under that link's regime, from that link's own handover "
    "out, with `noticed_at`: when that party had notice).",
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(RESPONSIBILITY_AUDIT)],
)
def responsibility(
    shipment_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    response: Response,
    s: ServicesDep,
) -> dict[str, Any]:
    body = found(
        get_responsibility(conn, shipment_id), response, f"no shipment with id {shipment_id}"
    )
    return masked_signers(s, staff, "responsibility", shipment_id, body)


@router.get(
    "/v1/audit/findings",
    summary="What an auditor must see",
    description="Custody gaps and overlaps, handovers in damaged or short condition with no "
    "incident, handovers that recorded a breach of the cargo's conditions (temperature outside "
    "its range, packaging of fragile or dangerous goods or seals of high-value goods not intact) "
    "with no incident (`cargo_condition_breached`, naming the link that held the goods), "
    "incidents without a responsible party after "
    f"${UNASSIGNED_INCIDENT_HOURS_VARIABLE} hours (default 48), responsibility proposed to a "
    f"partner and not answered within ${RESPONSIBILITY_ANSWER_DAYS_VARIABLE} days (default 7: "
    "it counts as accepted), claims past their recovery "
    "notice deadline without notice to the party at fault, notice given after that deadline, "
    "recoveries not claimed before the recovery time bar, compensation paid without a "
    "recovery decision.",
    response_model=FindingList,
    responses={**responses(401, 422, 503), **EXPORTABLE},
    dependencies=[fresh("account_status", RESPONSIBILITY_AUDIT)],
)
def audit_findings(
    staff: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))],
    conn: Reads,
    s: ServicesDep,
    kind: FindingKind | None = None,
    branch: Annotated[
        str | None, Query(max_length=80, description="Customer's branch"), NoNul
    ] = None,
    partner_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    export: ExportAs = None,
) -> FindingList | Response:
    if export is not None:
        return exported(export, "findings", Finding, audit_findings, locals())
    now = s.app.clock()
    after = unassigned_after()
    answer = answer_within()
    rows = findings(
        conn,
        now=now,
        unassigned_after=after,
        answer_within=answer,
        kind=kind,
        branch=scoped_branch(staff, branch),
        partner_id=partner_id,
        limit=limit,
    )
    return FindingList(
        as_of=now,
        unassigned_incident_hours=after.total_seconds() / 3600,
        responsibility_answer_days=answer.total_seconds() / 86400,
        items=[Finding.model_validate(r) for r in rows],
    )


@router.get(
    "/v1/partners/{partner_id}/scorecard",
    summary="A partner's scorecard",
    response_model=Scorecard,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh("account_status", RESPONSIBILITY_AUDIT)],
)
def partner_scorecard(
    partner_id: UUID,
    _: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))],
    conn: Reads,
) -> Scorecard:
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
    description="One ObjectEvent per handover (CBV bizStep, disposition and business "
    "transaction types), the parties as possessing-party sources and destinations, each "
    "identifier a URI, each event's GS1 event hash as its eventID, its time zone offset the "
    "read point's own at that moment, our liability data in the `fc:` extension namespace. "
    "Built from the shipment's own history, so it is current at once.",
    response_class=JSONResponse,
    responses={
        200: {"content": {"application/ld+json": {}}, "description": "EPCIS 2.0 JSON-LD"},
        **responses(401, 403, 404, 422),
    },
)
def epcis(
    shipment_id: UUID, staff: Annotated[StaffMember, Depends(Allowed(AUDIT))], s: ServicesDep
) -> JSONResponse:
    shipment = s.app.shipments.get_shipment(shipment_id)
    document = masked_epcis(
        s, staff, shipment_id, custody_document(shipment, created=s.app.clock())
    )
    record_access(
        s.database,
        staff_id=staff.staff_id,
        what="epcis",
        aggregate_type="Shipment",
        aggregate_id=shipment_id,
    )
    return JSONResponse(document, media_type=MEDIA_TYPE)
