"""/v1/segments and /v1/campaigns: market management and one-to-one marketing (市场管理,
一对一营销). Segments are defined by rules over the read models and evaluated live (member
count, paged members); campaigns offer a service offering to a segment over a period with
a budget, and their results count who was reached, who responded, the leads and the wins.

Branch managers and headquarters define segments and plan, start and close campaigns; a
branch manager's belong to their branch, headquarters' to none. Staff of a branch see
their branch's and headquarters' segments and campaigns, and of their members and results
only their own branch's; one of another branch is answered as one that does not exist."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from application.commands import NotFound
from application.marketing import visible_to
from application.tokens import StaffMember
from domain.base import InvalidValue
from domain.marketing import CampaignState, SegmentRules, SegmentState
from domain.marketing import Response as Answer
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
from interface.http.fields import Currency, Name, Short, Text, amount
from interface.http.permissions import MARKETING, READ, WORK
from interface.http.reads import Cursor, Limit, NextCursor, found
from interface.http.routing import OneTripRoute
from interface.runtime import Services
from projections.marketing.queries import (
    MEMBER_READ_MODELS,
    RESULT_READ_MODELS,
    campaign_results,
    get_campaign,
    get_segment,
    list_campaigns,
    list_segments,
    segment_members,
)

router = APIRouter(route_class=OneTripRoute, tags=["marketing"])

_SEGMENT_READS = ("marketing", *MEMBER_READ_MODELS)


def _scope(staff: StaffMember) -> str | None:
    return None if staff.sees_all_branches else staff.branch


def _refuse(staff: StaffMember, why: str) -> None:
    raise HTTPException(403, f"{staff.staff_id} may not do this: {why}")


def _commandable(s: Services, staff: StaffMember, what: str, record_id: UUID) -> None:
    """The segment or campaign a command's path names: 404 if the caller's branch may not
    see it, 403 if it is headquarters' and the caller is not."""
    try:
        record = (
            s.app.marketing.get_segment(record_id)
            if what == "segment"
            else s.app.marketing.get_campaign(record_id)
        )
    except NotFound:
        raise HTTPException(404, f"no {what} with id {record_id}") from None
    scope = _scope(staff)
    if not visible_to(scope, record.owner_branch):
        raise HTTPException(404, f"no {what} with id {record_id}")
    if scope is not None and record.owner_branch is None:
        _refuse(staff, f"a {what} of headquarters is headquarters' to change")


def _no_other_branch(staff: StaffMember, rules: SegmentRules) -> None:
    """A branch manager's segment names no other branch (403)."""
    scope = _scope(staff)
    others = sorted(set(rules.branches or ()) - {scope}) if scope is not None else []
    if others:
        _refuse(staff, f"branch {others[0]!r} is not theirs")


# --- bodies and answers ----------------------------------------------------------------------


class DefineSegment(CommandMeta):
    name: Name
    description: Text | None = None
    rules: SegmentRules = Field(
        description="Every rule given holds; within a rule, any of its values. No rule: every "
        "relationship (of the caller's branch, for staff of a branch)"
    )
    segment_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class ChangeSegment(CommandMeta):
    name: Name
    description: Text | None = None
    rules: SegmentRules


class SegmentView(BaseModel):
    segment_id: UUID
    name: str
    description: str | None
    rules: SegmentRules
    owner_branch: str | None = Field(description="The branch it belongs to; null: headquarters'")
    state: SegmentState
    defined_by: str
    defined_at: datetime
    member_count: int = Field(
        description="Relationships the rules hold for now (of the caller's branch only, for "
        "staff of a branch)"
    )
    version: int
    position: int
    updated_at: datetime


class SegmentPage(BaseModel):
    items: list[SegmentView]
    next_cursor: NextCursor


class Member(BaseModel):
    relationship_id: UUID
    name: str
    kind: str
    lifecycle: str
    industry: str
    region: str
    branch: str
    key_account: bool


class MemberPage(BaseModel):
    segment_id: UUID
    member_count: int
    items: list[Member]
    next_cursor: NextCursor


class PlanCampaign(CommandMeta):
    name: Name
    segment_id: UUID = Field(description="The segment the offer is made to")
    offering_id: UUID = Field(description="The active service offering offered")
    starts_on: date
    ends_on: date
    budget: Annotated[Decimal, amount("The budget", "25000.00")]
    currency: Currency
    campaign_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class CloseCampaign(CommandMeta):
    reason: Text | None = None


class RecordSpend(CommandMeta):
    amount: Annotated[Decimal, amount("Money spent, in the campaign's currency", "1200.00")]
    branch: Short | None = Field(
        None, description="The branch it was spent for; staff of a branch: theirs (default)"
    )
    note: Text | None = None


class RecordResponse(CommandMeta):
    relationship_id: UUID = Field(description="A relationship contacted in the campaign")
    response: Answer
    note: Text | None = None


class RegisterProspect(CommandMeta):
    name: Name
    industry: Short
    region: Short
    branch: Short | None = Field(None, description="Default: the caller's branch")


class CampaignView(BaseModel):
    campaign_id: UUID
    name: str
    segment_id: UUID
    offering_id: UUID
    starts_on: date
    ends_on: date
    budget: Decimal
    currency: str
    spent: Decimal
    state: CampaignState
    owner_branch: str | None
    planned_by: str
    planned_at: datetime
    version: int
    position: int
    updated_at: datetime


class CampaignPage(BaseModel):
    items: list[CampaignView]
    next_cursor: NextCursor


class Responses(BaseModel):
    interested: int
    not_interested: int
    asked_for_quote: int


class WonValue(BaseModel):
    currency: str
    amount: Decimal


class CampaignFigures(BaseModel):
    reached: int = Field(description="Distinct relationships contacted in the campaign")
    responded: int = Field(description="Of those, how many responded")
    responses: Responses
    prospects_registered: int = Field(description="Leads: new prospects registered from it")
    opportunities_opened: int = Field(description="Leads: opportunities opened from it")
    opportunities_won: int
    customers_won: int = Field(description="Distinct relationships with a won opportunity")
    won_value: list[WonValue] = Field(description="Expected value of the won opportunities")
    spent: Decimal = Field(description="Money spent, in the campaign's currency")
    cost_per_won_customer: Decimal | None = Field(
        description="Spent / customers won; null while none is won"
    )


class BranchFigures(CampaignFigures):
    branch: str


class CampaignResults(BaseModel):
    campaign_id: UUID
    currency: str
    state: CampaignState
    branches: list[BranchFigures] = Field(description="Per branch of the relationships")
    total: CampaignFigures = Field(
        description="All branches, spend given no branch included (for staff of a branch: "
        "their branch's)"
    )


# --- segments --------------------------------------------------------------------------------


def _rfm_members(s: Services, conn: Any, rules: SegmentRules) -> set[UUID] | None:
    if rules.rfm_segments is None:
        return None
    wanted = {segment.value for segment in rules.rfm_segments}
    models = s.value_models().current(conn)
    return {v.customer_id for v in models.customers.values() if v.rfm.segment in wanted}


def _members(
    s: Services, conn: Any, staff: StaffMember, rules: SegmentRules, limit: int, cursor: str | None
) -> tuple[int, list[dict[str, Any]], str | None]:
    return segment_members(
        conn,
        rules,
        rfm_members=_rfm_members(s, conn, rules),
        branch=_scope(staff),
        limit=limit,
        cursor=cursor,
    )


def _segment_view(s: Services, conn: Any, staff: StaffMember, row: dict[str, Any]) -> SegmentView:
    rules = SegmentRules.parse(row["rules"])
    count, _, _ = _members(s, conn, staff, rules, 1, None)
    return SegmentView.model_validate(row | {"rules": rules, "member_count": count})


@router.post(
    "/v1/segments",
    status_code=201,
    summary="Define a segment",
    description="A segment of the caller's branch (headquarters': of none), by rules over "
    "kind, industry, region, branch, lifecycle, key account, RFM segment, lanes shipped and "
    "realised value. A branch manager's rules name no other branch (403).",
    responses=responses(401, 403, 409, 422),
)
def define_segment(
    body: DefineSegment,
    staff: Annotated[StaffMember, Depends(Allowed(MARKETING))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    _no_other_branch(staff, body.rules)
    result = s.app.marketing.define_segment(
        context(request, staff, body),
        name=body.name,
        rules=body.rules,
        description=body.description,
        segment_id=body.segment_id,
    )
    response.headers["Location"] = f"/v1/segments/{result.aggregate_id}"
    return accepted(response, result)


@router.post(
    "/v1/segments/{segment_id}/change",
    summary="Change a segment's name, description and rules",
    responses=responses(401, 403, 404, 409, 412, 422),
)
def change_segment(
    segment_id: UUID,
    body: ChangeSegment,
    staff: Annotated[StaffMember, Depends(Allowed(MARKETING))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    _commandable(s, staff, "segment", segment_id)
    _no_other_branch(staff, body.rules)
    result = s.app.marketing.change_segment(
        context(request, staff, body),
        segment_id,
        name=body.name,
        rules=body.rules,
        description=body.description,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/v1/segments/{segment_id}/retire",
    summary="Retire a segment",
    description="No campaign is planned for it any more; its members stay readable.",
    responses=responses(401, 403, 404, 409, 412, 422),
)
def retire_segment(
    segment_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(MARKETING))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    _commandable(s, staff, "segment", segment_id)
    result = s.app.marketing.retire_segment(
        context(request, staff, body), segment_id, reason=body.reason, expected_version=expected
    )
    return accepted(response, result)


@router.get(
    "/v1/segments",
    summary="List segments, with their member counts now",
    description="In the order they were defined. Staff of a branch see their branch's and "
    "headquarters' segments, counting their own branch's members.",
    response_model=SegmentPage,
    responses=responses(401, 422, 503),
    dependencies=[fresh(*_SEGMENT_READS)],
)
def segments(
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    s: ServicesDep,
    state: SegmentState | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> SegmentPage:
    rows, next_cursor = list_segments(
        conn,
        scope=_scope(staff),
        state=None if state is None else state.value,
        limit=limit,
        cursor=cursor,
    )
    return SegmentPage(
        items=[_segment_view(s, conn, staff, r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/v1/segments/{segment_id}",
    summary="One segment, with its member count now",
    response_model=SegmentView,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(*_SEGMENT_READS)],
)
def segment(
    segment_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    s: ServicesDep,
    response: Response,
) -> SegmentView:
    row = found(
        get_segment(conn, segment_id, scope=_scope(staff)),
        response,
        f"no segment with id {segment_id}",
    )
    return _segment_view(s, conn, staff, row)


@router.get(
    "/v1/segments/{segment_id}/members",
    summary="The segment's members now, a page at a time",
    description="The relationships its rules hold for as the read models stand, in the "
    "order they were registered; staff of a branch see their own branch's only.",
    response_model=MemberPage,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(*_SEGMENT_READS)],
)
def segment_member_page(
    segment_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    s: ServicesDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> MemberPage:
    row = get_segment(conn, segment_id, scope=_scope(staff))
    if row is None:
        raise HTTPException(404, f"no segment with id {segment_id}")
    count, rows, next_cursor = _members(
        s, conn, staff, SegmentRules.parse(row["rules"]), limit, cursor
    )
    return MemberPage(
        segment_id=segment_id,
        member_count=count,
        items=[Member.model_validate(r) for r in rows],
        next_cursor=next_cursor,
    )


# --- campaigns -------------------------------------------------------------------------------


@router.post(
    "/v1/campaigns",
    status_code=201,
    summary="Plan a campaign",
    description="Offers an active service offering to an active segment the caller sees, "
    "from `starts_on` to `ends_on`, with a budget; it belongs to the caller's branch "
    "(headquarters': to none).",
    responses=responses(401, 409, 422),
)
def plan_campaign(
    body: PlanCampaign,
    staff: Annotated[StaffMember, Depends(Allowed(MARKETING))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    result = s.app.marketing.plan_campaign(
        context(request, staff, body),
        name=body.name,
        segment_id=body.segment_id,
        offering_id=body.offering_id,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        budget=body.budget,
        currency=body.currency,
        campaign_id=body.campaign_id,
    )
    response.headers["Location"] = f"/v1/campaigns/{result.aggregate_id}"
    return accepted(response, result)


@router.post(
    "/v1/campaigns/{campaign_id}/start",
    summary="Start a planned campaign",
    description="Contacts, responses and leads are recorded while it runs.",
    responses=responses(401, 403, 404, 409, 412, 422),
)
def start_campaign(
    campaign_id: UUID,
    body: CommandMeta,
    staff: Annotated[StaffMember, Depends(Allowed(MARKETING))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    _commandable(s, staff, "campaign", campaign_id)
    result = s.app.marketing.start_campaign(
        context(request, staff, body), campaign_id, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/v1/campaigns/{campaign_id}/close",
    summary="Close a running campaign",
    responses=responses(401, 403, 404, 409, 412, 422),
)
def close_campaign(
    campaign_id: UUID,
    body: CloseCampaign,
    staff: Annotated[StaffMember, Depends(Allowed(MARKETING))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    _commandable(s, staff, "campaign", campaign_id)
    result = s.app.marketing.close_campaign(
        context(request, staff, body), campaign_id, reason=body.reason, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/v1/campaigns/{campaign_id}/spend",
    summary="Record money spent on the campaign",
    description="Of its budget (409 beyond it), once it runs; for a branch (staff of a "
    "branch: their own) or for none.",
    responses=responses(401, 403, 404, 409, 412, 422),
)
def record_spend(
    campaign_id: UUID,
    body: RecordSpend,
    staff: Annotated[StaffMember, Depends(Allowed(MARKETING))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    _commandable(s, staff, "campaign", campaign_id)
    scope = _scope(staff)
    branch = body.branch if scope is None else (body.branch or scope)
    if scope is not None and branch != scope:
        _refuse(staff, f"branch {branch!r} is not theirs")
    result = s.app.marketing.record_spend(
        context(request, staff, body),
        campaign_id,
        amount=body.amount,
        branch=branch,
        note=body.note,
        expected_version=expected,
    )
    return accepted(response, result)


def _campaign_in_scope(s: Services, staff: StaffMember, campaign_id: UUID) -> None:
    try:
        campaign = s.app.marketing.get_campaign(campaign_id)
    except NotFound:
        raise HTTPException(404, f"no campaign with id {campaign_id}") from None
    if not visible_to(_scope(staff), campaign.owner_branch):
        raise HTTPException(404, f"no campaign with id {campaign_id}")


@router.post(
    "/v1/campaigns/{campaign_id}/responses",
    summary="Record a contacted relationship's response",
    description="Interested, not interested or asked for a quote; the relationship was "
    "contacted in the running campaign (an interaction logged with its `campaign_id`).",
    responses=COMMAND_ERRORS,
)
def record_response(
    campaign_id: UUID,
    body: RecordResponse,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    _campaign_in_scope(s, staff, campaign_id)
    result = s.app.marketing.record_response(
        context(request, staff, body),
        campaign_id,
        relationship_id=body.relationship_id,
        response=body.response,
        note=body.note,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/v1/campaigns/{campaign_id}/prospects",
    status_code=201,
    summary="Register a prospect from the campaign (a lead)",
    description="A new prospect, registered with the campaign's record of it in one append. "
    "The answer is the campaign's; `Location` names the prospect.",
    responses=COMMAND_ERRORS,
)
def register_prospect(
    campaign_id: UUID,
    body: RegisterProspect,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    _campaign_in_scope(s, staff, campaign_id)
    branch = body.branch or staff.branch
    if not branch:
        raise InvalidValue(
            "branch.required", "headquarters name the prospect's branch", field="branch"
        )
    ctx = context(request, staff, body)
    result = s.app.marketing.register_prospect(
        ctx,
        campaign_id,
        name=body.name,
        industry=body.industry,
        region=body.region,
        branch=branch,
        expected_version=expected,
    )
    response.headers["Location"] = f"/v1/relationships/{s.app.marketing.prospect_id(ctx)}"
    return accepted(response, result)


@router.get(
    "/v1/campaigns",
    summary="List campaigns",
    description="In the order they were planned. Staff of a branch see their branch's and "
    "headquarters' campaigns.",
    response_model=CampaignPage,
    responses=responses(401, 422, 503),
    dependencies=[fresh("marketing")],
)
def campaigns(
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    state: CampaignState | None = None,
    segment_id: UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> CampaignPage:
    rows, next_cursor = list_campaigns(
        conn,
        scope=_scope(staff),
        state=None if state is None else state.value,
        segment_id=segment_id,
        limit=limit,
        cursor=cursor,
    )
    return CampaignPage(
        items=[CampaignView.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/v1/campaigns/{campaign_id}",
    summary="One campaign",
    response_model=CampaignView,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh("marketing")],
)
def campaign(
    campaign_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    response: Response,
) -> CampaignView:
    row = found(
        get_campaign(conn, campaign_id, scope=_scope(staff)),
        response,
        f"no campaign with id {campaign_id}",
    )
    return CampaignView.model_validate(row)


@router.get(
    "/v1/campaigns/{campaign_id}/results",
    summary="The campaign's results, per branch and in total",
    description="Reached (distinct relationships contacted), responded, prospects registered, "
    "opportunities opened and won, customers won, won value, money spent and cost per won "
    "customer (spent / customers won). Staff of a branch see their own branch's figures.",
    response_model=CampaignResults,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(*RESULT_READ_MODELS)],
)
def results(
    campaign_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
) -> CampaignResults:
    scope = _scope(staff)
    row = get_campaign(conn, campaign_id, scope=scope)
    if row is None:
        raise HTTPException(404, f"no campaign with id {campaign_id}")
    figures = campaign_results(conn, campaign_id, branch=scope)
    return CampaignResults.model_validate(
        {"campaign_id": campaign_id, "currency": row["currency"], "state": row["state"]} | figures
    )
