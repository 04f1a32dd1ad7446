"""/v1/cases: customer service and support (客户服务与支持) — inquiries, requests and
complaints with their SLA clocks: opened, assigned, answered, escalated, resolved, reopened,
closed and rated; read back with each clock's breach as at the time of asking."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from application.cases import SLA_POLICY_VARIABLE
from application.tokens import StaffMember
from domain.service_case import CaseKind, CaseStatus, Priority
from interface.http.commands import COMMAND_ERRORS, accepted
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    Reads,
    ServicesDep,
    context,
    fresh,
    scoped_branch,
)
from interface.http.errors import responses
from interface.http.exports import EXPORTABLE, ExportAs, exported
from interface.http.fields import Rating, StaffId, Text
from interface.http.permissions import READ, SERVICE, WORK
from interface.http.reads import Cursor, Limit, NextCursor, found
from interface.http.routing import OneTripRoute
from projections.service_cases.queries import CASE_READ_MODELS, CaseFilter, get_case, list_cases

router = APIRouter(route_class=OneTripRoute, prefix="/v1/cases", tags=["service cases"])

Subject = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]


class OpenCase(CommandMeta):
    """``occurred_at`` is when the customer raised it: the SLA clocks run from then."""

    relationship_id: UUID = Field(description="A customer, prospect or target")
    kind: CaseKind
    priority: Priority = Priority.NORMAL
    subject: Subject
    description: LongText
    shipment_id: UUID | None = Field(None, description="A shipment of the relationship's")
    incident_id: UUID | None = Field(None, description="An incident of that shipment")
    case_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class AssignCase(CommandMeta):
    owner: StaffId = Field(description="The staff member who owns the case")


class Respond(CommandMeta):
    summary: Text = Field(description="The first response to the customer")


class Escalate(CommandMeta):
    reason: Text
    to_priority: Priority | None = Field(None, description="Default: one level higher")


class ResolveCase(CommandMeta):
    resolution: LongText


class Reopen(CommandMeta):
    reason: Text


class Close(CommandMeta):
    note: Text | None = None


class Rate(CommandMeta):
    rating: Rating = Field(description="The customer's satisfaction with the resolution")
    comment: Text | None = None


class ServiceCase(BaseModel):
    case_id: UUID
    relationship_id: UUID
    relationship_name: str | None
    branch: str | None = Field(description="The relationship's branch")
    shipment_id: UUID | None
    incident_id: UUID | None
    kind: CaseKind
    priority: Priority
    status: CaseStatus
    subject: str
    owner: str | None
    opened_at: datetime
    opened_by: str
    first_response_due: datetime
    first_responded_at: datetime | None = Field(
        description="By the first response, or else by the first resolution"
    )
    first_response_breached: bool
    resolution_due: datetime
    resolved_at: datetime | None = Field(description="The standing resolution's time")
    resolution_breached: bool = Field(
        description="A resolution came late (it stays a breach), or the open case is past due"
    )
    breached: bool
    escalations: int
    reopenings: int
    satisfaction: int | None
    closed_at: datetime | None
    version: int
    position: int
    updated_at: datetime


class CasePage(BaseModel):
    as_of: datetime = Field(description="The time the clocks were read at")
    items: list[ServiceCase]
    next_cursor: NextCursor


def _case(row: dict[str, Any]) -> ServiceCase:
    breached = row["first_response_breached"] or row["resolution_breached"]
    return ServiceCase.model_validate({**row, "breached": breached})


@router.post(
    "",
    status_code=201,
    summary="Open a service case",
    description="For a customer, prospect or target, possibly about one of its shipments and "
    "an incident on it. The first-response and resolution clocks start at `occurred_at`, by "
    f"the hours of the case's priority in ${SLA_POLICY_VARIABLE} "
    "(`urgent=1/8,high=4/24,normal=8/72,low=24/168` by default).",
    responses=responses(401, 409, 422),
)
def open_case(
    body: OpenCase,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    result = s.app.cases.open_case(
        context(request, staff, body),
        relationship_id=body.relationship_id,
        kind=body.kind,
        priority=body.priority,
        subject=body.subject,
        description=body.description,
        shipment_id=body.shipment_id,
        incident_id=body.incident_id,
        case_id=body.case_id,
    )
    response.headers["Location"] = f"/v1/cases/{result.aggregate_id}"
    return accepted(response, result)


@router.post("/{case_id}/assign", summary="Assign the case to its owner", responses=COMMAND_ERRORS)
def assign(
    case_id: UUID,
    body: AssignCase,
    staff: Annotated[StaffMember, Depends(Allowed(SERVICE))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.cases.assign_case(
        context(request, staff, body), case_id, owner=body.owner, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/{case_id}/respond",
    summary="Give the first response",
    description="Once; later exchanges are interactions on the relationship.",
    responses=COMMAND_ERRORS,
)
def respond(
    case_id: UUID,
    body: Respond,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.cases.respond_to_case(
        context(request, staff, body), case_id, summary=body.summary, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/{case_id}/escalate",
    summary="Escalate: raise the priority",
    description="The clocks of the new priority count from the escalation, but never later than "
    "they were: an escalation tightens a deadline, never relaxes one.",
    responses=COMMAND_ERRORS,
)
def escalate(
    case_id: UUID,
    body: Escalate,
    staff: Annotated[StaffMember, Depends(Allowed(SERVICE))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.cases.escalate_case(
        context(request, staff, body),
        case_id,
        reason=body.reason,
        to_priority=body.to_priority,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{case_id}/resolve",
    summary="Resolve the case",
    description="A resolution without a first response answers the customer too.",
    responses=COMMAND_ERRORS,
)
def resolve(
    case_id: UUID,
    body: ResolveCase,
    staff: Annotated[StaffMember, Depends(Allowed(SERVICE))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.cases.resolve_case(
        context(request, staff, body),
        case_id,
        resolution=body.resolution,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{case_id}/reopen",
    summary="Reopen a resolved case",
    description="The resolution clock restarts; a late resolution before stays a breach.",
    responses=COMMAND_ERRORS,
)
def reopen(
    case_id: UUID,
    body: Reopen,
    staff: Annotated[StaffMember, Depends(Allowed(SERVICE))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.cases.reopen_case(
        context(request, staff, body), case_id, reason=body.reason, expected_version=expected
    )
    return accepted(response, result)


@router.post("/{case_id}/close", summary="Close a resolved case", responses=COMMAND_ERRORS)
def close(
    case_id: UUID,
    body: Close,
    staff: Annotated[StaffMember, Depends(Allowed(SERVICE))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.cases.close_case(
        context(request, staff, body), case_id, note=body.note, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/{case_id}/rate",
    summary="The customer rates the resolution",
    description="Once per resolution, resolved or closed.",
    responses=COMMAND_ERRORS,
)
def rate(
    case_id: UUID,
    body: Rate,
    staff: Annotated[StaffMember, Depends(Allowed(SERVICE))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.cases.rate_case(
        context(request, staff, body),
        case_id,
        rating=body.rating,
        comment=body.comment,
        expected_version=expected,
    )
    return accepted(response, result)


@router.get(
    "",
    summary="List service cases",
    description="With each clock's breach as at the time of asking (`as_of`).",
    response_model=CasePage,
    responses={**responses(401, 422, 503), **EXPORTABLE},
    dependencies=[fresh(*CASE_READ_MODELS)],
)
def cases(
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    s: ServicesDep,
    relationship_id: UUID | None = None,
    status: CaseStatus | None = None,
    priority: Priority | None = None,
    kind: CaseKind | None = None,
    breached: Annotated[
        bool | None, Query(description="true: a clock is breached; false: none is")
    ] = None,
    owner: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    shipment_id: UUID | None = None,
    branch: Annotated[
        str | None,
        Query(max_length=80, pattern=r"^[^\x00]*$", description="The relationship's branch"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    export: ExportAs = None,
) -> CasePage | Response:
    if export is not None:
        return exported(export, "cases", ServiceCase, cases, locals())
    now = s.app.clock()
    rows, next_cursor = list_cases(
        conn,
        CaseFilter(
            relationship_id=relationship_id,
            status=status,
            priority=priority,
            kind=kind,
            owner=owner,
            shipment_id=shipment_id,
            branch=scoped_branch(staff, branch),
            breached=breached,
        ),
        now=now,
        limit=limit,
        cursor=cursor,
    )
    return CasePage(as_of=now, items=[_case(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{case_id}",
    summary="One service case",
    response_model=ServiceCase,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(*CASE_READ_MODELS)],
)
def case(
    case_id: UUID,
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    s: ServicesDep,
    response: Response,
) -> ServiceCase:
    row = found(
        get_case(conn, case_id, now=s.app.clock()),
        response,
        f"no service case with id {case_id}",
    )
    return _case(row)
