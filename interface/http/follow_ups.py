"""/v1/follow-ups, /v1/care-plans and /v1/my-day: follow-ups (跟进) scheduled on a
relationship, shipment, opportunity or case — assigned, rescheduled, completed with the
interaction they produced, cancelled —, recurring care plans, and each staff member's day
(overdue, due today, upcoming) in the time zone of their branch."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from application.follow_ups import TIME_ZONE_VARIABLE, company_time_zone
from application.tokens import StaffMember
from domain.follow_up import FollowUpKind, FollowUpState, IntervalUnit, SubjectKind
from domain.relationship import Channel, Direction
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
    scoped_branch,
)
from interface.http.errors import responses
from interface.http.fields import StaffId, Text
from interface.http.masking import masked_follow_ups
from interface.http.permissions import READ, WORK
from interface.http.reads import Cursor, Limit, NextCursor, found
from interface.http.routing import OneTripRoute
from projections.branches.queries import branch_time_zone
from projections.follow_ups.queries import (
    FOLLOW_UP_READ_MODELS,
    Bucket,
    FollowUpFilter,
    ListedState,
    get_follow_up,
    list_follow_ups,
    my_day,
)

router = APIRouter(route_class=OneTripRoute, tags=["follow-ups"])

#: How far ahead "upcoming" looks, in days after today.
UPCOMING_DAYS = 7


class ScheduleFollowUp(CommandMeta):
    subject_kind: SubjectKind = Field(description="What the follow-up is about")
    subject_id: UUID = Field(
        description="The relationship, shipment, opportunity or case; the follow-up belongs "
        "to its relationship"
    )
    kind: FollowUpKind
    due_at: datetime = Field(description="When it is due, with time zone")
    assignee: StaffId | None = Field(
        None, description="A staff member whose branch works the relationship; default: you"
    )
    note: Text | None = None
    follow_up_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class AssignFollowUp(CommandMeta):
    assignee: StaffId = Field(description="A colleague whose branch works the relationship")


class Reschedule(CommandMeta):
    due_at: datetime = Field(description="The new due time, with time zone")
    reason: Text | None = None


class Complete(CommandMeta):
    outcome: Text = Field(description="What came of it: the summary of the interaction logged")
    channel: Channel | None = Field(
        None,
        description="The interaction's channel; default: the kind's (call: call, visit and "
        "care action: visit, document to chase: email)",
    )
    direction: Direction = Direction.OUTBOUND
    contact_id: str | None = Field(
        None, min_length=1, max_length=64, description="The contact spoken to"
    )


class StartCarePlan(CommandMeta):
    relationship_id: UUID
    kind: FollowUpKind
    every: int = Field(ge=1, le=366, description="The interval, in ``unit``")
    unit: IntervalUnit
    first_due_at: datetime = Field(description="When the first follow-up is due, with time zone")
    assignee: StaffId | None = Field(None, description="Who works its follow-ups; default: you")
    note: Text | None = None
    care_plan_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class FollowUp(BaseModel):
    follow_up_id: UUID
    relationship_id: UUID
    relationship_name: str | None
    branch: str | None = Field(description="The relationship's branch")
    key_account: bool
    subject_kind: SubjectKind
    subject_id: UUID
    kind: FollowUpKind
    due_at: datetime
    assignee: str
    note: str | None
    state: FollowUpState
    overdue: bool = Field(description="Open and past its due time, as at the time of asking")
    care_plan_id: UUID | None
    scheduled_at: datetime
    scheduled_by: str
    closed_at: datetime | None
    closed_by: str | None
    interaction_id: UUID | None = Field(description="The interaction its completion logged")
    outcome: str | None
    cancel_reason: str | None
    version: int
    position: int
    updated_at: datetime


class FollowUpPage(BaseModel):
    as_of: datetime = Field(description="The time overdue is reckoned at")
    items: list[FollowUp]
    next_cursor: NextCursor


class DayBucket(BaseModel):
    count: int = Field(description="How many there are; items holds the first `limit`")
    items: list[FollowUp]


class MyDay(BaseModel):
    as_of: datetime
    time_zone: str = Field(
        description=f"The caller's branch's time zone, else the company's (${TIME_ZONE_VARIABLE})"
    )
    today: date = Field(description="Today in that time zone")
    overdue: DayBucket = Field(description="Open and past their due time")
    due_today: DayBucket = Field(description="Due later today")
    upcoming: DayBucket = Field(description=f"Due in the {UPCOMING_DAYS} days after today")


def _follow_up(row: dict[str, Any]) -> FollowUp:
    return FollowUp.model_validate(row)


# --- commands --------------------------------------------------------------------------------


@router.post(
    "/v1/follow-ups",
    status_code=201,
    summary="Schedule a follow-up",
    description="A call, a visit, a care action or a document to chase, on a relationship or "
    "one of its shipments, opportunities or service cases, due at a time, for a staff "
    "member whose branch works the relationship.",
    responses=responses(401, 409, 422),
)
def schedule(
    body: ScheduleFollowUp,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    result = s.app.follow_ups.schedule_follow_up(
        context(request, staff, body),
        subject_kind=body.subject_kind,
        subject_id=body.subject_id,
        kind=body.kind,
        due_at=body.due_at,
        assignee=body.assignee or staff.staff_id,
        note=body.note,
        follow_up_id=body.follow_up_id,
    )
    response.headers["Location"] = f"/v1/follow-ups/{result.aggregate_id}"
    return accepted(response, result)


@router.post(
    "/v1/follow-ups/{follow_up_id}/assign",
    summary="Assign the follow-up to a colleague",
    responses=COMMAND_ERRORS,
)
def assign(
    follow_up_id: UUID,
    body: AssignFollowUp,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.follow_ups.assign_follow_up(
        context(request, staff, body),
        follow_up_id,
        assignee=body.assignee,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/v1/follow-ups/{follow_up_id}/reschedule",
    summary="Move the follow-up to another time",
    responses=COMMAND_ERRORS,
)
def reschedule(
    follow_up_id: UUID,
    body: Reschedule,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.follow_ups.reschedule_follow_up(
        context(request, staff, body),
        follow_up_id,
        due_at=body.due_at,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/v1/follow-ups/{follow_up_id}/complete",
    summary="Complete the follow-up",
    description="Logs the interaction it produced on the relationship in the same append; "
    "a care plan's follow-up schedules the plan's next one too. The answer's position is "
    "the last event's.",
    responses=COMMAND_ERRORS,
)
def complete(
    follow_up_id: UUID,
    body: Complete,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.follow_ups.complete_follow_up(
        context(request, staff, body),
        follow_up_id,
        outcome=body.outcome,
        channel=body.channel,
        direction=body.direction,
        contact_id=body.contact_id,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/v1/follow-ups/{follow_up_id}/cancel",
    summary="Cancel the follow-up, with the reason",
    description="A care plan's follow-up schedules the plan's next one (ending the plan is "
    "`POST /v1/care-plans/{care_plan_id}/end`).",
    responses=COMMAND_ERRORS,
)
def cancel(
    follow_up_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.follow_ups.cancel_follow_up(
        context(request, staff, body),
        follow_up_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/v1/care-plans",
    status_code=201,
    summary="Start a care plan",
    description="Recurring care (客户关怀) of a relationship: a follow-up of `kind` every "
    "`every` days or months, the first due at `first_due_at`, appended with the plan; the "
    "next is scheduled when one completes or is cancelled, keeping the plan's rhythm.",
    responses=responses(401, 409, 422),
)
def start_care_plan(
    body: StartCarePlan,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    result = s.app.follow_ups.start_care_plan(
        context(request, staff, body),
        relationship_id=body.relationship_id,
        kind=body.kind,
        every=body.every,
        unit=body.unit,
        assignee=body.assignee or staff.staff_id,
        first_due_at=body.first_due_at,
        note=body.note,
        care_plan_id=body.care_plan_id,
    )
    response.headers["Location"] = f"/v1/care-plans/{result.aggregate_id}"
    return accepted(response, result)


@router.post(
    "/v1/care-plans/{care_plan_id}/end",
    summary="End a care plan",
    description="Its open follow-up is cancelled with the same reason, in the same append.",
    responses=COMMAND_ERRORS,
)
def end_care_plan(
    care_plan_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.follow_ups.end_care_plan(
        context(request, staff, body),
        care_plan_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


# --- reads -----------------------------------------------------------------------------------


@router.get(
    "/v1/my-day",
    summary="My day: my follow-ups overdue, due today and upcoming",
    description="Today is the day in the time zone of the caller's branch (the branch "
    "registry's), else in the company's "
    f"(${TIME_ZONE_VARIABLE}, Asia/Shanghai by default), at the time of asking. Overdue: open "
    "and past the due time; due today: by the end of today; upcoming: in the "
    f"{UPCOMING_DAYS} days after. Each bucket by due time, its first `limit` items.",
    response_model=MyDay,
    responses=responses(401, 422, 503),
    dependencies=[fresh(*FOLLOW_UP_READ_MODELS, "branches")],
)
def my_day_view(
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    conn: Reads,
    s: ServicesDep,
    limit: Limit = 100,
) -> MyDay:
    now = s.app.clock()
    branch_zone = branch_time_zone(conn, staff.branch) if staff.branch else None
    zone = ZoneInfo(branch_zone) if branch_zone else company_time_zone()
    today = now.astimezone(zone).date()
    end_of_today = datetime.combine(today + timedelta(days=1), time(), tzinfo=zone)
    end_of_upcoming = datetime.combine(
        today + timedelta(days=1 + UPCOMING_DAYS), time(), tzinfo=zone
    )
    day = my_day(
        conn,
        staff.staff_id,
        now=now,
        end_of_today=end_of_today,
        end_of_upcoming=end_of_upcoming,
        branch=None if staff.sees_all_branches else staff.branch,
        limit=limit,
    )

    def bucket(b: Bucket) -> DayBucket:
        count, rows = day[b]
        items = [_follow_up(r) for r in rows]
        masked_follow_ups(s, staff, items)
        return DayBucket(count=count, items=items)

    return MyDay(
        as_of=now,
        time_zone=zone.key,
        today=today,
        overdue=bucket(Bucket.OVERDUE),
        due_today=bucket(Bucket.TODAY),
        upcoming=bucket(Bucket.UPCOMING),
    )


@router.get(
    "/v1/follow-ups",
    summary="List follow-ups",
    description="In the order they were scheduled; `state=overdue`: open and past due at the "
    "time of asking (`as_of`). Staff of a branch see their branch's.",
    response_model=FollowUpPage,
    responses=responses(401, 422, 503),
    dependencies=[fresh(*FOLLOW_UP_READ_MODELS)],
)
def follow_ups(
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    s: ServicesDep,
    state: ListedState | None = None,
    assignee: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    relationship_id: UUID | None = None,
    branch: Annotated[
        str | None,
        Query(max_length=80, pattern=r"^[^\x00]*$", description="The relationship's branch"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> FollowUpPage:
    now = s.app.clock()
    rows, next_cursor = list_follow_ups(
        conn,
        FollowUpFilter(
            state=state,
            assignee=assignee,
            relationship_id=relationship_id,
            branch=scoped_branch(staff, branch),
        ),
        now=now,
        limit=limit,
        cursor=cursor,
    )
    items = [_follow_up(r) for r in rows]
    masked_follow_ups(s, staff, items)
    return FollowUpPage(as_of=now, items=items, next_cursor=next_cursor)


@router.get(
    "/v1/follow-ups/{follow_up_id}",
    summary="One follow-up",
    response_model=FollowUp,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(*FOLLOW_UP_READ_MODELS)],
)
def follow_up(
    follow_up_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    s: ServicesDep,
    response: Response,
) -> FollowUp:
    row = found(
        get_follow_up(conn, follow_up_id, now=s.app.clock()),
        response,
        f"no follow-up with id {follow_up_id}",
    )
    item = _follow_up(row)
    masked_follow_ups(s, staff, [item])
    return item
