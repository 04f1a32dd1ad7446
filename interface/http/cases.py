"""/v1/cases: customer service and support (客户服务与支持) — inquiries, requests and
complaints with their SLA clocks: opened, assigned, answered, escalated, resolved, reopened,
closed and rated; read back with each clock's breach as at the time of asking."""

# No `from __future__ import annotations` here: FastAPI reads the body types of the
# generated command endpoints from their annotations at run time.

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from application.sales import SLA_POLICY_VARIABLE
from domain.service_case import CaseKind, CaseStatus, Priority
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
    scoped_branch,
    services,
)
from interface.http.errors import responses
from interface.runtime import Services
from projections.cases import CASE_READ_MODELS, CaseFilter, get_case, list_cases
from projections.queries import ReadConnection

router = APIRouter(prefix="/v1/cases", tags=["service cases"])

Subject = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]
StaffId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]
Rating = Annotated[int, Field(ge=1, le=5)]


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


class Assign(CommandMeta):
    owner: StaffId = Field(description="The staff member who owns the case")


class Respond(CommandMeta):
    summary: Text = Field(description="The first response to the customer")


class Escalate(CommandMeta):
    reason: Text
    to_priority: Priority | None = Field(None, description="Default: one level higher")


class Resolve(CommandMeta):
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
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end")


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
    response_model=CommandAccepted,
    responses=responses(401, 409, 422),
)
def open_case(
    body: OpenCase,
    staff: Staff,
    s: Annotated[Services, Depends(services)],
    response: Response,
) -> CommandAccepted:
    result = s.app.open_case(
        context(s, staff, body),
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


aggregate_command(
    router,
    "case_id",
    "/assign",
    "Assign the case to its owner",
    Assign,
    lambda a, c, cid, b, v: a.assign_case(c, cid, owner=b.owner, expected_version=v),
)
aggregate_command(
    router,
    "case_id",
    "/respond",
    "Give the first response",
    Respond,
    lambda a, c, cid, b, v: a.respond_to_case(c, cid, summary=b.summary, expected_version=v),
    "Once; later exchanges are interactions on the relationship.",
)
aggregate_command(
    router,
    "case_id",
    "/escalate",
    "Escalate: raise the priority",
    Escalate,
    lambda a, c, cid, b, v: a.escalate_case(
        c, cid, reason=b.reason, to_priority=b.to_priority, expected_version=v
    ),
    "The clocks of the new priority count from the escalation, but never later than they "
    "were: an escalation tightens a deadline, never relaxes one.",
)
aggregate_command(
    router,
    "case_id",
    "/resolve",
    "Resolve the case",
    Resolve,
    lambda a, c, cid, b, v: a.resolve_case(c, cid, resolution=b.resolution, expected_version=v),
    "A resolution without a first response answers the customer too.",
)
aggregate_command(
    router,
    "case_id",
    "/reopen",
    "Reopen a resolved case",
    Reopen,
    lambda a, c, cid, b, v: a.reopen_case(c, cid, reason=b.reason, expected_version=v),
    "The resolution clock restarts; a late resolution before stays a breach.",
)
aggregate_command(
    router,
    "case_id",
    "/close",
    "Close a resolved case",
    Close,
    lambda a, c, cid, b, v: a.close_case(c, cid, note=b.note, expected_version=v),
)
aggregate_command(
    router,
    "case_id",
    "/rate",
    "The customer rates the resolution",
    Rate,
    lambda a, c, cid, b, v: a.rate_case(
        c, cid, rating=b.rating, comment=b.comment, expected_version=v
    ),
    "Once per resolution, resolved or closed.",
)


@router.get(
    "",
    summary="List service cases",
    description="With each clock's breach as at the time of asking (`as_of`).",
    response_model=CasePage,
    responses=responses(401, 422, 503),
)
def cases(
    staff: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
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
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> CasePage:
    fresh_enough(conn, CASE_READ_MODELS, min_position, wait)
    now = datetime.now(UTC)
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
)
def case(
    case_id: UUID,
    _: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
    response: Response,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> ServiceCase:
    fresh_enough(conn, CASE_READ_MODELS, min_position, wait)
    row = get_case(conn, case_id, now=datetime.now(UTC))
    if row is None:
        raise HTTPException(404, f"no service case with id {case_id}")
    response.headers["ETag"] = f'"{row["version"]}"'
    return _case(row)
