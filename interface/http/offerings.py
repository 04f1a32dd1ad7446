"""/v1/offerings: the service offerings we sell (product management) — launched on a lane,
their terms revised, retired and reinstated — and the catalogue as sales reads it."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from application.tokens import StaffMember
from domain.liability import TransportMode
from domain.offering import MAX_TRANSIT_DAYS, Lane, OfferingStatus, ServiceLevel
from interface.http.commands import COMMAND_ERRORS, WithReason, accepted
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    Reads,
    ServicesDep,
    context,
    fresh,
)
from interface.http.errors import responses
from interface.http.fields import Name, Reason, Text
from interface.http.permissions import PRODUCT, READ
from interface.http.reads import Cursor, Limit, NextCursor, found
from interface.http.routing import OneTripRoute
from projections.offerings.queries import OfferingFilter, get_offering, list_offerings

router = APIRouter(route_class=OneTripRoute, prefix="/v1/offerings", tags=["service offerings"])

READ_MODEL = "offerings"

TransitDays = Annotated[
    int, Field(ge=1, le=MAX_TRANSIT_DAYS, description="Days from pickup to delivery promised")
]


class LaunchOffering(CommandMeta):
    name: Name = Field(examples=["Suzhou–Chicago Air Express"])
    description: Text | None = None
    origin: Name = Field(examples=["Suzhou"])
    destination: Name = Field(examples=["Chicago"])
    mode: TransportMode
    service_level: ServiceLevel
    transit_days: TransitDays
    offering_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class ReviseTerms(CommandMeta):
    service_level: ServiceLevel
    transit_days: TransitDays
    reason: Reason


class Redescribe(CommandMeta):
    name: Name
    description: Text | None = None


class Offering(BaseModel):
    offering_id: UUID
    name: str
    description: str | None
    origin: str
    destination: str
    mode: TransportMode
    service_level: ServiceLevel
    transit_days: int
    label: str = Field(
        description='As sales says it: "Suzhou → Chicago, air, door to door, 5 days"'
    )
    status: OfferingStatus
    launched_at: datetime
    version: int
    position: int
    updated_at: datetime


class OfferingPage(BaseModel):
    items: list[Offering]
    next_cursor: NextCursor


@router.post(
    "",
    status_code=201,
    summary="Launch a service offering on a lane",
    description="A lane is what the offering is: a different lane is a different offering.",
    responses=responses(401, 409, 422),
)
def launch(
    body: LaunchOffering,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.launch_offering(
        context(request, staff, body),
        name=body.name,
        lane=Lane(body.origin, body.destination, body.mode),
        service_level=body.service_level,
        transit_days=body.transit_days,
        description=body.description,
        offering_id=body.offering_id,
    )
    response.headers["Location"] = f"/v1/offerings/{result.aggregate_id}"
    return accepted(response, result)


@router.post(
    "/{offering_id}/revise-terms",
    summary="Revise the service level and transit time",
    description="While the offering is active.",
    responses=COMMAND_ERRORS,
)
def revise_terms(
    offering_id: UUID,
    body: ReviseTerms,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.revise_offering_terms(
        context(request, staff, body),
        offering_id,
        service_level=body.service_level,
        transit_days=body.transit_days,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{offering_id}/redescribe",
    summary="Rename and redescribe",
    description="While the offering is active.",
    responses=COMMAND_ERRORS,
)
def redescribe(
    offering_id: UUID,
    body: Redescribe,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.redescribe_offering(
        context(request, staff, body),
        offering_id,
        name=body.name,
        description=body.description,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{offering_id}/retire",
    summary="Retire an offering",
    description="A retired offering is not offered: no opportunity names it, none is won on it.",
    responses=COMMAND_ERRORS,
)
def retire(
    offering_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.retire_offering(
        context(request, staff, body), offering_id, reason=body.reason, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/{offering_id}/reinstate",
    summary="Reinstate a retired offering",
    description="A seasonal lane resumes under the same product.",
    responses=COMMAND_ERRORS,
)
def reinstate(
    offering_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.reinstate_offering(
        context(request, staff, body), offering_id, reason=body.reason, expected_version=expected
    )
    return accepted(response, result)


@router.get(
    "",
    summary="List service offerings",
    response_model=OfferingPage,
    responses=responses(401, 422, 503),
    dependencies=[fresh(READ_MODEL)],
)
def offerings(
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    status: OfferingStatus | None = None,
    mode: TransportMode | None = None,
    service_level: ServiceLevel | None = None,
    origin: Annotated[
        str | None,
        Query(max_length=200, pattern=r"^[^\x00]*$", description="Part of the origin, any case"),
    ] = None,
    destination: Annotated[
        str | None,
        Query(max_length=200, pattern=r"^[^\x00]*$", description="Part of the destination"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OfferingPage:
    rows, next_cursor = list_offerings(
        conn,
        OfferingFilter(
            status=status,
            mode=mode,
            service_level=service_level,
            origin=origin,
            destination=destination,
        ),
        limit=limit,
        cursor=cursor,
    )
    return OfferingPage(items=[Offering.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{offering_id}",
    summary="One service offering",
    response_model=Offering,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(READ_MODEL)],
)
def offering(
    offering_id: UUID,
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    response: Response,
) -> Offering:
    row = found(
        get_offering(conn, offering_id), response, f"no service offering with id {offering_id}"
    )
    return Offering.model_validate(row)
