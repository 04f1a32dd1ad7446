"""/v1/performance, /v1/staff/{id}/performance, /v1/incentive-rules and /v1/incentives:
staff performance per ISO week and month (visits and calls, follow-ups on time and late,
opportunities advanced and won, first responses within SLA and breached, satisfaction,
incidents on shipments booked), the incentive rules headquarters sets (员工奖惩), the awards
and penalties the rules propose, each confirmed or rejected by a manager with its reason,
and the month's ranking of confirmed points.

Whose figures a reader sees is the rule of ``GET /v1/activity`` (内勤看外勤): field staff
their own, office staff their own and their team's field staff's, branch managers their
branch's, headquarters and auditors every branch's. Another branch's staff member is
answered as one that does not exist (404); a staff member of the branch outside the
caller's team is refused (403)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from application.tokens import StaffMember
from domain.base import CommandRefused
from domain.incentive import MAX_POINTS, Decision, Measure
from interface.http.activity import team_scope
from interface.http.commands import WithReason, accepted
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    PrimaryReads,
    Reads,
    ServicesDep,
    context,
    fresh,
    scoped_branch,
)
from interface.http.errors import responses
from interface.http.fields import STAFF_ID_PATTERN, Text
from interface.http.permissions import MONEY, OVERSIGHT, READ, REWARDS
from interface.http.routing import OneTripRoute
from projections.performance.queries import (
    PERFORMANCE,
    Team,
    branch_totals,
    current_rules,
    history,
    parse_month,
    parse_period,
    proposal,
    proposed,
    ranking,
    staff_figures,
    staff_member,
    weeks_of_month,
)

router = APIRouter(route_class=OneTripRoute, tags=["performance"])

PeriodQuery = Annotated[
    str,
    Query(
        min_length=1,
        max_length=10,
        description="A month, YYYY-MM (2026-11), or an ISO week, YYYY-Www (2026-W45), in the "
        "time zone of each staff member's branch",
    ),
]
MonthQuery = Annotated[
    str, Query(min_length=1, max_length=10, description="A month, YYYY-MM (2026-11)")
]
BranchQuery = Annotated[
    str | None,
    Query(max_length=40, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", description="A branch code"),
]
StaffPath = Annotated[str, Path(max_length=64, pattern=STAFF_ID_PATTERN)]


# --- answers ---------------------------------------------------------------------------------


class PerformanceFigures(BaseModel):
    visits: int
    calls: int
    follow_ups_on_time: int = Field(description="Completed no later than they were due")
    follow_ups_late: int
    opportunities_advanced: int = Field(description="Stages advanced")
    opportunities_won: int
    cases_within_sla: int = Field(description="First responses given by their due time")
    cases_breached: int = Field(description="First responses given after their due time")
    ratings: int = Field(description="Satisfaction ratings of the cases they served")
    satisfaction: float | None = Field(description="The mean of those ratings, 1 to 5")
    shipment_incidents: int = Field(description="Incidents on shipments they booked")


class StaffFigures(PerformanceFigures):
    staff_id: str
    staff_name: str | None
    branch: str = Field(description="The staff member's branch when the facts happened")
    points: int | None = Field(
        description="Points of the month's confirmed awards and penalties (months only)"
    )


class TeamFigures(PerformanceFigures):
    branch: str
    staff: int = Field(description="Staff members with figures")
    points: int | None


class Performance(BaseModel):
    period: str
    staff: list[StaffFigures]
    teams: list[TeamFigures] = Field(description="Per branch: the sums of its staff's")


class WeekFigures(PerformanceFigures):
    week: str


class Proposal(BaseModel):
    proposal_id: UUID
    staff_id: str
    staff_name: str | None
    branch: str
    measure: Measure
    points: int = Field(description="Positive: an award; negative: a penalty")
    period: str = Field(description="The month it counts for")
    occurred_at: datetime = Field(description="When its fact happened (a clean month: its end)")
    source: str


class DecidedIncentive(BaseModel):
    proposal_id: UUID
    decision: Decision
    staff_id: str
    branch: str
    measure: Measure
    points: int
    period: str
    source: str
    reason: str
    decided_by: str
    decided_at: datetime
    position: int


class StaffPerformance(BaseModel):
    staff_id: str
    staff_name: str
    branch: str
    period: str
    figures: PerformanceFigures = Field(description="The month's, or the week's")
    points: int | None = Field(description="The month's confirmed points (months only)")
    weeks: list[WeekFigures] = Field(description="A month's facts per ISO week")
    proposed: list[Proposal] = Field(description="A month's proposals not decided yet")
    history: list[DecidedIncentive] = Field(
        description="Every decided award and penalty, newest first"
    )


class Proposals(BaseModel):
    period: str
    as_of: datetime = Field(description="The time clean months are reckoned at")
    items: list[Proposal]


class RankedStaff(BaseModel):
    rank: int
    staff_id: str
    staff_name: str | None
    branch: str
    points: int
    incentives: int


class RankedBranch(BaseModel):
    rank: int
    branch: str
    points: int
    staff: int
    incentives: int


class Ranking(BaseModel):
    period: str
    branch: str | None = Field(description="The branch the staff ranking is of; null: all")
    staff: list[RankedStaff]
    branches: list[RankedBranch] = Field(description="Company-wide, per branch")


PointsField = Annotated[int, Field(ge=0, le=MAX_POINTS)]


class RulePoints(BaseModel):
    model_config = {"extra": "forbid"}

    opportunity_won: PointsField = 0
    sla_kept: PointsField = 0
    clean_month: PointsField = 0
    sla_breached: PointsField = Field(0, ge=0, le=MAX_POINTS, description="A penalty's size")
    shipment_incident: PointsField = Field(0, ge=0, le=MAX_POINTS, description="A penalty's size")


class SetRules(CommandMeta):
    points: RulePoints
    note: Text | None = None


class Rules(BaseModel):
    points: RulePoints | None = Field(description="Null: no rules are set")
    position: int | None


# --- who sees whom ---------------------------------------------------------------------------


def _team(conn: Reads, staff: StaffMember, branch: str | None) -> Team:
    scope = team_scope(conn, staff)
    return Team(branch=scoped_branch(staff, branch), staff=scope.staff)


def _visible(conn: Reads, staff: StaffMember, staff_id: str) -> dict[str, Any]:
    member = staff_member(conn, staff_id)
    if member is None or (not staff.sees_all_branches and member["branch"] != staff.branch):
        raise HTTPException(404, f"no staff member {staff_id!r}")
    scope = team_scope(conn, staff)
    if scope.staff is not None and staff_id not in scope.staff:
        raise HTTPException(403, f"staff {staff_id!r} is not of the caller's team")
    return member


# --- reads -----------------------------------------------------------------------------------


@router.get(
    "/v1/performance",
    summary="Staff and team performance for a week or a month",
    description="Per staff member and per branch (team): visits and calls, follow-ups "
    "done on time and late, opportunities advanced and won, first responses within SLA and "
    "breached, satisfaction of the cases they served, incidents on shipments they booked; "
    "for a month, the points of its confirmed incentives. Each fact counts in the week and "
    "month of its staff member's branch's time zone. Who is shown: the rule of "
    "`GET /v1/activity` (内勤看外勤).",
    response_model=Performance,
    responses=responses(401, 403, 422, 503),
    dependencies=[fresh(PERFORMANCE)],
)
def performance(
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    period: PeriodQuery,
    branch: BranchQuery = None,
) -> Performance:
    when = parse_period(period)
    items = staff_figures(conn, when, _team(conn, staff, branch))
    return Performance(
        period=when.text,
        staff=[StaffFigures.model_validate(i) for i in items],
        teams=[TeamFigures.model_validate(t) for t in branch_totals(items)],
    )


@router.get(
    "/v1/staff/{staff_id}/performance",
    summary="One staff member's performance and incentives",
    description="The period's figures (a month's also per ISO week, its confirmed points "
    "and its proposals not decided yet) and every decided award and penalty with its "
    "reason. Another branch's staff member: 404; one of the branch outside the caller's "
    "team: 403.",
    response_model=StaffPerformance,
    responses=responses(401, 403, 404, 422, 503),
    dependencies=[fresh(PERFORMANCE)],
)
def staff_performance(
    staff_id: StaffPath,
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    s: ServicesDep,
    period: PeriodQuery,
) -> StaffPerformance:
    when = parse_period(period)
    member = _visible(conn, staff, staff_id)
    rows = staff_figures(conn, when, Team(staff_id=staff_id))
    # One row per branch the staff member was of in the period: their figures are the sum.
    totals = branch_totals([{**r, "branch": member["branch"]} for r in rows])
    figures = PerformanceFigures.model_validate(totals[0] if totals else _empty())
    weeks: list[WeekFigures] = []
    pending: list[Proposal] = []
    points = None
    if when.is_month:
        points = sum(r["points"] or 0 for r in rows)
        weeks = [WeekFigures.model_validate(w) for w in weeks_of_month(conn, staff_id, when.text)]
        pending = [
            Proposal.model_validate(p)
            for p in proposed(conn, when.text, branch=None, now=s.app.clock())
            if p["staff_id"] == staff_id
        ]
    return StaffPerformance(
        staff_id=staff_id,
        staff_name=member["name"],
        branch=member["branch"],
        period=when.text,
        figures=figures,
        points=points,
        weeks=weeks,
        proposed=pending,
        history=[DecidedIncentive.model_validate(h) for h in history(conn, staff_id)],
    )


def _empty() -> dict[str, Any]:
    return dict.fromkeys(PerformanceFigures.model_fields, 0) | {"satisfaction": None}


@router.get(
    "/v1/incentive-rules",
    summary="The incentive rules in force",
    response_model=Rules,
    responses=responses(401, 403, 422, 503),
    dependencies=[fresh(PERFORMANCE)],
)
def incentive_rules(
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
) -> Rules:
    row = current_rules(conn)
    if row is None:
        return Rules(points=None, position=None)
    return Rules(points=RulePoints.model_validate(row["points"]), position=row["position"])


@router.get(
    "/v1/incentives/proposed",
    summary="The month's proposed awards and penalties",
    description="Not decided yet: each won opportunity, first response within SLA or "
    "breached and incident on a booked shipment the rules in force at the time gave points "
    "for, and each clean month (no breach, no incident) once it has ended in its branch's "
    "time zone, with the clean-month points of the rules in force now. Branch managers see "
    "their branch's.",
    response_model=Proposals,
    responses=responses(401, 403, 422, 503),
    dependencies=[fresh(PERFORMANCE)],
)
def proposed_incentives(
    staff: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))],
    conn: Reads,
    s: ServicesDep,
    period: MonthQuery,
    branch: BranchQuery = None,
) -> Proposals:
    month = parse_month(period)
    now = s.app.clock()
    items = proposed(conn, month.text, branch=scoped_branch(staff, branch), now=now)
    return Proposals(
        period=month.text, as_of=now, items=[Proposal.model_validate(i) for i in items]
    )


@router.get(
    "/v1/incentives/ranking",
    summary="The month's ranking of confirmed points",
    description="Staff by the points of their confirmed awards and penalties of the month "
    "(branch staff: their branch's; headquarters and auditors: company-wide, or one "
    "branch's), and the branches company-wide. Equal points share a rank.",
    response_model=Ranking,
    responses=responses(401, 403, 422, 503),
    dependencies=[fresh(PERFORMANCE)],
)
def incentive_ranking(
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    period: MonthQuery,
    branch: BranchQuery = None,
) -> Ranking:
    month = parse_month(period)
    of = scoped_branch(staff, branch)
    people, branches = ranking(conn, month.text, branch=of)
    return Ranking(
        period=month.text,
        branch=of,
        staff=[RankedStaff.model_validate(p) for p in people],
        branches=[RankedBranch.model_validate(b) for b in branches],
    )


# --- commands --------------------------------------------------------------------------------


@router.put(
    "/v1/incentive-rules",
    summary="Set the incentive rules (headquarters)",
    description="Points for a won opportunity, a first response within SLA and a clean "
    "month; the size of the penalty for a breached first response and for an incident on "
    "a shipment the staff member booked. A measure left out is worth nothing. Facts "
    "measured from now on are proposed under these rules.",
    responses=responses(401, 403, 409, 412, 422),
)
def set_incentive_rules(
    body: SetRules,
    staff: Annotated[StaffMember, Depends(Allowed(REWARDS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.incentives.set_rules(
        context(request, staff, body),
        points=body.points.model_dump(),
        note=body.note,
        expected_version=expected,
    )
    return accepted(response, result)


def _decide(
    decision: Decision,
    proposal_id: UUID,
    body: WithReason,
    staff: StaffMember,
    conn: PrimaryReads,
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    found = proposal(conn, proposal_id, now=s.app.clock())
    missing = HTTPException(404, f"no proposal with id {proposal_id}")
    if found is None:
        raise missing
    item, why = found
    if not staff.sees_all_branches and item["branch"] != staff.branch:
        raise missing
    if item["decision"] is None and why is not None:
        raise CommandRefused("incentive.not_proposed", why)
    result = s.app.incentives.decide(
        context(request, staff, body),
        proposal_id,
        decision=decision,
        staff_id=item["staff_id"],
        branch=item["branch"],
        measure=Measure(item["measure"]),
        points=item["points"] or 0,
        period=item["period"],
        source=item["source"],
        reason=body.reason,
    )
    response.status_code = 201
    return accepted(response, result)


@router.post(
    "/v1/incentives/{proposal_id}/confirm",
    status_code=201,
    summary="Confirm a proposed award or penalty, with the reason",
    description="Branch managers confirm their branch's staff's proposals (another "
    "branch's: 404), headquarters any. A proposal is decided once (409).",
    responses=responses(401, 403, 404, 409, 422),
    dependencies=[fresh(PERFORMANCE)],
)
def confirm(
    proposal_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(MONEY))],
    conn: PrimaryReads,
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    return _decide(Decision.CONFIRMED, proposal_id, body, staff, conn, s, request, response)


@router.post(
    "/v1/incentives/{proposal_id}/reject",
    status_code=201,
    summary="Reject a proposed award or penalty, with the reason",
    description="As confirming: branch managers their branch's, headquarters any; once.",
    responses=responses(401, 403, 404, 409, 422),
    dependencies=[fresh(PERFORMANCE)],
)
def reject(
    proposal_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(MONEY))],
    conn: PrimaryReads,
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    return _decide(Decision.REJECTED, proposal_id, body, staff, conn, s, request, response)
