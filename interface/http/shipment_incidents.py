"""/v1/shipments/{shipment_id}/incidents: what went wrong along the chain and who answers
for it — reported at a link, coordinated, responsibility assigned (or taken from the
shipment's custody history), accepted or disputed, arbitrated by headquarters, resolved."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from application.tokens import StaffMember
from domain.shipment import IncidentKind, ResponsibilityBasis
from interface.http.commands import COMMAND_ERRORS, accepted
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    ServicesDep,
    context,
)
from interface.http.fields import Text
from interface.http.permissions import ANSWER, ARBITRATION, RESPONSIBILITY, WORK
from interface.http.routing import OneTripRoute
from interface.http.shipments import (
    LinkNumber,
    Packages,
    ResolveIncident,
    Signatory,
    Weight,
    WithNote,
)

router = APIRouter(route_class=OneTripRoute, prefix="/v1/shipments", tags=["shipments"])


# --- request bodies ----------------------------------------------------------------------


class ReportIncident(CommandMeta):
    """``occurred_at`` is when the incident was discovered."""

    link_sequence: LinkNumber = Field(description="The link at which it was found")
    kind: IncidentKind
    description: Text
    packages_affected: Packages | None = None
    weight_affected_kg: Weight | None = None
    incident_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class RecordAction(CommandMeta):
    action: Text
    taken_by: Signatory | None = Field(None, description="Default: the caller")


class AssignResponsibility(CommandMeta):
    link_sequence: LinkNumber | None = Field(
        None,
        description="The responsible link. Omit it to take the shipment's proposal from its "
        "custody history (with its basis)",
    )
    basis: ResponsibilityBasis | None = Field(
        None, description="Required with link_sequence; arbitration is headquarters' only"
    )
    explanation: Text | None = Field(
        None, description="Required with link_sequence; replaces the proposal's otherwise"
    )


class Dispute(CommandMeta):
    reason: Text


class Arbitrate(CommandMeta):
    link_sequence: LinkNumber = Field(description="The link finally responsible")
    decision: Text


# --- answers -----------------------------------------------------------------------------


class IncidentAccepted(CommandAccepted):
    incident_id: UUID


# --- commands ----------------------------------------------------------------------------


@router.post(
    "/{shipment_id}/incidents",
    summary="Report an incident at a link",
    description="Damage, loss, shortage, delay, contamination or a documentation error, "
    "discovered at `occurred_at`. Goods incidents state the packages or the weight affected.",
    response_model=IncidentAccepted,
    responses=COMMAND_ERRORS,
)
def report_incident(
    shipment_id: UUID,
    body: ReportIncident,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> IncidentAccepted:
    incident_id = body.incident_id or uuid4()
    result = s.app.shipments.report_incident(
        context(request, staff, body),
        shipment_id,
        incident_id=incident_id,
        link_sequence=body.link_sequence,
        kind=body.kind,
        description=body.description,
        packages_affected=body.packages_affected,
        weight_affected_kg=body.weight_affected_kg,
        expected_version=expected,
    )
    return IncidentAccepted(**accepted(response, result).model_dump(), incident_id=incident_id)


@router.post(
    "/{shipment_id}/incidents/{incident_id}/actions",
    summary="Record a coordination action",
    description="Who did what about the incident, at `occurred_at`.",
    responses=COMMAND_ERRORS,
)
def incident_actions(
    shipment_id: UUID,
    incident_id: UUID,
    body: RecordAction,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.record_coordination_action(
        context(request, staff, body),
        shipment_id,
        incident_id=incident_id,
        action=body.action,
        taken_by=body.taken_by,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/incidents/{incident_id}/responsibility",
    summary="Assign responsibility to the party of a link",
    description="Name the link, its basis and an explanation; or send none of them to assign the "
    "shipment's proposal: the party that handed the goods over damaged or short, else the one "
    "that held them when the incident was discovered, else the party of the reporting link. "
    "May be reassigned until accepted or disputed.",
    responses=COMMAND_ERRORS,
)
def incident_responsibility(
    shipment_id: UUID,
    incident_id: UUID,
    body: AssignResponsibility,
    staff: Annotated[StaffMember, Depends(Allowed(RESPONSIBILITY))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.assign_responsibility(
        context(request, staff, body),
        shipment_id,
        incident_id=incident_id,
        link_sequence=body.link_sequence,
        basis=body.basis,
        explanation=body.explanation,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/incidents/{incident_id}/accept",
    summary="The responsible party accepts responsibility",
    responses=COMMAND_ERRORS,
)
def incident_accept(
    shipment_id: UUID,
    incident_id: UUID,
    body: WithNote,
    staff: Annotated[StaffMember, Depends(Allowed(ANSWER))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.accept_responsibility(
        context(request, staff, body),
        shipment_id,
        incident_id=incident_id,
        note=body.note,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/incidents/{incident_id}/dispute",
    summary="The responsible party disputes responsibility",
    description="Within $FULLCHAIN_RESPONSIBILITY_ANSWER_DAYS days (default 7) of business time "
    "after responsibility was proposed; later, the responsibility counts as accepted and a "
    "dispute is refused (409 `responsibility.answer_overdue`). Only headquarters' arbitration "
    "settles a dispute.",
    responses=COMMAND_ERRORS,
)
def incident_dispute(
    shipment_id: UUID,
    incident_id: UUID,
    body: Dispute,
    staff: Annotated[StaffMember, Depends(Allowed(ANSWER))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.dispute_responsibility(
        context(request, staff, body),
        shipment_id,
        incident_id=incident_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/incidents/{incident_id}/arbitrate",
    summary="Headquarters arbitrates a disputed responsibility (总部仲裁)",
    description="Headquarters' final decision on a disputed responsibility, or on one its party "
    "did not answer in time, naming the link responsible. Arbitration is a "
    "headquarters decision; until staff roles are enforced, any staff member may record it and is "
    "recorded as the actor.",
    responses=COMMAND_ERRORS,
)
def incident_arbitrate(
    shipment_id: UUID,
    incident_id: UUID,
    body: Arbitrate,
    staff: Annotated[StaffMember, Depends(Allowed(ARBITRATION))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.arbitrate_responsibility(
        context(request, staff, body),
        shipment_id,
        incident_id=incident_id,
        link_sequence=body.link_sequence,
        decision=body.decision,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/incidents/{incident_id}/resolve",
    summary="Resolve an incident",
    description="Once responsibility is accepted or arbitrated (or was never assigned).",
    responses=COMMAND_ERRORS,
)
def incident_resolve(
    shipment_id: UUID,
    incident_id: UUID,
    body: ResolveIncident,
    staff: Annotated[StaffMember, Depends(Allowed(RESPONSIBILITY))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.resolve_incident(
        context(request, staff, body),
        shipment_id,
        incident_id=incident_id,
        resolution=body.resolution,
        expected_version=expected,
    )
    return accepted(response, result)
