"""/v1/offerings: the service offerings we sell (product management) — launched on a lane,
their terms revised, retired and reinstated — and the catalogue as sales reads it."""

# No `from __future__ import annotations` here: FastAPI reads the body types of the
# generated command endpoints from their annotations at run time.

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from domain.liability import TransportMode
from domain.offering import MAX_TRANSIT_DAYS, Lane, OfferingStatus, ServiceLevel
from interface.http.commands import accepted, aggregate_command
from interface.http.deps import (
    CommandAccepted,
    CommandMeta,
    MinPosition,
    Staff,
    Wait,
    context,
    fresh_enough,
    read_connection,
    services,
)
from interface.http.errors import responses
from interface.runtime import Services
from projections.offerings import OfferingFilter, get_offering, list_offerings
from projections.queries import ReadConnection

router = APIRouter(prefix="/v1/offerings", tags=["service offerings"])

READ_MODEL = "offerings"

Name = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
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


class WithReason(CommandMeta):
    reason: Reason


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
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end")


@router.post(
    "",
    status_code=201,
    summary="Launch a service offering on a lane",
    description="A lane is what the offering is: a different lane is a different offering.",
    response_model=CommandAccepted,
    responses=responses(401, 409, 422),
)
def launch(
    body: LaunchOffering,
    staff: Staff,
    s: Annotated[Services, Depends(services)],
    response: Response,
) -> CommandAccepted:
    result = s.app.launch_offering(
        context(s, staff, body),
        name=body.name,
        lane=Lane(body.origin, body.destination, body.mode),
        service_level=body.service_level,
        transit_days=body.transit_days,
        description=body.description,
        offering_id=body.offering_id,
    )
    response.headers["Location"] = f"/v1/offerings/{result.aggregate_id}"
    return accepted(response, result)


aggregate_command(
    router,
    "offering_id",
    "/revise-terms",
    "Revise the service level and transit time",
    ReviseTerms,
    lambda a, c, oid, b, v: a.revise_offering_terms(
        c,
        oid,
        service_level=b.service_level,
        transit_days=b.transit_days,
        reason=b.reason,
        expected_version=v,
    ),
    "While the offering is active.",
)
aggregate_command(
    router,
    "offering_id",
    "/redescribe",
    "Rename and redescribe",
    Redescribe,
    lambda a, c, oid, b, v: a.redescribe_offering(
        c, oid, name=b.name, description=b.description, expected_version=v
    ),
    "While the offering is active.",
)
aggregate_command(
    router,
    "offering_id",
    "/retire",
    "Retire an offering",
    WithReason,
    lambda a, c, oid, b, v: a.retire_offering(c, oid, reason=b.reason, expected_version=v),
    "A retired offering is not offered: no opportunity names it, none is won on it.",
)
aggregate_command(
    router,
    "offering_id",
    "/reinstate",
    "Reinstate a retired offering",
    WithReason,
    lambda a, c, oid, b, v: a.reinstate_offering(c, oid, reason=b.reason, expected_version=v),
    "A seasonal lane resumes under the same product.",
)


@router.get(
    "",
    summary="List service offerings",
    response_model=OfferingPage,
    responses=responses(401, 422, 503),
)
def offerings(
    _: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
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
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> OfferingPage:
    fresh_enough(conn, READ_MODEL, min_position, wait)
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
)
def offering(
    offering_id: UUID,
    _: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
    response: Response,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> Offering:
    fresh_enough(conn, READ_MODEL, min_position, wait)
    row = get_offering(conn, offering_id)
    if row is None:
        raise HTTPException(404, f"no service offering with id {offering_id}")
    response.headers["ETag"] = f'"{row["version"]}"'
    return Offering.model_validate(row)
